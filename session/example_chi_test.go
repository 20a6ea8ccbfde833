package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// With chi: Manager.Handler is a chi middleware as it is
// (func(http.Handler) http.Handler), so router.Use gives every route its
// session, and handlers read chi's route parameters as usual. A visitor's
// values survive login: Renew moves them to a new token.
func Example_chi() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	mgr, err := session.New(st, session.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}

	r := chi.NewRouter()
	r.Use(mgr.Handler)

	// Anyone may read articles; the session counts each one's reads.
	r.Get("/articles/{slug}", func(w http.ResponseWriter, r *http.Request) {
		slug := chi.URLParam(r, "slug")
		n := session.From(r).Increment("read:"+slug, 1)
		fmt.Fprintf(w, "%s, read %d times", slug, n)
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		// (check the password first)
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s.SetUser("alice")
		http.Redirect(w, r, "/account/", http.StatusSeeOther)
	})
	// The account pages need a login.
	r.Route("/account", func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if session.From(r).User() == "" {
					http.Error(w, "log in first", http.StatusUnauthorized)
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			n, _ := session.Get[int64](s, "read:sessions")
			fmt.Fprintf(w, "%s, you read sessions %d times", s.User(), n)
		})
	})

	srv := httptest.NewServer(r)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar} // follows the login's redirect
	for _, step := range []struct{ method, path string }{
		{"GET", "/articles/sessions"},
		{"GET", "/articles/sessions"},
		{"GET", "/articles/cookies"},
		{"GET", "/account/"},
		{"POST", "/login"},
	} {
		req, _ := http.NewRequest(step.method, srv.URL+step.path, nil)
		resp, err := browser.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %s: %d %s\n", step.method, step.path, resp.StatusCode, strings.TrimSuffix(string(body), "\n"))
	}
	// Output:
	// GET /articles/sessions: 200 sessions, read 1 times
	// GET /articles/sessions: 200 sessions, read 2 times
	// GET /articles/cookies: 200 cookies, read 1 times
	// GET /account/: 401 log in first
	// POST /login: 200 alice, you read sessions 2 times
}
