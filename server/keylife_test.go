package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
	"github.com/sessionkit/sessionkit/token"
)

// TestInstancesStartTogether starts three servers at the same instant on
// an empty store, twenty times: every instance must accept the cookies
// and tokens of every other, so they must agree on one first key of each
// purpose.
func TestInstancesStartTogether(t *testing.T) {
	for trial := range 20 {
		mem := newMem(t)
		servers := make([]*httptest.Server, 3)
		var wg sync.WaitGroup
		for i := range servers {
			wg.Go(func() { servers[i] = newServer(t, mem, server.Config{}) })
		}
		wg.Wait()
		for _, purpose := range server.KeyPurposes() {
			if keys, err := mem.Keys(context.Background(), purpose); err != nil || len(keys) != 1 {
				t.Fatalf("trial %d: %d %s keys (%v); want one", trial, len(keys), purpose, err)
			}
		}
		user := "user" + string(rune('a'+trial))
		newBrowser(t, servers[0].URL).register(user, "password one")
		for i, from := range servers {
			b := newBrowser(t, from.URL)
			b.login("cookie", user, "password one")
			sealed := b.cookieValue()
			access, _ := apiLogin(t, from.URL, user, "password one")
			for j, to := range servers {
				if r := withCookie(t, to.URL, "/cookie/profile", "sk_cookie="+sealed); r.Status != http.StatusOK {
					t.Errorf("trial %d: the cookie of instance %d on instance %d: %d %s", trial, i, j, r.Status, r.Location)
				}
				if r := api(t, to.URL, "GET", "/api/me", "", access); r.Status != http.StatusOK {
					t.Errorf("trial %d: the token of instance %d on instance %d: %d", trial, i, j, r.Status)
				}
			}
		}
	}
}

