package kek_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/localsecrets"

	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/store"
)

// newKEK opens a KEK with a new random key from a base64key:// URL, and
// returns it with its URL.
func newKEK(t *testing.T) (*kek.KEK, string) {
	t.Helper()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	u := "base64key://" + base64.URLEncoding.EncodeToString(key[:])
	k, err := kek.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("Open(base64key://...): %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k, u
}

// secretFor returns a distinct secret for a key ID, as random-looking
// bytes (like a cookie key) and long enough to be found in a dump.
func secretFor(id string) []byte {
	return []byte("secret-material-of-" + id + "-0123456789abcdef")
}

// encodings are the forms in which a leaked secret could be spotted.
func encodings(secret []byte) map[string]string {
	return map[string]string{
		"raw":       string(secret),
		"base64":    base64.StdEncoding.EncodeToString(secret),
		"base64url": base64.RawURLEncoding.EncodeToString(secret),
		"hex":       hex.EncodeToString(secret),
	}
}

func TestWrapRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		add  func(ctx context.Context, w *kek.Keys, purpose string, k store.Key) error
	}{
		{"AddKey", func(ctx context.Context, w *kek.Keys, p string, k store.Key) error { return w.AddKey(ctx, p, k) }},
		{"AddFirstKey", func(ctx context.Context, w *kek.Keys, p string, k store.Key) error { return w.AddFirstKey(ctx, p, k) }},
		{"RotateKey", func(ctx context.Context, w *kek.Keys, p string, k store.Key) error {
			return w.RotateKey(ctx, p, k, now.Add(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			k, _ := newKEK(t)
			st := newFakeKeys()
			w := kek.Wrap(st, k)
			want := store.Key{ID: "k1", Secret: secretFor("k1"), Created: now, SignsFrom: now.Add(time.Minute)}
			if err := tt.add(ctx, w, "cookie", want); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}

			got, err := w.Keys(ctx, "cookie")
			if err != nil {
				t.Fatalf("Keys: %v", err)
			}
			if len(got) != 1 || got[0].ID != "k1" || !bytes.Equal(got[0].Secret, want.Secret) ||
				!got[0].Created.Equal(now) || !got[0].SignsFrom.Equal(want.SignsFrom) {
				t.Fatalf("Keys = %+v, want the key added, %+v", got, want)
			}

			stored := st.stored("cookie", "k1")
			if !bytes.HasPrefix(stored, []byte("skkek1.")) {
				t.Errorf("stored secret %.20q... lacks the skkek1. prefix", stored)
			}
			for enc, leak := range encodings(want.Secret) {
				if bytes.Contains(stored, []byte(leak)) {
					t.Errorf("stored secret contains the plaintext secret (%s)", enc)
				}
			}

			// A fresh wrapper (nothing remembered) opens it too.
			got, err = kek.Wrap(st, k).Keys(ctx, "cookie")
			if err != nil || len(got) != 1 || !bytes.Equal(got[0].Secret, want.Secret) {
				t.Fatalf("Keys through a new Wrap = %+v, %v; want the secret", got, err)
			}
		})
	}
}

func TestRotateKeyRetiresOthers(t *testing.T) {
	ctx := t.Context()
	k, _ := newKEK(t)
	st := newFakeKeys()
	w := kek.Wrap(st, k)
	retire := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := w.AddFirstKey(ctx, "jwt", store.Key{ID: "a", Secret: secretFor("a")}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFirstKey(ctx, "jwt", store.Key{ID: "x", Secret: secretFor("x")}); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddFirstKey on a purpose with a key = %v, want store.ErrExists", err)
	}
	if err := w.RotateKey(ctx, "jwt", store.Key{ID: "b", Secret: secretFor("b")}, retire); err != nil {
		t.Fatal(err)
	}
	if err := w.AddKey(ctx, "jwt", store.Key{ID: "b", Secret: secretFor("other")}); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddKey with a taken ID = %v, want store.ErrExists", err)
	}
	got, err := w.Keys(ctx, "jwt")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || !got[0].Retires.Equal(retire) || got[1].ID != "b" || !got[1].Retires.IsZero() ||
		!bytes.Equal(got[0].Secret, secretFor("a")) || !bytes.Equal(got[1].Secret, secretFor("b")) {
		t.Errorf("Keys after RotateKey = %+v; want a retiring at %v, then b", got, retire)
	}
}

