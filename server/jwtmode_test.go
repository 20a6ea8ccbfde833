package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// TestJWTCookies: login sets the access token for the whole site and the
// refresh token only for /jwt (the refresh and logout routes need it),
// both HttpOnly and SameSite, and expires any refresh cookie left at its
// former path, /jwt/refresh.
func TestJWTCookies(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	b := newBrowser(t, f.url)
	b.register("alice", "password one")
	r := b.post("/jwt/login", creds("alice", "password one"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.Status)
	}
	got := setCookies(r)
	for _, want := range []struct {
		name, path string
		set        bool // set with a value, else expired
	}{
		{"sk_access", "/", true},
		{"sk_refresh", "/jwt", true},
		{"sk_refresh", "/jwt/refresh", false},
	} {
		c := got[want.name+" "+want.path]
		if c == nil {
			t.Errorf("no %s cookie for path %s (Set-Cookie: %q)", want.name, want.path, r.Header.Values("Set-Cookie"))
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s at %s: HttpOnly %v, SameSite %v; want HttpOnly, Lax", want.name, want.path, c.HttpOnly, c.SameSite)
		}
		if set := c.MaxAge > 0 && c.Value != ""; set != want.set {
			t.Errorf("%s at %s: Max-Age %d, value %q; want it set: %v", want.name, want.path, c.MaxAge, c.Value, want.set)
		}
	}
	if len(got) != 3 {
		t.Errorf("login set %d cookies, want 3: %q", len(got), r.Header.Values("Set-Cookie"))
	}
}

// setCookies returns the cookies a response sets, by name and path.
func setCookies(r response) map[string]*http.Cookie {
	got := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		got[c.Name+" "+c.Path] = c
	}
	return got
}

// refreshCookie returns the browser's refresh token, as it sends it to
// /jwt/refresh, failing the test when it has none.
func (b *browser) refreshCookie() string {
	b.t.Helper()
	u, _ := url.Parse(b.base + "/jwt/refresh")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "sk_refresh" {
			return c.Value
		}
	}
	b.t.Fatal("the browser holds no refresh cookie for /jwt/refresh")
	return ""
}

// TestJWTSilentRefresh: when the access token has expired, the profile
// sends the browser through /jwt/refresh and back, and the count goes on;
// the user never sees the login page while the refresh token is valid.
func TestJWTSilentRefresh(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	b := newBrowser(t, f.url)
	b.register("bob", "password two")
	b.login("jwt", "bob", "password two")
	if got := b.profile("jwt"); got != "welcome bob with the count: 1" {
		t.Fatalf("first view: %q", got)
	}
	before := b.cookie("sk_access")

	f.clock.Advance(16 * time.Minute)
	r := b.get("/jwt/profile")
	if r.Status != http.StatusSeeOther || r.Location != "/jwt/refresh?next=%2Fjwt%2Fprofile" {
		t.Fatalf("profile with an expired access token: %d %q, want 303 to /jwt/refresh?next=...", r.Status, r.Location)
	}
	r = b.get(r.Location)
	if r.Status != http.StatusSeeOther || r.Location != "/jwt/profile" {
		t.Fatalf("refresh: %d %q, want 303 back to the profile", r.Status, r.Location)
	}
	if b.cookie("sk_access") == before {
		t.Fatal("refresh did not replace the access token")
	}
	if got := b.profile("jwt"); got != "welcome bob with the count: 2" {
		t.Errorf("after the refresh: %q, want the count to go on", got)
	}
}

// TestJWTRefreshEnds: past the refresh token's idle timeout, the browser
// goes through refresh to the login page, with its cookies cleared.
func TestJWTRefreshEnds(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	b := newBrowser(t, f.url)
	b.register("carol", "password three")
	b.login("jwt", "carol", "password three")
	f.clock.Advance(25 * time.Hour)
	r := b.get("/jwt/profile")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/jwt/refresh") {
		t.Fatalf("profile: %d %q, want 303 to refresh", r.Status, r.Location)
	}
	r = b.get(r.Location)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/jwt/login") {
		t.Fatalf("refresh past the idle timeout: %d %q, want 303 to login", r.Status, r.Location)
	}
	if b.cookie("sk_access") != "" {
		t.Error("the refused login's access cookie was kept")
	}
}

