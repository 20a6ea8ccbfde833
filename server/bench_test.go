package server_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// BenchmarkAPIMe measures GET /api/me through the whole server (request
// log, cross-origin check, security headers, routing) on a memory store:
// signature and claims, the deny list, and the login's family. Compare
// with BenchmarkGolangJWTMe, the same answer from golang-jwt alone.
func BenchmarkAPIMe(b *testing.B) {
	srv, _ := newBenchServer(b)
	access := benchLogin(b, srv)
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkGolangJWTMe is /api/me written with golang-jwt directly: parse
// and verify the same EdDSA token with the same claim checks, answer the
// subject as JSON. It has no revocation, no request log and no middleware:
// it is the floor our path is compared with.
func BenchmarkGolangJWTMe(b *testing.B) {
	srv, st := newBenchServer(b)
	access := benchLogin(b, srv)
	key := signingKey(b, st)
	pub := key.Key.(ed25519.PrivateKey).Public()
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("sessionkit"),
		jwt.WithAudience("sessionkit"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	keyfunc := func(*jwt.Token) (any, error) { return pub, nil }
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var claims jwt.RegisteredClaims
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, err := parser.ParseWithClaims(tok, &claims, keyfunc); err != nil {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		body, _ := json.Marshal(struct {
			Username string `json:"username"`
		}{claims.Subject})
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkProfile measures one view of each mode's profile page through
// the whole server on a memory store, with the cookies of one login, as
// wrk sends them: session (read and compare-and-swap of the session),
// cookie (open, deny list, seal again) and JWT (EdDSA, or HS256 in the
// "jwt-HS256" case: verify, deny list, count in the login's family).
func BenchmarkProfile(b *testing.B) {
	for _, mode := range []struct{ name, path string }{
		{"session", "/session/profile"},
		{"cookie", "/cookie/profile"},
		{"jwt", "/jwt/profile"},
		{"jwt-HS256", "/jwt/profile"},
	} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := server.Config{}
			if mode.name == "jwt-HS256" {
				cfg.TokenAlgorithm = "HS256"
			}
			srv, _ := newBenchServerConfig(b, cfg)
			cookies := benchBrowserLogin(b, srv, strings.Split(mode.path, "/")[1])
			benchViews(b, srv, profileRequest(mode.path, cookies))
		})
	}
}

// profileRequest is a GET of path carrying cookies.
func profileRequest(path string, cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// benchViews serves reqs in turn, one per iteration, each of which must
// answer 200.
func benchViews(b *testing.B, srv http.Handler, reqs ...*http.Request) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, reqs[i%len(reqs)])
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		i++
	}
}

// benchBrowserLogin registers an account and logs in to mode's form, in
// process, and returns the cookies the login set.
func benchBrowserLogin(b *testing.B, srv *server.Server, mode string) []*http.Cookie {
	b.Helper()
	return benchUserLogin(b, srv, "bench", mode)
}

// newBenchServer is a server on a memory store that logs to nowhere (it
// still formats every line).
func newBenchServer(b *testing.B) (*server.Server, *memstore.Store) {
	return newBenchServerConfig(b, server.Config{})
}

// newBenchServerConfig is newBenchServer with cfg's other settings.
func newBenchServerConfig(b *testing.B, cfg server.Config) (*server.Server, *memstore.Store) {
	b.Helper()
	st := memstore.New(memstore.Options{})
	b.Cleanup(func() { st.Close() })
	cfg.PasswordParams = cheapParams
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(context.Background(), st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return srv, st
}

// benchLogin registers an account and logs in through the API, in
// process, and returns the access token.
func benchLogin(b *testing.B, srv *server.Server) string {
	b.Helper()
	w := httptest.NewRecorder()
	reg := httptest.NewRequest("POST", "/register", strings.NewReader("username=bench&password=password+bench"))
	reg.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	srv.ServeHTTP(w, reg)
	if w.Code != http.StatusSeeOther {
		b.Fatalf("register: %d", w.Code)
	}
	w = httptest.NewRecorder()
	login := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"username":"bench","password":"password bench"}`))
	login.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(w, login)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.AccessToken == "" {
		b.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return body.AccessToken
}