// TestStoreLosesItsKeys wipes the keys of a running server's store (a
// Redis without persistence restarted, a flush): the readiness check
// gets new keys made, and logins of every kind work again without a
// restart; the JWKS publishes the new key.
func TestStoreLosesItsKeys(t *testing.T) {
	ctx := context.Background()
	mem := newMem(t)
	clk := newClock()
	ts := newServer(t, mem, server.Config{Now: clk.Now})
	newBrowser(t, ts.URL).register("kim", "password one")
	clk.Advance(2 * time.Second) // the check reads the keys again at most once a second
	for _, purpose := range server.KeyPurposes() {
		keys, err := mem.Keys(ctx, purpose)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if err := mem.DeleteKey(ctx, purpose, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r := newBrowser(t, ts.URL).get("/readyz"); r.Status != http.StatusOK {
		t.Fatalf("/readyz after the keys were wiped: %d %q; want 200 once new keys are made", r.Status, r.Body)
	}
	for _, purpose := range server.KeyPurposes() {
		if keys, err := mem.Keys(ctx, purpose); err != nil || len(keys) != 1 {
			t.Errorf("%s keys after the readiness check: %d (%v); want a new first key", purpose, len(keys), err)
		}
	}
	access, _ := apiLogin(t, ts.URL, "kim", "password one")
	if r := api(t, ts.URL, "GET", "/api/me", "", access); r.Status != http.StatusOK {
		t.Errorf("an API login after the wipe: /api/me %d", r.Status)
	}
	jwks := newBrowser(t, ts.URL).get("/.well-known/jwks.json").Body
	if set, err := token.ParseJWKS([]byte(jwks)); err != nil || len(set.Keys()) != 1 || set.Keys()[0].ID != header(t, access)["kid"] {
		t.Errorf("JWKS after the wipe: %s (%v); want the new key", jwks, err)
	}
	b := newBrowser(t, ts.URL)
	b.login("cookie", "kim", "password one")
	if got := b.profile("cookie"); got != "welcome kim with the count: 1" {
		t.Errorf("a cookie login after the wipe: %q", got)
	}
}

// newKEK returns a random key-encryption key of the process.
func newKEK(t *testing.T) *kek.KEK {
	t.Helper()
	var b [32]byte
	_, _ = rand.Read(b[:])
	k, err := kek.Open(context.Background(), "base64key://"+base64.URLEncoding.EncodeToString(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// TestKeysEncryptedAtRest checks, on every backend, that what the store
// holds cannot seal a cookie or sign a token: no stored secret is a cookie
// key or a private JWK, and none contains the key it encrypts. On SQLite
// the whole database file is searched too.
func TestKeysEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	backends := map[string]func(t *testing.T) (server.Backend, string){
		"sqlite": func(t *testing.T) (server.Backend, string) {
			path := filepath.Join(t.TempDir(), "keys.db")
			st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, path
		},
		"redis":    func(t *testing.T) (server.Backend, string) { return openRedis(t), "" },
		"postgres": func(t *testing.T) (server.Backend, string) { return openPostgres(t), "" },
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			st, file := open(t)
			key := newKEK(t)
			ts := newServer(t, st, server.Config{KEK: key})
			newBrowser(t, ts.URL).register("kim", "password one")
			access, _ := apiLogin(t, ts.URL, "kim", "password one")

			plain := kek.Wrap(st, key)
			for _, purpose := range server.KeyPurposes() {
				raw, err := st.Keys(ctx, purpose)
				if err != nil || len(raw) == 0 {
					t.Fatalf("%s keys: %d, %v", purpose, len(raw), err)
				}
				opened, err := plain.Keys(ctx, purpose)
				if err != nil {
					t.Fatal(err)
				}
				for i, k := range raw {
					secret := opened[i].Secret
					if bytes.Contains(k.Secret, secret) || bytes.Contains(k.Secret, []byte(hex.EncodeToString(secret))) ||
						bytes.Contains(k.Secret, []byte(base64.RawURLEncoding.EncodeToString(secret))) {
						t.Errorf("%s key %s: the stored secret contains the key", purpose, k.ID)
					}
					if _, err := token.ParseKey(k); err == nil {
						t.Errorf("%s key %s: the stored secret is a private JWK", purpose, k.ID)
					}
					if _, err := cookie.NewKeyRing(k); !errors.Is(err, cookie.ErrKeySize) {
						t.Errorf("%s key %s: the stored secret is a cookie key", purpose, k.ID)
					}
					if bytes.Contains(k.Secret, []byte(`"d":`)) {
						t.Errorf("%s key %s: the stored secret holds a private JWK parameter", purpose, k.ID)
					}
					if file != "" {
						db, err := os.ReadFile(file)
						if err != nil {
							t.Fatal(err)
						}
						if bytes.Contains(db, secret) || bytes.Contains(db, []byte(`"d":"`)) {
							t.Errorf("the database file holds %s key %s in plaintext", purpose, k.ID)
						}
					}
				}
			}
			if r := api(t, ts.URL, "GET", "/api/me", "", access); r.Status != http.StatusOK {
				t.Errorf("/api/me with a token signed by an encrypted key: %d", r.Status)
			}
		})
	}
}

// TestWrongKEKRefusesToStart restarts a server on its store with another
// key-encryption key: it must refuse to start, saying why, and change
// nothing in the store.
func TestWrongKEKRefusesToStart(t *testing.T) {
	ctx := context.Background()
	mem := newMem(t)
	newServer(t, mem, server.Config{KEK: newKEK(t)})
	before, _ := mem.Keys(ctx, token.DefaultKeyPurpose)
	_, err := server.New(ctx, mem, server.Config{KEK: newKEK(t), PasswordParams: cheapParams})
	if !errors.Is(err, kek.ErrWrongKEK) {
		t.Fatalf("New with another KEK: %v; want ErrWrongKEK", err)
	}
	if !strings.Contains(err.Error(), "key-encryption key") {
		t.Errorf("the error does not say what is wrong: %v", err)
	}
	after, _ := mem.Keys(ctx, token.DefaultKeyPurpose)
	if len(after) != len(before) || !bytes.Equal(after[0].Secret, before[0].Secret) {
		t.Errorf("a refused start changed the stored keys")
	}
}

// TestPlaintextKeysMigrate starts a server with a KEK on a store whose keys
// an earlier version kept in plaintext: the keys are encrypted in place,
// and the cookies and tokens they sealed and signed stay valid.
func TestPlaintextKeysMigrate(t *testing.T) {
	ctx := context.Background()
	mem := newMem(t)
	old := newServer(t, mem, server.Config{})
	b := newBrowser(t, old.URL)
	b.register("kim", "password one")
	b.login("cookie", "kim", "password one")
	sealed := b.cookieValue()
	access, _ := apiLogin(t, old.URL, "kim", "password one")
	old.Close()

	key := newKEK(t)
	ts := newServer(t, mem, server.Config{KEK: key})
	for _, purpose := range server.KeyPurposes() {
		raw, _ := mem.Keys(ctx, purpose)
		for _, k := range raw {
			if _, err := kek.Wrap(mem, key).Keys(ctx, purpose); err != nil {
				t.Fatalf("%s keys after the migration: %v", purpose, err)
			}
			if _, err := token.ParseKey(k); err == nil {
				t.Errorf("%s key %s is still plaintext", purpose, k.ID)
			}
		}
	}
	if r := withCookie(t, ts.URL, "/cookie/profile", "sk_cookie="+sealed); r.Status != http.StatusOK {
		t.Errorf("a cookie sealed before the migration: %d", r.Status)
	}
	if r := api(t, ts.URL, "GET", "/api/me", "", access); r.Status != http.StatusOK {
		t.Errorf("a token signed before the migration: %d", r.Status)
	}
}

// TestCookieKeyAddedElsewhere: an instance that has not read its cookie
// keys since another instance started sealing with a new one opens that
// instance's cookies all the same: a cookie no key opens makes it read
// the keys again (at most once a second).
func TestCookieKeyAddedElsewhere(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	mem := newMem(t)
	old := newServer(t, mem, server.Config{Now: clk.Now}) // loads the first key
	newBrowser(t, old.URL).register("kim", "password one")

	// A key added to the store (a rotation, or another instance's first
	// key after a wipe) and an instance started since, which seals with it.
	k, err := cookie.GenerateKey(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.AddKey(ctx, "cookie", k); err != nil {
		t.Fatal(err)
	}
	fresh := newServer(t, mem, server.Config{Now: clk.Now})
	b := newBrowser(t, fresh.URL)
	b.login("cookie", "kim", "password one")
	sealed := b.cookieValue()
	if only, _ := cookie.NewKeyRing(k); only != nil {
		if _, err := only.Open("sk_cookie", sealed, clk.Now()); err != nil {
			t.Fatalf("test bug: the new instance did not seal with the new key: %v", err)
		}
	}

	clk.Advance(unknownKeyGap) // well within the minute between reloads
	if r := withCookie(t, old.URL, "/cookie/profile", "sk_cookie="+sealed); r.Status != http.StatusOK {
		t.Errorf("the older instance, given a cookie of the new key: %d %q; want 200 after reading its keys again", r.Status, r.Location)
	}
}

// unknownKeyGap is server.unknownKeyGap: a cookie no key opens makes the
// server read its keys again at most this often.
const unknownKeyGap = time.Second