// TestJWTStolenRefreshToken: a copy of the refresh cookie replayed after
// the browser refreshed ends the login for both: the thief goes to the
// login page, and so does the browser, though its tokens are the newest.
func TestJWTStolenRefreshToken(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	b := newBrowser(t, f.url)
	b.register("dave", "password four")
	b.login("jwt", "dave", "password four")
	refreshURL, _ := url.Parse(f.url + "/jwt/refresh")
	var stolen string
	for _, c := range b.c.Jar.Cookies(refreshURL) {
		if c.Name == "sk_refresh" {
			stolen = c.Value
		}
	}
	if stolen == "" {
		t.Fatal("no refresh cookie for /jwt/refresh")
	}
	f.clock.Advance(16 * time.Minute)
	if r := b.get("/jwt/refresh"); r.Status != http.StatusSeeOther || r.Location != "/jwt/profile" {
		t.Fatalf("the browser's own refresh: %d %q", r.Status, r.Location)
	}
	f.clock.Advance(time.Minute)
	r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+stolen)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/jwt/login") {
		t.Fatalf("the stolen refresh token: %d %q, want 303 to login", r.Status, r.Location)
	}
	if r := b.get("/jwt/profile"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/jwt/login") {
		t.Errorf("the browser after the theft was detected: %d %q, want 303 to login", r.Status, r.Location)
	}
}

// TestJWTLogoutWithExpiredAccessToken: logout works after the access token
// expired (its signature still names the login), and ends the login: the
// refresh token is refused afterwards, whoever presents it. The logout
// clears both cookies, the refresh cookie at its former path too.
func TestJWTLogoutWithExpiredAccessToken(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	b := newBrowser(t, f.url)
	b.register("erin", "password five")
	b.login("jwt", "erin", "password five")
	refresh := b.refreshCookie()
	f.clock.Advance(20 * time.Minute)
	r := b.post("/jwt/logout", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/jwt/login" {
		t.Fatalf("logout: %d %q", r.Status, r.Location)
	}
	cleared := setCookies(r)
	for _, c := range []string{"sk_access /", "sk_refresh /jwt", "sk_refresh /jwt/refresh"} {
		if cleared[c] == nil || cleared[c].MaxAge >= 0 {
			t.Errorf("logout did not expire %s (Set-Cookie: %q)", c, r.Header.Values("Set-Cookie"))
		}
	}
	if r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+refresh); !strings.HasPrefix(r.Location, "/jwt/login") {
		t.Errorf("the refresh token after logout: %d %q, want 303 to login", r.Status, r.Location)
	}
}

