package server_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
	"github.com/sessionkit/sessionkit/token"
)

// TestKeyRotation rotates the signing key the way "sessionkit keys rotate"
// does, from outside the running server: tokens signed before still
// verify; the new key signs new tokens once every instance has loaded and
// published it and every JWKS cache has fetched it; a restart keeps all of
// it.
// The old key stops verifying once every token it signed has expired.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	path := filepath.Join(t.TempDir(), "keys.db")
	open := func() *sqlitestore.Store {
		st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	ts := newServer(t, st, server.Config{Now: clk.Now})
	newBrowser(t, ts.URL).register("alice", "password one")
	before, _ := apiLogin(t, ts.URL, "alice", "password one")
	oldKid := header(t, before)["kid"]

	// Another process (the command line) rotates, to ES256.
	ring, err := token.OpenRing(ctx, st, token.RingOptions{Leeway: token.DefaultLeeway, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := ring.Rotate(ctx, token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if r := api(t, ts.URL, "GET", "/api/me", "", before); r.Status != http.StatusOK {
		t.Fatalf("a token signed before the rotation: %d, want 200", r.Status)
	}
	// The new key signs once every server and every JWKS cache has it:
	// a reload interval, the JWKS max-age and the leeway after its creation.
	publish := token.DefaultReloadInterval + token.DefaultJWKSMaxAge + token.DefaultLeeway
	if !newKey.SignsFrom.Equal(newKey.Created.Add(publish)) {
		t.Fatalf("the new key signs from %v; want %v after its creation", newKey.SignsFrom, publish)
	}
	clk.Advance(publish - time.Second)
	if early, _ := apiLogin(t, ts.URL, "alice", "password one"); header(t, early)["kid"] != oldKid {
		t.Errorf("a token signed before the new key's time carries kid %v, want the old %v", header(t, early)["kid"], oldKid)
	}
	clk.Advance(2 * time.Second)
	after, _ := apiLogin(t, ts.URL, "alice", "password one")
	if h := header(t, after); h["kid"] != newKey.ID || h["alg"] != "ES256" {
		t.Fatalf("a token signed after the rotation: kid %v alg %v, want %s ES256", h["kid"], h["alg"], newKey.ID)
	}
	if h := header(t, before); h["kid"] != oldKid {
		t.Fatal("test bug: the old token changed")
	}
	jwks := newBrowser(t, ts.URL).get("/.well-known/jwks.json").Body
	set, err := token.ParseJWKS([]byte(jwks))
	if err != nil || len(set.Keys()) != 2 {
		t.Fatalf("JWKS after rotation: %v, %d keys, want both", err, len(set.Keys()))
	}

	// Restart: the same database, a new server.
	ts.Close()
	st.Close()
	ts2 := newServer(t, open(), server.Config{Now: clk.Now})
	for name, tok := range map[string]string{"before": before, "after": after} {
		if r := api(t, ts2.URL, "GET", "/api/me", "", tok); r.Status != http.StatusOK {
			t.Errorf("after restart, the token signed %s the rotation: %d, want 200", name, r.Status)
		}
	}
	if fresh, _ := apiLogin(t, ts2.URL, "alice", "password one"); header(t, fresh)["kid"] != newKey.ID {
		t.Errorf("after restart, new tokens carry kid %v, want %s", header(t, fresh)["kid"], newKey.ID)
	}

	// Once every token of the old key has expired, the key is retired: it
	// is no longer published.
	clk.Advance(token.DefaultAccessLifetime + token.DefaultLeeway)
	jwks = newBrowser(t, ts2.URL).get("/.well-known/jwks.json").Body
	if set, err := token.ParseJWKS([]byte(jwks)); err != nil || len(set.Keys()) != 1 || set.Keys()[0].ID != newKey.ID {
		t.Errorf("JWKS after the old key retired: %v, want only %s", jwks, newKey.ID)
	}
}

// TestRotationNeverLogsOut rotates the signing key under a browser's JWT
// login, with one-minute access tokens and no leeway, and waits past the
// old key's retirement: the profile still answers, through a refresh, the
// count goes on, and logout then ends the login.
func TestRotationNeverLogsOut(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	mem := newMem(t)
	ts := newServer(t, mem, server.Config{Now: clk.Now, AccessTokenLifetime: time.Minute, TokenLeeway: -1})
	b := newBrowser(t, ts.URL)
	b.register("kim", "password one")
	b.login("jwt", "kim", "password one")
	if got := b.profile("jwt"); got != "welcome kim with the count: 1" {
		t.Fatalf("first view: %q", got)
	}
	oldKid := header(t, b.cookie("sk_access"))["kid"]

	// "sessionkit keys rotate --access-token-lifetime 1m --token-leeway -1"
	ring, err := token.OpenRing(ctx, mem, token.RingOptions{TokenLifetime: time.Minute, Leeway: -1, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ring.Rotate(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	retired := k.SignsFrom.Add(time.Minute)
	clk.Set(retired.Add(time.Second))

	// The browser follows the redirects, as browsers do.
	r := b.get("/jwt/profile")
	for hops := 0; r.Status == http.StatusSeeOther && hops < 3; hops++ {
		if strings.HasPrefix(r.Location, "/jwt/login") {
			t.Fatalf("after the old key retired, the profile sent the browser to log in (%s)", r.Location)
		}
		r = b.get(r.Location)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("after the old key retired, the profile answered %d %q", r.Status, r.Location)
	}
	if got := greeting(t, r.Body); got != "welcome kim with the count: 2" {
		t.Errorf("after the old key retired: %q; want the count to go on", got)
	}
	if kid := header(t, b.cookie("sk_access"))["kid"]; kid != k.ID || kid == oldKid {
		t.Errorf("the refreshed token carries kid %v; want the new key %s", kid, k.ID)
	}

	refresh := b.cookie("sk_refresh")
	if r := b.post("/jwt/logout", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.Status)
	}
	if r := withCookie(t, ts.URL, "/jwt/refresh", "sk_refresh="+refresh); !strings.HasPrefix(r.Location, "/jwt/login") {
		t.Errorf("the refresh token after logout: %d %q; want the login page (the login ended)", r.Status, r.Location)
	}
}
