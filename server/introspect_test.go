package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
)

// introspectionSecret is the secret the introspection tests configure.
const introspectionSecret = "introspection secret+/%"

// introspect posts body (urlencoded) to /api/introspect with the given
// Authorization header ("" for none).
func introspect(t *testing.T, base, authorization, body string) apiResponse {
	t.Helper()
	return introspectQuery(t, base, "", authorization, body)
}

// introspectQuery is introspect with a query string ("?..." or "").
func introspectQuery(t *testing.T, base, query, authorization, body string) apiResponse {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/introspect"+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	r := apiResponse{response: newBrowser(t, base).do(req)}
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal([]byte(r.Body), &r.JSON); err != nil {
			t.Fatalf("introspection answer is not JSON: %q", r.Body)
		}
	}
	return r
}

// basic is an HTTP Basic Authorization header of id and secret as given.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// tokenForm is the urlencoded body asking about tok.
func tokenForm(tok string) string { return url.Values{"token": {tok}}.Encode() }

// sameJSON reports whether a decoded JSON object holds exactly want.
func sameJSON(got, want map[string]any) bool { return reflect.DeepEqual(got, want) }

// TestIntrospection walks POST /api/introspect (RFC 7662) through what a
// resource server may send it: client authentication first, then the
// token, which is active only while this server would accept it.
func TestIntrospection(t *testing.T) {
	good := basic("orders-service", introspectionSecret)
	inactive := map[string]any{"active": false}
	cases := []struct {
		name string
		// send makes what the row needs on the fixture and returns the
		// Authorization header and the body to send.
		send   func(t *testing.T, f *jwtFixture) (authorization, body string)
		status int
		// body, when not nil, is the whole JSON answer expected.
		body map[string]any
		// challenge: the answer must carry the Basic challenge.
		challenge bool
		// query is sent after the path.
		query string
	}{
		{name: "no client authentication", status: 401, challenge: true, body: map[string]any{"error": "invalid_client"},
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				access, _ := apiLogin(t, f.url, "alice", "password one")
				return "", tokenForm(access)
			}},
		{name: "wrong secret", status: 401, challenge: true, body: map[string]any{"error": "invalid_client"},
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				access, _ := apiLogin(t, f.url, "alice", "password one")
				return basic("orders-service", "introspection secret"), tokenForm(access)
			}},
		{name: "bearer instead of basic", status: 401, challenge: true, body: map[string]any{"error": "invalid_client"},
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				access, _ := apiLogin(t, f.url, "alice", "password one")
				return "Bearer " + access, tokenForm(access)
			}},
		{name: "missing token", status: 400, body: map[string]any{"error": "invalid_request"},
			send: func(*testing.T, *jwtFixture) (string, string) { return good, "token_type_hint=access_token" }},
		{name: "token in the query string only", status: 400, body: map[string]any{"error": "invalid_request"}, query: "?token=garbage",
			send: func(*testing.T, *jwtFixture) (string, string) { return good, "" }},
		{name: "garbage token", status: 200, body: inactive,
			send: func(*testing.T, *jwtFixture) (string, string) { return good, tokenForm("garbage.garbage.garbage") }},
		{name: "refresh token", status: 200, body: inactive,
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				_, refresh := apiLogin(t, f.url, "alice", "password one")
				return good, "token_type_hint=refresh_token&" + tokenForm(refresh)
			}},
		{name: "logged out", status: 200, body: inactive,
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				access, _ := apiLogin(t, f.url, "alice", "password one")
				if r := api(t, f.url, "POST", "/api/logout", "", access); r.Status != http.StatusNoContent {
					t.Fatalf("logout: %d", r.Status)
				}
				return good, tokenForm(access)
			}},
		{name: "logged out everywhere", status: 200, body: inactive,
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				access, _ := apiLogin(t, f.url, "alice", "password one")
				b := newBrowser(t, f.url)
				b.login("session", "alice", "password one")
				if r := b.post("/session/logout-all", nil); r.Status != http.StatusSeeOther {
					t.Fatalf("logout-all: %d", r.Status)
				}
				return good, tokenForm(access)
			}},
		{name: "account deleted", status: 200, body: inactive,
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				other, _ := apiLogin(t, f.url, "alice", "password one")
				access, _ := apiLogin(t, f.url, "alice", "password one")
				if r := api(t, f.url, "DELETE", "/api/me", "", access); r.Status != http.StatusNoContent {
					t.Fatalf("deleting the account: %d %s", r.Status, r.Body)
				}
				return good, tokenForm(other)
			}},
		{name: "expired", status: 200, body: inactive,
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				access, _ := apiLogin(t, f.url, "alice", "password one")
				f.clock.Advance(16 * time.Minute)
				return good, tokenForm(access)
			}},
		{name: "deny-listed", status: 200, body: inactive,
			send: func(t *testing.T, f *jwtFixture) (string, string) {
				access, _ := apiLogin(t, f.url, "alice", "password one")
				jti := claimsOf(t, access)["jti"].(string)
				if err := f.store.Deny(context.Background(), "jwt:"+jti, f.clock.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				return good, tokenForm(access)
			}},
		{name: "body over 64 KiB", status: 413,
			send: func(*testing.T, *jwtFixture) (string, string) {
				return good, tokenForm(strings.Repeat("A", 70<<10))
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newJWTFixture(t, server.Config{IntrospectionSecret: introspectionSecret})
			newBrowser(t, f.url).register("alice", "password one")
			authorization, body := c.send(t, f)
			r := introspectQuery(t, f.url, c.query, authorization, body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d (body %q)", r.Status, c.status, r.Body)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if got := r.Header.Get("WWW-Authenticate"); c.challenge != (got == `Basic realm="introspection"`) {
				t.Errorf("WWW-Authenticate %q (want the Basic challenge: %v)", got, c.challenge)
			}
			if c.body != nil && !sameJSON(r.JSON, c.body) {
				t.Errorf("answer %s, want %v", r.Body, c.body)
			}
		})
	}
}

