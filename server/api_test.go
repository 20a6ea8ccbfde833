package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/token"
)

// TestAPIFlow is a program's view of the API: log in, ask who it is,
// refresh, and see the spent refresh token refused.
func TestAPIFlow(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("Alice", "password one")

	r := api(t, f.url, "POST", "/api/login", `{"username":"alice","password":"password one"}`, "")
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	if r.JSON["token_type"] != "Bearer" || r.JSON["expires_in"] != float64(900) {
		t.Errorf("login answer: token_type %v, expires_in %v; want Bearer, 900", r.JSON["token_type"], r.JSON["expires_in"])
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("login answer Cache-Control %q, want no-store", cc)
	}
	access, refresh := r.JSON["access_token"].(string), r.JSON["refresh_token"].(string)
	h, c := header(t, access), claimsOf(t, access)
	if h["typ"] != "at+jwt" || h["alg"] != "EdDSA" || h["kid"] == nil {
		t.Errorf("access token header %v, want typ at+jwt, alg EdDSA and a kid", h)
	}
	for _, claim := range []string{"sub", "jti", "sid", "iat", "nbf", "exp", "iss", "aud"} {
		if c[claim] == nil {
			t.Errorf("access token lacks %q: %v", claim, c)
		}
	}
	if c["sub"] != "Alice" {
		t.Errorf("sub = %v, want the name as registered", c["sub"])
	}

	me := api(t, f.url, "GET", "/api/me", "", access)
	if me.Status != http.StatusOK || me.JSON["username"] != "Alice" {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}

	r2 := apiRefresh(t, f.url, refresh)
	if r2.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r2.Status, r2.Body)
	}
	access2, refresh2 := r2.JSON["access_token"].(string), r2.JSON["refresh_token"].(string)
	if access2 == access || refresh2 == refresh {
		t.Fatal("refresh returned the same tokens")
	}
	if claimsOf(t, access2)["sid"] != c["sid"] {
		t.Error("the refreshed access token belongs to another login")
	}
	if me := api(t, f.url, "GET", "/api/me", "", access2); me.Status != http.StatusOK {
		t.Errorf("me with the refreshed token: %d", me.Status)
	}
	if me := api(t, f.url, "GET", "/api/me", "", access); me.Status != http.StatusOK {
		t.Errorf("me with the first token, not expired nor revoked: %d", me.Status)
	}
}

// TestAPIRefreshReuseRevokesTheFamily: a refresh token used again after
// the grace window is taken as stolen. The whole login ends: the newest
// refresh token and the access tokens are refused too.
// TestConfigTokenLeeway: a zero Config.TokenLeeway is token.DefaultLeeway,
// a negative one none: an access token is accepted until its expiry plus
// the leeway, and answered 401 from then on.
func TestConfigTokenLeeway(t *testing.T) {
	const lifetime = time.Minute
	tests := []struct {
		name   string
		leeway time.Duration
		after  time.Duration // since the token was issued
		want   int
	}{
		{"zero, within the default leeway", 0, lifetime + token.DefaultLeeway - time.Second, http.StatusOK},
		{"zero, past the default leeway", 0, lifetime + token.DefaultLeeway + time.Second, http.StatusUnauthorized},
		{"negative, before expiry", -1, lifetime - time.Second, http.StatusOK},
		{"negative, just past expiry", -1, lifetime + time.Second, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWTFixture(t, server.Config{AccessTokenLifetime: lifetime, TokenLeeway: tt.leeway})
			newBrowser(t, f.url).register("lee", "password one")
			access, _ := apiLogin(t, f.url, "lee", "password one")
			f.clock.Advance(tt.after)
			if r := api(t, f.url, "GET", "/api/me", "", access); r.Status != tt.want {
				t.Errorf("GET /api/me %v after login: %d, want %d", tt.after, r.Status, tt.want)
			}
		})
	}
}

func TestAPIRefreshReuseRevokesTheFamily(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("bob", "password two")
	_, refresh := apiLogin(t, f.url, "bob", "password two")
	r := apiRefresh(t, f.url, refresh)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	access2, refresh2 := r.JSON["access_token"].(string), r.JSON["refresh_token"].(string)

	// Within the grace window, the spent token still works (two tabs).
	within := apiRefresh(t, f.url, refresh)
	if within.Status != http.StatusOK {
		t.Fatalf("reuse within the grace window: %d %s, want 200", within.Status, within.Body)
	}
	f.clock.Advance(11 * time.Second)
	wantInvalidToken(t, "reuse after the grace window", apiRefresh(t, f.url, refresh))
	wantInvalidToken(t, "the newest refresh token of the family", apiRefresh(t, f.url, refresh2))
	wantInvalidToken(t, "the grace-window token of the family", apiRefresh(t, f.url, within.JSON["refresh_token"].(string)))
	wantInvalidToken(t, "an access token of the family", api(t, f.url, "GET", "/api/me", "", access2))

	// Another login of the same user is not affected.
	other, _ := apiLogin(t, f.url, "bob", "password two")
	if me := api(t, f.url, "GET", "/api/me", "", other); me.Status != http.StatusOK {
		t.Errorf("a separate login after the revocation: %d", me.Status)
	}
}