// TestJWTLogoutAfterKeyRetired: an access token whose signing key has
// retired since (rotated, then past every token's lifetime) still names
// its login at logout, which ends it: the refresh token is refused
// afterwards. (The ring deletes a retired key at its next reload, a
// minute at most later; from then on the token names no key, and only
// the refresh cookie could name the login: see jwtLogout.)
func TestJWTLogoutAfterKeyRetired(t *testing.T) {
	ctx := context.Background()
	f := newJWTFixture(t, server.Config{})
	b := newBrowser(t, f.url)
	b.register("erin", "password five")
	b.login("jwt", "erin", "password five")
	refresh := b.refreshCookie()
	oldKid := header(t, b.cookie("sk_access"))["kid"]

	// The command line rotates; the store records when the old key retires.
	ring, err := token.OpenRing(ctx, f.store, token.RingOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := ring.Rotate(ctx, token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := f.store.Keys(ctx, token.DefaultKeyPurpose)
	if err != nil {
		t.Fatal(err)
	}
	var retires time.Time
	for _, k := range keys {
		if k.ID == oldKid {
			retires = k.Retires
		}
	}
	if retires.IsZero() {
		t.Fatalf("the old key %v has no retirement time in the store: %+v", oldKid, keys)
	}
	// The server reloads its keys just before the retirement, then the
	// retirement passes: it still knows the key, and knows it retired.
	f.clock.Set(retires.Add(-time.Second))
	jwks := newBrowser(t, f.url).get("/.well-known/jwks.json").Body
	if set, err := token.ParseJWKS([]byte(jwks)); err != nil || len(set.Keys()) != 2 {
		t.Fatalf("JWKS just before the old key retires: %v, %s; want both keys", err, jwks)
	}
	f.clock.Advance(2 * time.Second)
	jwks = newBrowser(t, f.url).get("/.well-known/jwks.json").Body
	if set, err := token.ParseJWKS([]byte(jwks)); err != nil || len(set.Keys()) != 1 || set.Keys()[0].ID != newKey.ID {
		t.Fatalf("the old key %v has not retired (JWKS %s): the test would prove nothing", oldKid, jwks)
	}

	if r := b.post("/jwt/logout", nil); r.Status != http.StatusSeeOther || r.Location != "/jwt/login" {
		t.Fatalf("logout: %d %q", r.Status, r.Location)
	}
	if r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+refresh); !strings.HasPrefix(r.Location, "/jwt/login") {
		t.Errorf("the refresh token after logout: %d %q, want 303 to login: the login did not end", r.Status, r.Location)
	}
}

// TestJWTRefreshCookieAtTheFormerPath: a browser that still holds a
// refresh cookie at /jwt/refresh, as set before the path was widened,
// refreshes with it; the answer moves it to /jwt, so that the browser
// holds one refresh cookie afterwards, and the next refresh works too.
func TestJWTRefreshCookieAtTheFormerPath(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	b := newBrowser(t, f.url)
	b.register("gail", "password seven")
	b.login("jwt", "gail", "password seven")
	refresh := b.refreshCookie()
	jwtURL, _ := url.Parse(f.url + "/jwt")
	refreshURL, _ := url.Parse(f.url + "/jwt/refresh")
	// As the former server left it: the refresh cookie at /jwt/refresh.
	b.c.Jar.SetCookies(jwtURL, []*http.Cookie{{Name: "sk_refresh", Path: "/jwt", MaxAge: -1}})
	b.c.Jar.SetCookies(refreshURL, []*http.Cookie{{Name: "sk_refresh", Value: refresh, Path: "/jwt/refresh", MaxAge: 3600}})

	for i := range 2 {
		f.clock.Advance(16 * time.Minute)
		if r := b.get("/jwt/refresh"); r.Status != http.StatusSeeOther || r.Location != "/jwt/profile" {
			t.Fatalf("refresh %d: %d %q, want 303 to the profile", i+1, r.Status, r.Location)
		}
		n := 0
		for _, c := range b.c.Jar.Cookies(refreshURL) {
			if c.Name == "sk_refresh" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("after refresh %d the browser sends %d refresh cookies to /jwt/refresh, want 1", i+1, n)
		}
	}
	if got := b.profile("jwt"); got != "welcome gail with the count: 1" {
		t.Errorf("after the refreshes: %q", got)
	}
}

// TestTokenAttacks presents forged, tampered and malformed access tokens
// to the API (401) and to the JWT profile page (303 to the login page, or
// for an authentic expired token to refresh, which without a refresh token
// goes to login). None gets a 500 or a login. The forgeries use the
// server's real key where the attack needs it, and the same forging with
// no flaw gives a token that works, so each is refused for its flaw.
func TestTokenAttacks(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("mallory", "password seven")
	access, _ := apiLogin(t, f.url, "mallory", "password seven")
	real := claimsOf(t, access)
	key := signingKey(t, f.store)
	priv := key.Key.(ed25519.PrivateKey)
	now := f.clock.Now()

	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"sub": "mallory", "jti": "forged-" + base64.RawURLEncoding.EncodeToString(randomBytes(8)),
			"sid": real["sid"], "aid": real["aid"], "iss": "sessionkit", "aud": []string{"sessionkit"},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(method jwt.SigningMethod, c jwt.MapClaims, hdr map[string]any, k any) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = key.KeyID
		tok.Header["typ"] = "at+jwt"
		for name, v := range hdr {
			if v == nil {
				delete(tok.Header, name)
			} else {
				tok.Header[name] = v
			}
		}
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := func(change func(jwt.MapClaims)) string {
		return sign(jwt.SigningMethodEdDSA, claims(change), nil, priv)
	}

	// Positive control: the forging helper with the real key and no flaw.
	if r := api(t, f.url, "GET", "/api/me", "", good(nil)); r.Status != http.StatusOK {
		t.Fatalf("the control token is refused (%d %s): the table below would prove nothing", r.Status, r.Body)
	}

	_, attackerKey, _ := ed25519.GenerateKey(rand.Reader)
	attackerJWK := jose.JSONWebKey{Key: attackerKey.Public(), KeyID: key.KeyID, Algorithm: "EdDSA"}
	pubDER, _ := x509.MarshalPKIXPublicKey(priv.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	parts := strings.Split(good(nil), ".")
	b64 := base64.RawURLEncoding.EncodeToString
	headerJSON := func(h map[string]any) string { b, _ := json.Marshal(h); return b64(b) }

	attacks := []struct {
		name    string
		tok     string
		expired bool // authentic but expired: the browser goes via refresh
	}{
		{"alg none", none, false},
		{"alg none with our kid", headerJSON(map[string]any{"alg": "none", "kid": key.KeyID, "typ": "at+jwt"}) + "." + parts[1] + ".", false},
		{"HS256 keyed with the public key (PEM)", sign(jwt.SigningMethodHS256, claims(nil), nil, pubPEM), false},
		{"HS256 keyed with the public key (raw)", sign(jwt.SigningMethodHS256, claims(nil), nil, []byte(priv.Public().(ed25519.PublicKey))), false},
		{"signed by another key, our kid", sign(jwt.SigningMethodEdDSA, claims(nil), nil, attackerKey), false},
		{"unknown kid", sign(jwt.SigningMethodEdDSA, claims(nil), map[string]any{"kid": "no-such-key"}, priv), false},
		{"embedded jwk", sign(jwt.SigningMethodEdDSA, claims(nil), map[string]any{"jwk": attackerJWK}, attackerKey), false},
		{"jku header", sign(jwt.SigningMethodEdDSA, claims(nil), map[string]any{"jku": "https://evil.example/jwks.json"}, priv), false},
		{"x5u header", sign(jwt.SigningMethodEdDSA, claims(nil), map[string]any{"x5u": "https://evil.example/cert.pem"}, priv), false},
		{"typ JWT", sign(jwt.SigningMethodEdDSA, claims(nil), map[string]any{"typ": "JWT"}, priv), false},
		{"expired", good(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-time.Hour).Unix()
			c["iat"] = now.Add(-2 * time.Hour).Unix()
			c["nbf"] = c["iat"]
		}), true},
		{"not yet valid", good(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), false},
		{"issued in the future", good(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }), false},
		{"no exp", good(func(c jwt.MapClaims) { delete(c, "exp") }), false},
		{"wrong issuer", good(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), false},
		{"wrong audience", good(func(c jwt.MapClaims) { c["aud"] = []string{"another-service"} }), false},
		{"no jti", good(func(c jwt.MapClaims) { delete(c, "jti") }), false},
		{"another login's sid", good(func(c jwt.MapClaims) { c["sid"] = b64(randomBytes(16)) }), false},
		// Signed with the real key: only the login's owner matches sid.
		{"someone else, same login", good(func(c jwt.MapClaims) { c["sub"] = "alice" }), false},
		{"truncated signature", access[:len(access)-10], false},
		{"truncated to two parts", parts[0] + "." + parts[1], false},
		{"cut in the header", access[:10], false},
		{"flipped bit in the payload", parts[0] + "." + flip(parts[1]) + "." + parts[2], false},
		{"100 KB token", parts[0] + "." + strings.Repeat("A", 100<<10) + "." + parts[2], false},
		{"invalid base64", parts[0] + ".!!!not-base64!!!." + parts[2], false},
		{"header not JSON", b64([]byte("not json")) + "." + parts[1] + "." + parts[2], false},
		{"payload not JSON", parts[0] + "." + b64([]byte("not json")) + "." + parts[2], false},
		{"empty", "", false},
		{"spaces", "   ", false},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			r := api(t, f.url, "GET", "/api/me", "", a.tok)
			if a.tok == "" || strings.TrimSpace(a.tok) == "" {
				if r.Status != http.StatusUnauthorized {
					t.Errorf("API: %d, want 401", r.Status)
				}
			} else {
				wantInvalidToken(t, "API", r)
			}
			if a.tok == "" || strings.ContainsAny(a.tok, " ") {
				return
			}
			br := newBrowser(t, f.url)
			resp := withCookie(t, f.url, "/jwt/profile", "sk_access="+a.tok)
			if resp.Status >= 500 || resp.Status != http.StatusSeeOther {
				t.Fatalf("browser: %d, want 303", resp.Status)
			}
			want := "/jwt/login"
			if a.expired {
				want = "/jwt/refresh"
			}
			if !strings.HasPrefix(resp.Location, want) {
				t.Errorf("browser: 303 to %q, want %s", resp.Location, want)
			}
			if a.expired {
				if r := br.get(resp.Location); !strings.HasPrefix(r.Location, "/jwt/login") {
					t.Errorf("refresh without a refresh token: %d %q, want 303 to login", r.Status, r.Location)
				}
			}
		})
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// flip changes one character of a base64url segment.
func flip(seg string) string {
	b := []byte(seg)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

// countingBackend is a memory store that counts the session reads,
// session saves and deny-list reads reaching it, and can refuse to
// deny-list.
type countingBackend struct {
	*memstore.Store
	reads, saves, denied atomic.Int64
	denyDown             atomic.Bool
}

func (c *countingBackend) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	c.reads.Add(1)
	return c.Store.Session(ctx, id)
}