// TestIntrospectionActive: an active token is described with what its
// claims say, and the calling client's id; the same token after logout is
// inactive. The secret is accepted as sent and form-encoded (RFC 6749
// section 2.3.1), the client id decoded.
func TestIntrospectionActive(t *testing.T) {
	f := newJWTFixture(t, server.Config{IntrospectionSecret: introspectionSecret})
	newBrowser(t, f.url).register("Alice", "password one")
	access, _ := apiLogin(t, f.url, "alice", "password one")
	claims := claimsOf(t, access)
	for _, authorization := range []string{
		basic("orders service", introspectionSecret),
		basic("orders+service", url.QueryEscape(introspectionSecret)),
	} {
		r := introspect(t, f.url, authorization, tokenForm(access))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: status %d (%s)", authorization, r.Status, r.Body)
		}
		want := map[string]any{
			"active":     true,
			"token_type": "Bearer",
			"client_id":  "orders service",
			"username":   "Alice",
			"sub":        "Alice",
			"sid":        claims["sid"],
			"jti":        claims["jti"],
			"iss":        "sessionkit",
			"aud":        []any{"sessionkit"},
			"exp":        claims["exp"],
			"iat":        claims["iat"],
			"nbf":        claims["nbf"],
			"auth_time":  claims["auth_time"],
		}
		if claims["auth_time"] == nil || claims["exp"] == nil {
			t.Fatalf("test bug: the token lacks auth_time or exp: %v", claims)
		}
		if !sameJSON(r.JSON, want) {
			t.Errorf("answer %s,\nwant %v", r.Body, want)
		}
	}
	if r := api(t, f.url, "POST", "/api/logout", "", access); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.Status)
	}
	if r := introspect(t, f.url, basic("orders service", introspectionSecret), tokenForm(access)); !sameJSON(r.JSON, map[string]any{"active": false}) {
		t.Errorf("after logout: %d %s, want inactive", r.Status, r.Body)
	}
}

// TestIntrospectionUnavailable: with the store down the answer is 503,
// never "inactive" (the token may well be active) and never 500.
func TestIntrospectionUnavailable(t *testing.T) {
	f := newJWTFixture(t, server.Config{IntrospectionSecret: introspectionSecret})
	newBrowser(t, f.url).register("alice", "password one")
	access, _ := apiLogin(t, f.url, "alice", "password one")
	down := newServer(t, failingSessions{failingStore{f.store}}, server.Config{Now: f.clock.Now, IntrospectionSecret: introspectionSecret})
	r := introspect(t, down.URL, basic("svc", introspectionSecret), tokenForm(access))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("store down: %d %s, want 503 with Retry-After", r.Status, r.Body)
	}
	if r := introspect(t, f.url, basic("svc", introspectionSecret), tokenForm(access)); r.JSON["active"] != true {
		t.Errorf("with the store up: %d %s, want active", r.Status, r.Body)
	}
}

// TestIntrospectionDisabled: without a secret the endpoint does not exist,
// for any method and any credentials; with one, only POST is allowed.
func TestIntrospectionDisabled(t *testing.T) {
	off := newJWTFixture(t, server.Config{})
	on := newJWTFixture(t, server.Config{IntrospectionSecret: introspectionSecret})
	for _, c := range []struct {
		name   string
		url    string
		method string
		want   int
	}{
		{"disabled, POST", off.url, "POST", http.StatusNotFound},
		{"disabled, GET", off.url, "GET", http.StatusNotFound},
		{"enabled, GET", on.url, "GET", http.StatusMethodNotAllowed},
		{"enabled, POST", on.url, "POST", http.StatusOK},
	} {
		req, err := http.NewRequest(c.method, c.url+"/api/introspect", strings.NewReader(tokenForm("garbage")))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic("svc", introspectionSecret))
		if r := newBrowser(t, c.url).do(req); r.Status != c.want {
			t.Errorf("%s: %d, want %d", c.name, r.Status, c.want)
		}
	}
}

// TestIntrospectionSecretTooShort: the endpoint has no throttle, so a
// secret short enough to guess is refused at start.
func TestIntrospectionSecretTooShort(t *testing.T) {
	short := strings.Repeat("s", server.MinIntrospectionSecret-1)
	if _, err := server.New(context.Background(), newMem(t), server.Config{IntrospectionSecret: short, PasswordParams: cheapParams}); err == nil {
		t.Errorf("New with a %d-byte introspection secret succeeded", len(short))
	}
	newServer(t, newMem(t), server.Config{IntrospectionSecret: strings.Repeat("s", server.MinIntrospectionSecret)})
}