// TestAPILogout: after logout, neither the access token nor the refresh
// token works, for any client.
func TestAPILogout(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("carol", "password three")
	access, refresh := apiLogin(t, f.url, "carol", "password three")
	if r := api(t, f.url, "POST", "/api/logout", "", access); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	wantInvalidToken(t, "access token after logout", api(t, f.url, "GET", "/api/me", "", access))
	wantInvalidToken(t, "refresh token after logout", apiRefresh(t, f.url, refresh))
	wantInvalidToken(t, "logout again", api(t, f.url, "POST", "/api/logout", "", access))
	if denied, _ := f.store.Denied(context.Background(), "jwt:"+claimsOf(t, access)["jti"].(string)); !denied {
		t.Error("the access token's jti is not on the deny list")
	}
}

// TestAPIBadRequests: bad input gets a clear 4xx as problem details.
func TestAPIBadRequests(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("dave", "password four")
	big := `{"username":"dave","password":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, path, contentType, body string
		want                          int
	}{
		{"form instead of JSON", "/api/login", "application/x-www-form-urlencoded", "username=dave&password=password+four", 415},
		{"no content type", "/api/login", "", `{"username":"dave","password":"password four"}`, 415},
		{"malformed JSON", "/api/login", "application/json", `{"username":"dave",`, 400},
		{"two objects", "/api/login", "application/json", `{"username":"dave","password":"password four"}{}`, 400},
		{"wrong types", "/api/login", "application/json", `{"username":1,"password":true}`, 400},
		{"missing password", "/api/login", "application/json", `{"username":"dave"}`, 400},
		{"invalid username", "/api/login", "application/json", `{"username":"d a v e","password":"password four"}`, 400},
		{"short password", "/api/login", "application/json", `{"username":"dave","password":"short"}`, 400},
		{"body over 64 KiB", "/api/login", "application/json", big, 413},
		{"JSON with charset", "/api/login", "application/json; charset=utf-8", `{"username":"dave","password":"password four"}`, 200},
		{"refresh without a token", "/api/refresh", "application/json", `{}`, 400},
		{"refresh with garbage", "/api/refresh", "application/json", `{"refresh_token":"garbage"}`, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.url+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			r := newBrowser(t, f.url).do(req)
			if r.Status != c.want {
				t.Fatalf("status %d, want %d (body %q)", r.Status, c.want, r.Body)
			}
			if c.want != 200 && r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", r.Header.Get("Content-Type"))
			}
		})
	}
}

// TestAPILoginFailuresLookAlike: an unknown user and a wrong password get
// the same status and body, so the API does not tell which names exist.
func TestAPILoginFailuresLookAlike(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("erin", "password five")
	unknown := api(t, f.url, "POST", "/api/login", `{"username":"nobody","password":"password five"}`, "")
	wrong := api(t, f.url, "POST", "/api/login", `{"username":"erin","password":"not the password"}`, "")
	if unknown.Status != http.StatusUnauthorized || wrong.Status != http.StatusUnauthorized {
		t.Fatalf("statuses %d and %d, want 401 for both", unknown.Status, wrong.Status)
	}
	if unknown.Body != wrong.Body {
		t.Errorf("bodies differ:\n%s\n%s", unknown.Body, wrong.Body)
	}
	if unknown.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

// TestAPIMeWithoutToken: no credentials is a 401 that asks for a Bearer
// token, without an error code (RFC 6750 section 3.1).
func TestAPIMeWithoutToken(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	for _, auth := range []string{"", "Basic ZGF2ZTpwYXNzd29yZA==", "Bearer", "Bearer    "} {
		req, _ := http.NewRequest("GET", f.url+"/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		r := newBrowser(t, f.url).do(req)
		if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != `Bearer realm="sessionkit"` {
			t.Errorf("Authorization %q: %d, WWW-Authenticate %q; want 401 and a Bearer challenge", auth, r.Status, r.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestJWKS: the public keys are published with a cache lifetime, and a
// service holding nothing but the JWKS verifies our access tokens.
func TestJWKS(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("frank", "password six")
	access, _ := apiLogin(t, f.url, "frank", "password six")

	r := newBrowser(t, f.url).get("/.well-known/jwks.json")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("JWKS: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("JWKS Cache-Control %q, want a max-age", cc)
	}
	for _, private := range []string{`"d"`, `"p"`, `"k"`} {
		if strings.Contains(r.Body, private) {
			t.Errorf("the JWKS holds private material %s: %s", private, r.Body)
		}
	}
	keys, err := token.ParseJWKS([]byte(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(keys, token.VerifierOptions{Issuer: "sessionkit", Audience: "sessionkit", Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), access)
	if err != nil || c.Subject != "frank" {
		t.Fatalf("verifying from the JWKS alone: %v (subject %q)", err, c.Subject)
	}
}

// TestAPICrossOrigin: a browser page on another site cannot log in or out
// through the API; the refusal is problem details like every API error.
func TestAPICrossOrigin(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("hana", "password eight")
	req, _ := http.NewRequest("POST", f.url+"/api/login", strings.NewReader(`{"username":"hana","password":"password eight"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	r := newBrowser(t, f.url).do(req)
	if r.Status != http.StatusForbidden || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("cross-origin API login: %d %q, want 403 problem+json", r.Status, r.Header.Get("Content-Type"))
	}
	if strings.Contains(r.Body, "access_token") {
		t.Error("the cross-origin login was answered with tokens")
	}
}