func (c *countingBackend) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	c.saves.Add(1)
	return c.Store.SaveSession(ctx, r)
}

func (c *countingBackend) Denied(ctx context.Context, id string) (bool, error) {
	c.denied.Add(1)
	return c.Store.Denied(ctx, id)
}

func (c *countingBackend) Deny(ctx context.Context, id string, until time.Time) error {
	if c.denyDown.Load() {
		return errDown
	}
	return c.Store.Deny(ctx, id, until)
}

// TestJWTProfileStoreCalls: a JWT profile view costs two store calls: the
// deny list, read first (so that a hung store fails the view before a write
// is sent), and the compare-and-swap that counts the view in the login's
// family (which also tells that the login has not ended). The family is not
// read: the server starts from its last save.
func TestJWTProfileStoreCalls(t *testing.T) {
	cb := &countingBackend{Store: newMem(t)}
	ts := newServer(t, cb, server.Config{})
	b := newBrowser(t, ts.URL)
	b.register("ivan", "password nine")
	b.login("jwt", "ivan", "password nine")
	b.profile("jwt")
	reads, saves, denied := cb.reads.Load(), cb.saves.Load(), cb.denied.Load()
	for i := 2; i <= 4; i++ {
		if got, want := b.profile("jwt"), fmt.Sprintf("welcome ivan with the count: %d", i); got != want {
			t.Fatalf("view %d: %q, want %q", i, got, want)
		}
	}
	if r, s, d := cb.reads.Load()-reads, cb.saves.Load()-saves, cb.denied.Load()-denied; r != 0 || s != 3 || d != 3 {
		t.Errorf("3 views: %d reads, %d saves, %d deny-list reads; want 0, 3, 3", r, s, d)
	}
}

// TestJWTLogoutEndsTheLoginFirst: when the deny list cannot be written,
// logout answers 503, but the login has already ended: the access token
// no longer reaches the profile or the API.
func TestJWTLogoutEndsTheLoginFirst(t *testing.T) {
	cb := &countingBackend{Store: newMem(t)}
	ts := newServer(t, cb, server.Config{})
	b := newBrowser(t, ts.URL)
	b.register("judy", "password ten")
	b.login("jwt", "judy", "password ten")
	access := b.cookie("sk_access")
	cb.denyDown.Store(true)
	if r := b.post("/jwt/logout", nil); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("logout with the deny list down: %d, want 503", r.Status)
	}
	if r := withCookie(t, ts.URL, "/jwt/profile", "sk_access="+access); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/jwt/login") {
		t.Errorf("the access token after the failed logout: %d %q, want 303 to the login page", r.Status, r.Location)
	}
	wantInvalidToken(t, "the access token after the failed logout", api(t, ts.URL, "GET", "/api/me", "", access))
}
