package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// A plain net/http application: the Manager's middleware wraps the whole
// mux, so every handler has its session; a middleware of the application's
// own guards the pages that need a login. Logout deletes the record, so a
// copy of the cookie taken before it no longer works.
func Example_netHTTP() {
	st := memstore.New(memstore.Options{}) // or sqlitestore, redisstore, pgstore
	defer st.Close()
	mgr, err := session.New(st, session.Options{IdleTimeout: 30 * time.Minute, Lifetime: 12 * time.Hour})
	if err != nil {
		fmt.Println(err)
		return
	}

	// requireUser sends a visitor who is not logged in to the login page.
	requireUser := func(next http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if session.From(r).User() == "" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			next(w, r)
		})
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("password") != "correct horse" { // check it with auth.Accounts
			http.Error(w, "invalid username or password", http.StatusUnauthorized)
			return
		}
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil { // a new token: no fixation
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s.SetUser(r.PostFormValue("username"))
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.Handle("GET /profile", requireUser(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		n := s.Increment("views", 1) // saved by compare-and-swap: no view is lost
		fmt.Fprintf(w, "welcome %s with the count: %d", s.User(), n)
	}))
	mux.Handle("POST /logout", requireUser(func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Destroy(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}))
	// http.ListenAndServe(addr, mgr.Handler(mux)) in a real program.
	srv := httptest.NewServer(mgr.Handler(mux))
	defer srv.Close()

	// A browser that keeps cookies and shows redirects instead of following
	// them.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	show := func(resp *http.Response, err error) {
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if loc := resp.Header.Get("Location"); loc != "" {
			fmt.Println(resp.StatusCode, "to", loc)
			return
		}
		fmt.Println(resp.StatusCode, string(body))
	}

	show(browser.Get(srv.URL + "/profile"))
	show(browser.PostForm(srv.URL+"/login", url.Values{"username": {"alice"}, "password": {"correct horse"}}))
	show(browser.Get(srv.URL + "/profile"))
	show(browser.Get(srv.URL + "/profile"))

	u, _ := url.Parse(srv.URL)
	stolen := jar.Cookies(u) // a copy of the session cookie, taken before logout
	show(browser.Post(srv.URL+"/logout", "", nil))

	replay, _ := http.NewRequest(http.MethodGet, srv.URL+"/profile", nil)
	for _, c := range stolen {
		replay.AddCookie(c)
	}
	show(http.DefaultTransport.RoundTrip(replay))
	// Output:
	// 303 to /login
	// 303 to /profile
	// 200 welcome alice with the count: 1
	// 200 welcome alice with the count: 2
	// 303 to /login
	// 303 to /login
}
