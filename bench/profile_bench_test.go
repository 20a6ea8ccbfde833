package bench_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/bench/peers"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
	"github.com/sessionkit/sessionkit/token"
)

// app is one server of the comparison, built for a benchmark or test.
type app struct {
	name  string
	build func(testing.TB, *peers.Page) http.Handler
}

// apps lists sessionkit's middleware and its peers', in-process. Every one
// writes the same page; scs with Redis is left to the load script (its
// cost is the network round trips, which httptest does not show).
func apps() []app {
	peer := func(kind string) func(testing.TB, *peers.Page) http.Handler {
		return func(tb testing.TB, _ *peers.Page) http.Handler {
			p, err := peers.New(kind, peers.Options{})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { p.Close() })
			return p
		}
	}
	tokens := func(alg token.Algorithm, deny bool) func(testing.TB, *peers.Page) http.Handler {
		return func(tb testing.TB, page *peers.Page) http.Handler { return tokenApp(tb, alg, deny, page) }
	}
	return []app{
		{"bare", peer(peers.Bare)},
		{"sessionkit-session-memstore", func(tb testing.TB, page *peers.Page) http.Handler {
			st := memstore.New(memstore.Options{})
			tb.Cleanup(func() { st.Close() })
			return sessionApp(st, page)
		}},
		{"sessionkit-session-sqlitestore", func(tb testing.TB, page *peers.Page) http.Handler {
			st, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "bench.db"), sqlitestore.Options{})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			return sessionApp(st, page)
		}},
		{"scs-mem", peer(peers.SCSMem)},
		{"sessionkit-cookie", cookieApp},
		{"gorilla-cookie", peer(peers.GorillaCookie)},
		{"sessionkit-token-hs256", tokens(token.HS256, false)},
		{"sessionkit-token-hs256-denylist", tokens(token.HS256, true)},
		{"golang-jwt-hs256", peer(peers.GolangJWTHS256)},
		{"sessionkit-token-eddsa", tokens(token.EdDSA, false)},
		{"sessionkit-token-eddsa-denylist", tokens(token.EdDSA, true)},
		{"golang-jwt-eddsa", peer(peers.GolangJWTEdDSA)},
	}
}

// login posts the test account's credentials to h and returns the
// cookies it set.
func login(tb testing.TB, h http.Handler) []*http.Cookie {
	tb.Helper()
	form := url.Values{"username": {peers.TestUser}, "password": {peers.TestPassword}}
	r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/profile" {
		tb.Fatalf("login: %d to %q", w.Code, w.Header().Get("Location"))
	}
	return w.Result().Cookies()
}

// profileRequest is a GET /profile carrying cookies.
func profileRequest(cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/profile", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// BenchmarkProfile measures one GET /profile through each middleware, in
// process: a logged-in user's view is counted and the page written. The
// request carries the cookies of the login; the sealed-cookie apps rewrite
// theirs on every view, as under wrk.
func BenchmarkProfile(b *testing.B) {
	page, err := peers.NewPage()
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range apps() {
		b.Run(a.name, func(b *testing.B) {
			h := a.build(b, page)
			r := profileRequest(login(b, h))
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// Every app of the benchmarks counts views from the login on and writes
// the peers' page: the benchmarks measure the same work.
func TestAppsCountAndWriteThePage(t *testing.T) {
	page, err := peers.NewPage()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps() {
		t.Run(a.name, func(t *testing.T) {
			h := a.build(t, page)
			cookies := login(t, h)
			for view := 1; view <= 2; view++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, profileRequest(cookies))
				want := "welcome bench with the count: " + string(rune('0'+view)) + "</p>"
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
					t.Fatalf("view %d: %d, page without %q", view, w.Code, want)
				}
				if len(w.Result().Cookies()) > 0 {
					cookies = w.Result().Cookies() // a rewritten cookie carries the count
				}
			}
		})
	}
}