func TestKeysReturnsCopies(t *testing.T) {
	ctx := t.Context()
	k, _ := newKEK(t)
	w := kek.Wrap(newFakeKeys(), k)
	if err := w.AddKey(ctx, "p", store.Key{ID: "k", Secret: secretFor("k")}); err != nil {
		t.Fatal(err)
	}
	got, err := w.Keys(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	clear(got[0].Secret)
	got, err = w.Keys(ctx, "p")
	if err != nil || !bytes.Equal(got[0].Secret, secretFor("k")) {
		t.Errorf("after the caller overwrote a returned secret, Keys = %+v, %v; want the secret unchanged", got, err)
	}
}

func TestMovedSecretDoesNotOpen(t *testing.T) {
	tests := []struct {
		name            string
		toPurpose, toID string
	}{
		{"another ID", "cookie", "k2"},
		{"another purpose", "jwt", "k1"},
		{"another purpose and ID", "jwt", "k9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			k, _ := newKEK(t)
			st := newFakeKeys()
			w := kek.Wrap(st, k)
			for _, p := range []string{"cookie", "jwt"} {
				for _, id := range []string{"k1", "k2"} {
					if err := w.AddKey(ctx, p, store.Key{ID: id, Secret: secretFor(p + id)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Someone who can write the store copies cookie/k1's secret over another key.
			st.put(tt.toPurpose, tt.toID, st.stored("cookie", "k1"))

			for _, r := range []*kek.Keys{w, kek.Wrap(st, k)} { // with and without remembered secrets
				got, err := r.Keys(ctx, tt.toPurpose)
				if !errors.Is(err, kek.ErrCorrupt) {
					t.Fatalf("Keys(%q) with a moved secret = %+v, %v; want kek.ErrCorrupt", tt.toPurpose, got, err)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.toID)) {
					t.Errorf("error %q does not name the key %q", err, tt.toID)
				}
			}
			if _, err := w.Keys(ctx, "cookie"); tt.toPurpose != "cookie" && err != nil {
				t.Errorf("the original key no longer opens: %v", err)
			}
		})
	}
}

func TestDamagedSecret(t *testing.T) {
	tests := []struct {
		name   string
		damage func(stored []byte) []byte
	}{
		{"flipped ciphertext bit", func(s []byte) []byte {
			raw, err := base64.RawURLEncoding.DecodeString(string(s[len("skkek1."):]))
			if err != nil {
				panic(err)
			}
			raw[len(raw)-1] ^= 1
			return []byte("skkek1." + base64.RawURLEncoding.EncodeToString(raw))
		}},
		{"truncated", func(s []byte) []byte { return s[:len("skkek1.")+10] }},
		{"not base64", func(s []byte) []byte { return append(bytes.Clone(s), '!') }},
		{"newer version", func(s []byte) []byte { return append([]byte("skkek2."), s[len("skkek1."):]...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			k, _ := newKEK(t)
			st := newFakeKeys()
			if err := kek.Wrap(st, k).AddKey(ctx, "p", store.Key{ID: "k", Secret: secretFor("k")}); err != nil {
				t.Fatal(err)
			}
			stored := st.stored("p", "k")
			damaged := tt.damage(stored)
			if bytes.Equal(damaged, stored) {
				t.Fatal("test did not damage the secret")
			}
			st.put("p", "k", damaged)
			if got, err := kek.Wrap(st, k).Keys(ctx, "p"); !errors.Is(err, kek.ErrCorrupt) {
				t.Errorf("Keys of a damaged secret = %+v, %v; want kek.ErrCorrupt", got, err)
			}
		})
	}
}

func TestWrongKEK(t *testing.T) {
	ctx := t.Context()
	right, _ := newKEK(t)
	wrong, _ := newKEK(t)
	st := newFakeKeys()
	if err := kek.Wrap(st, right).AddKey(ctx, "jwt", store.Key{ID: "sig-1", Secret: secretFor("sig-1")}); err != nil {
		t.Fatal(err)
	}
	got, err := kek.Wrap(st, wrong).Keys(ctx, "jwt")
	if !errors.Is(err, kek.ErrWrongKEK) {
		t.Fatalf("Keys with the wrong KEK = %+v, %v; want kek.ErrWrongKEK", got, err)
	}
	msg := err.Error()
	for _, want := range []string{"does not open the keys in the store", "wrong --kek", `"jwt"`, `"sig-1"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	for enc, leak := range encodings(secretFor("sig-1")) {
		if strings.Contains(msg, leak) {
			t.Errorf("error shows the secret (%s): %q", enc, msg)
		}
	}
	if err := kek.Wrap(st, wrong).Check(ctx, "jwt"); !errors.Is(err, kek.ErrWrongKEK) {
		t.Errorf("Check with the wrong KEK = %v, want kek.ErrWrongKEK", err)
	}
}

func TestPreviousKEK(t *testing.T) {
	ctx := t.Context()
	oldK, _ := newKEK(t)
	newK, _ := newKEK(t)
	st := newFakeKeys()
	if err := kek.Wrap(st, oldK).AddKey(ctx, "p", store.Key{ID: "old", Secret: secretFor("old")}); err != nil {
		t.Fatal(err)
	}
	both := kek.Wrap(st, newK, oldK)
	if err := both.AddKey(ctx, "p", store.Key{ID: "new", Secret: secretFor("new")}); err != nil {
		t.Fatal(err)
	}
	got, err := kek.Wrap(st, newK, oldK).Keys(ctx, "p")
	if err != nil || len(got) != 2 || !bytes.Equal(got[0].Secret, secretFor("old")) || !bytes.Equal(got[1].Secret, secretFor("new")) {
		t.Fatalf("Keys with the previous KEK given = %+v, %v; want both secrets", got, err)
	}
	// The new key went under the current KEK, not the previous one.
	if _, err := kek.Wrap(st, oldK).Keys(ctx, "p"); !errors.Is(err, kek.ErrWrongKEK) {
		t.Errorf("the old KEK alone opens every key (%v): the new key was not encrypted under the current KEK", err)
	}
	if err := st.DeleteKey(ctx, "p", "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := kek.Wrap(st, newK).Keys(ctx, "p"); err != nil {
		t.Errorf("the current KEK alone does not open the key added under it: %v", err)
	}
}

func TestPlaintextAndMigrate(t *testing.T) {
	ctx := t.Context()
	k, _ := newKEK(t)
	st := newFakeKeys()
	st.put("cookie", "c1", secretFor("c1"))
	st.put("cookie", "c2", secretFor("c2"))
	st.put("jwt", "j1", []byte(`{"kty":"OKP","crv":"Ed25519","d":"private"}`))
	st.put("other", "o1", secretFor("o1"))
	w := kek.Wrap(st, k)

	if got, err := w.Keys(ctx, "cookie"); !errors.Is(err, kek.ErrPlaintext) || !strings.Contains(err.Error(), `"c1"`) {
		t.Fatalf("Keys of plaintext secrets = %+v, %v; want kek.ErrPlaintext naming c1", got, err)
	}
	if err := w.Check(ctx, "cookie", "jwt"); !errors.Is(err, kek.ErrPlaintext) {
		t.Errorf("Check of plaintext secrets = %v, want kek.ErrPlaintext", err)
	}

	tests := []struct {
		name     string
		purposes []string
		want     int
	}{
		{"first run", []string{"cookie", "jwt"}, 3},
		{"again", []string{"cookie", "jwt"}, 0},
		{"no purpose", nil, 0},
	}
	for _, tt := range tests {
		n, err := w.Migrate(ctx, tt.purposes...)
		if err != nil || n != tt.want {
			t.Errorf("%s: Migrate(%q) = %d, %v; want %d, nil", tt.name, tt.purposes, n, err, tt.want)
		}
	}

	for _, c := range []struct{ purpose, id string }{{"cookie", "c1"}, {"cookie", "c2"}, {"jwt", "j1"}} {
		if s := st.stored(c.purpose, c.id); !bytes.HasPrefix(s, []byte("skkek1.")) || bytes.Contains(s, []byte("private")) {
			t.Errorf("after Migrate, %s/%s is stored as %.30q...; want it encrypted", c.purpose, c.id, s)
		}
	}
	if s := st.stored("other", "o1"); !bytes.Equal(s, secretFor("o1")) {
		t.Errorf("Migrate changed a purpose it was not given: %q", s)
	}
	got, err := kek.Wrap(st, k).Keys(ctx, "cookie")
	if err != nil || len(got) != 2 || !bytes.Equal(got[0].Secret, secretFor("c1")) || !bytes.Equal(got[1].Secret, secretFor("c2")) {
		t.Errorf("Keys after Migrate = %+v, %v; want the original secrets", got, err)
	}
	if err := kek.Wrap(st, k).Check(ctx, "cookie", "jwt"); err != nil {
		t.Errorf("Check after Migrate = %v, want nil", err)
	}
}

func TestMigrateRetriesConflict(t *testing.T) {
	ctx := t.Context()
	k, _ := newKEK(t)
	st := newFakeKeys()
	st.put("p", "k", secretFor("k"))
	// Another process replaces the secret (still plaintext, as an old
	// server would) just before Migrate writes.
	st.beforeReplace = func() { st.put("p", "k", secretFor("changed")) }
	w := kek.Wrap(st, k)
	n, err := w.Migrate(ctx, "p")
	if err != nil || n != 1 {
		t.Fatalf("Migrate with a concurrent change = %d, %v; want 1, nil", n, err)
	}
	got, err := kek.Wrap(st, k).Keys(ctx, "p")
	if err != nil || !bytes.Equal(got[0].Secret, secretFor("changed")) {
		t.Errorf("Keys = %+v, %v; want the concurrently written secret, encrypted", got, err)
	}
}

func TestRewrap(t *testing.T) {
	ctx := t.Context()
	from, _ := newKEK(t)
	to, _ := newKEK(t)
	st := newFakeKeys()
	w := kek.Wrap(st, from)
	for _, id := range []string{"a", "b"} {
		if err := w.AddKey(ctx, "cookie", store.Key{ID: id, Secret: secretFor(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := kek.Wrap(st, to).AddKey(ctx, "jwt", store.Key{ID: "already", Secret: secretFor("already")}); err != nil {
		t.Fatal(err)
	}
	st.put("jwt", "plain", secretFor("plain"))
	already := st.stored("jwt", "already")

	n, err := kek.Rewrap(ctx, st, from, to, "cookie", "jwt")
	if err != nil || n != 3 {
		t.Fatalf("Rewrap = %d, %v; want 3 (two keys under from, one plaintext), nil", n, err)
	}
	if !bytes.Equal(st.stored("jwt", "already"), already) {
		t.Error("Rewrap rewrote a key already under the new KEK")
	}
	for _, p := range []string{"cookie", "jwt"} {
		if got, err := kek.Wrap(st, from).Keys(ctx, p); !errors.Is(err, kek.ErrWrongKEK) {
			t.Errorf("after Rewrap the old KEK alone still opens %s: %+v, %v", p, got, err)
		}
	}
	got, err := kek.Wrap(st, to).Keys(ctx, "cookie")
	if err != nil || len(got) != 2 || !bytes.Equal(got[0].Secret, secretFor("a")) || !bytes.Equal(got[1].Secret, secretFor("b")) {
		t.Errorf("after Rewrap the new KEK alone: Keys = %+v, %v; want the secrets", got, err)
	}
	got, err = kek.Wrap(st, to).Keys(ctx, "jwt")
	if err != nil || len(got) != 2 || !bytes.Equal(got[1].Secret, secretFor("plain")) {
		t.Errorf("after Rewrap the new KEK alone: Keys = %+v, %v; want the once plaintext secret", got, err)
	}

	replaces := st.replaces
	if n, err := kek.Rewrap(ctx, kek.Wrap(st, to), from, to, "cookie", "jwt"); err != nil || n != 0 || st.replaces != replaces {
		t.Errorf("Rewrap again = %d, %v (%d writes); want 0, nil and no write", n, err, st.replaces-replaces)
	}

	// A key neither KEK opens stops it.
	stranger, _ := newKEK(t)
	if err := kek.Wrap(st, stranger).AddKey(ctx, "cookie", store.Key{ID: "x", Secret: secretFor("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := kek.Rewrap(ctx, st, from, to, "cookie"); !errors.Is(err, kek.ErrWrongKEK) || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("Rewrap of a key neither KEK opens = %v; want kek.ErrWrongKEK naming x", err)
	}
}

func TestRewrapRetriesConflict(t *testing.T) {
	ctx := t.Context()
	from, _ := newKEK(t)
	to, _ := newKEK(t)
	st := newFakeKeys()
	server := kek.Wrap(st, from) // a server still on the old KEK
	if err := server.AddKey(ctx, "p", store.Key{ID: "k", Secret: secretFor("k")}); err != nil {
		t.Fatal(err)
	}
	// The server replaces the secret just before Rewrap writes.
	st.beforeReplace = func() {
		if err := server.ReplaceKeySecret(ctx, "p", "k", secretFor("k"), secretFor("changed")); err != nil {
			t.Errorf("concurrent ReplaceKeySecret: %v", err)
		}
	}
	n, err := kek.Rewrap(ctx, st, from, to, "p")
	if err != nil || n != 1 {
		t.Fatalf("Rewrap with a concurrent change = %d, %v; want 1, nil", n, err)
	}
	if st.replaces < 3 {
		t.Errorf("%d ReplaceKeySecret calls; want Rewrap's lost one, the server's and Rewrap's retry", st.replaces)
	}
	got, err := kek.Wrap(st, to).Keys(ctx, "p")
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Secret, secretFor("changed")) {
		t.Errorf("after Rewrap, the new KEK alone: Keys = %+v, %v; want the concurrently written secret", got, err)
	}
}

func TestReplaceKeySecretAndDelete(t *testing.T) {
	ctx := t.Context()
	k, _ := newKEK(t)
	st := newFakeKeys()
	w := kek.Wrap(st, k)
	if err := w.AddKey(ctx, "p", store.Key{ID: "k", Secret: secretFor("k")}); err != nil {
		t.Fatal(err)
	}
	st.put("p", "plain", secretFor("plain"))

	tests := []struct {
		name     string
		id       string
		old, new []byte
		wantErr  error
		want     []byte // the plaintext afterwards
	}{
		{"stale old", "k", secretFor("nope"), secretFor("x"), store.ErrConflict, secretFor("k")},
		{"no such key", "missing", secretFor("k"), secretFor("x"), store.ErrNotFound, nil},
		{"current old", "k", secretFor("k"), secretFor("k2"), nil, secretFor("k2")},
		{"plaintext key", "plain", secretFor("plain"), secretFor("p2"), nil, secretFor("p2")},
	}
	for _, tt := range tests {
		err := w.ReplaceKeySecret(ctx, "p", tt.id, tt.old, tt.new)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: ReplaceKeySecret = %v, want %v", tt.name, err, tt.wantErr)
		}
		if tt.want == nil {
			continue
		}
		if s := st.stored("p", tt.id); !bytes.HasPrefix(s, []byte("skkek1.")) && tt.wantErr == nil {
			t.Errorf("%s: the new secret is stored unencrypted", tt.name)
		}
	}
	got, err := kek.Wrap(st, k).Keys(ctx, "p")
	if err != nil || len(got) != 2 || !bytes.Equal(got[0].Secret, secretFor("k2")) || !bytes.Equal(got[1].Secret, secretFor("p2")) {
		t.Errorf("Keys after ReplaceKeySecret = %+v, %v; want k2 and p2", got, err)
	}

	if err := w.DeleteKey(ctx, "p", "k"); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if err := w.DeleteKey(ctx, "p", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteKey again = %v, want store.ErrNotFound", err)
	}
	if got, err := w.Keys(ctx, "p"); err != nil || len(got) != 1 || got[0].ID != "plain" {
		t.Errorf("Keys after DeleteKey = %+v, %v; want only plain", got, err)
	}
}

// countingKeeper is a gocloud driver that counts the data keys it
// decrypts, and can be made to fail as an unreachable key service does.
type countingKeeper struct {
	inner    *secrets.Keeper
	decrypts atomic.Int64
	down     atomic.Bool
}

var errDown = errors.New("connection refused (test)")

func (c *countingKeeper) Decrypt(ctx context.Context, b []byte) ([]byte, error) {
	if c.down.Load() {
		return nil, errDown
	}
	c.decrypts.Add(1)
	return c.inner.Decrypt(ctx, b)
}

func (c *countingKeeper) Encrypt(ctx context.Context, b []byte) ([]byte, error) {
	if c.down.Load() {
		return nil, errDown
	}
	return c.inner.Encrypt(ctx, b)
}

func (c *countingKeeper) Close() error            { return c.inner.Close() }
func (c *countingKeeper) ErrorAs(error, any) bool { return false }
func (c *countingKeeper) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, errDown) {
		return gcerrors.DeadlineExceeded
	}
	return gcerrors.Unknown
}

var _ driver.Keeper = (*countingKeeper)(nil)

// newCountingKEK returns a KEK named name that counts its decryptions.
func newCountingKEK(t *testing.T, name string, key [32]byte) (*kek.KEK, *countingKeeper) {
	t.Helper()
	c := &countingKeeper{inner: localsecrets.NewKeeper(key)}
	k := kek.FromKeeper(name, secrets.NewKeeper(c))
	t.Cleanup(func() { k.Close() })
	return k, c
}

func TestDecryptCache(t *testing.T) {
	ctx := t.Context()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	writerKEK, _ := newCountingKEK(t, "test:writer", key)
	st := newFakeKeys()
	writer := kek.Wrap(st, writerKEK)
	for _, id := range []string{"a", "b"} {
		if err := writer.AddKey(ctx, "p", store.Key{ID: id, Secret: secretFor(id)}); err != nil {
			t.Fatal(err)
		}
	}

	readerKEK, c := newCountingKEK(t, "test:reader", key)
	reader := kek.Wrap(st, readerKEK)
	steps := []struct {
		name          string
		before        func()
		wantDecrypts  int64 // in total, after the step
		wantSecretOfB []byte
	}{
		{"first load", nil, 2, secretFor("b")},
		{"reload, unchanged", nil, 2, secretFor("b")},
		{"reload, one changed", func() {
			if err := writer.ReplaceKeySecret(ctx, "p", "b", secretFor("b"), secretFor("b2")); err != nil {
				t.Fatal(err)
			}
		}, 3, secretFor("b2")},
		{"reload, key service down", func() { c.down.Store(true) }, 3, secretFor("b2")},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		got, err := reader.Keys(ctx, "p")
		if err != nil || len(got) != 2 || !bytes.Equal(got[1].Secret, s.wantSecretOfB) {
			t.Fatalf("%s: Keys = %+v, %v; want b's secret %q", s.name, got, err, s.wantSecretOfB)
		}
		if n := c.decrypts.Load(); n != s.wantDecrypts {
			t.Errorf("%s: %d decryptions by the key service in all, want %d", s.name, n, s.wantDecrypts)
		}
	}

	// Keys the wrapper wrote itself are known without asking.
	before := c.decrypts.Load()
	c.down.Store(false)
	if err := reader.AddKey(ctx, "p", store.Key{ID: "c", Secret: secretFor("c")}); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Keys(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if n := c.decrypts.Load() - before; n != 0 {
		t.Errorf("Keys after AddKey made %d decryptions, want 0", n)
	}
}

func TestUnreachableKeyServiceIsNotWrongKEK(t *testing.T) {
	ctx := t.Context()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	k, c := newCountingKEK(t, "test:kms", key)
	st := newFakeKeys()
	if err := kek.Wrap(st, k).AddKey(ctx, "p", store.Key{ID: "k", Secret: secretFor("k")}); err != nil {
		t.Fatal(err)
	}
	c.down.Store(true)
	_, err = kek.Wrap(st, k).Keys(ctx, "p")
	if err == nil || errors.Is(err, kek.ErrWrongKEK) || !errors.Is(err, errDown) {
		t.Errorf("Keys with the key service down = %v; want its error, not kek.ErrWrongKEK", err)
	}
	if err := kek.Wrap(st, k).AddKey(ctx, "p", store.Key{ID: "k2", Secret: secretFor("k2")}); !errors.Is(err, errDown) {
		t.Errorf("AddKey with the key service down = %v; want its error", err)
	}
	if s := st.stored("p", "k2"); s != nil {
		t.Errorf("AddKey stored %q although it could not encrypt", s)
	}
}

func TestWrapNilKEKPanics(t *testing.T) {
	k, _ := newKEK(t)
	for _, keks := range [][]*kek.KEK{{nil}, {k, nil}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Wrap(%v) did not panic", keks)
				}
			}()
			kek.Wrap(newFakeKeys(), keks[0], keks[1:]...)
		}()
	}
}
