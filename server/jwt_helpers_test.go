package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Now()) }

// jwtFixture is a server on a memory store, both on one fake clock.
type jwtFixture struct {
	url   string
	store *memstore.Store
	clock *fakeclock.Clock
}

func newJWTFixture(t *testing.T, cfg server.Config) *jwtFixture {
	t.Helper()
	clk := newClock()
	st := memstore.New(memstore.Options{Now: clk.Now})
	t.Cleanup(func() { st.Close() })
	cfg.Now = clk.Now
	ts := newServer(t, st, cfg)
	return &jwtFixture{url: ts.URL, store: st, clock: clk}
}

// apiResponse is an API answer with its JSON body decoded.
type apiResponse struct {
	response
	JSON map[string]any
}

// api sends a request to the JSON API. body, when not empty, is sent as
// application/json; bearer, when not empty, as an Authorization header.
func api(t *testing.T, base, method, path, body, bearer string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	b := newBrowser(t, base)
	r := apiResponse{response: b.do(req)}
	if strings.Contains(r.Header.Get("Content-Type"), "json") && r.Body != "" {
		if err := json.Unmarshal([]byte(r.Body), &r.JSON); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, r.Body)
		}
	}
	return r
}

// apiLogin logs in through the API and returns the access and refresh
// tokens, failing the test otherwise.
func apiLogin(t *testing.T, base, user, pass string) (access, refresh string) {
	t.Helper()
	r := api(t, base, "POST", "/api/login", `{"username":"`+user+`","password":"`+pass+`"}`, "")
	if r.Status != http.StatusOK {
		t.Fatalf("API login %s: %d %s", user, r.Status, r.Body)
	}
	return r.JSON["access_token"].(string), r.JSON["refresh_token"].(string)
}

// apiRefresh spends a refresh token through the API.
func apiRefresh(t *testing.T, base, refresh string) apiResponse {
	t.Helper()
	return api(t, base, "POST", "/api/refresh", `{"refresh_token":"`+refresh+`"}`, "")
}

// wantInvalidToken checks an API answer is the 401 of RFC 6750 for a
// refused token, as problem details.
func wantInvalidToken(t *testing.T, what string, r apiResponse) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Errorf("%s: status %d, want 401 (body %q)", what, r.Status, r.Body)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	if wa := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer ") || !strings.Contains(wa, `error="invalid_token"`) {
		t.Errorf("%s: WWW-Authenticate %q, want Bearer with error=\"invalid_token\"", what, wa)
	}
}

// header decodes the JOSE header of a compact token.
func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// claimsOf decodes the payload of a compact token without checking it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// signingKey returns the server's newest signing key as the store keeps
// it, parsed, so a test can forge tokens the way an attacker who stole it
// (or a test of a single flaw) would.
func signingKey(t testing.TB, st *memstore.Store) jose.JSONWebKey {
	t.Helper()
	keys, err := st.Keys(context.Background(), token.DefaultKeyPurpose)
	if err != nil || len(keys) == 0 {
		t.Fatalf("no signing keys in the store: %v", err)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(keys[len(keys)-1].Secret); err != nil {
		t.Fatal(err)
	}
	return jwk
}
