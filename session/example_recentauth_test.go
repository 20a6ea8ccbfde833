package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// Deleting the account asks for a password proved within the last five
// minutes ("sudo mode"): a session whose login is older is sent to
// re-authenticate first, and comes back to the page it asked for.
func ExampleManager_RequireRecentAuth() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := memstore.New(memstore.Options{Now: clock})
	defer st.Close()
	mgr, err := session.New(st, session.Options{Now: clock})
	if err != nil {
		fmt.Println(err)
		return
	}

	mux := http.NewServeMux()
	// login and reauth check the password first (auth.Accounts.Login),
	// and record what it proved.
	prove := func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s.SetAuth(session.Auth{User: "alice", AccountID: "the account's ID", Time: now})
		fmt.Fprint(w, "proved")
	}
	mux.HandleFunc("POST /login", prove)
	mux.HandleFunc("POST /reauth", prove)
	sudo := mgr.RequireRecentAuth(5*time.Minute, "/reauth", "/account")
	mux.Handle("GET /account/delete", sudo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "confirm the deletion of ", session.From(r).User())
	})))
	h := mgr.Handler(mux)

	// A browser, reduced to its session cookie.
	var cookie *http.Cookie
	visit := func(method, target string) {
		r := httptest.NewRequest(method, target, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
		if loc := w.Header().Get("Location"); loc != "" {
			fmt.Println(method, target, "→", w.Code, loc)
			return
		}
		fmt.Println(method, target, "→", w.Code, w.Body.String())
	}

	visit("POST", "/login")
	visit("GET", "/account/delete")
	now = now.Add(10 * time.Minute)
	visit("GET", "/account/delete")
	visit("POST", "/reauth")
	visit("GET", "/account/delete")
	// Output:
	// POST /login → 200 proved
	// GET /account/delete → 200 confirm the deletion of alice
	// GET /account/delete → 303 /reauth?next=%2Faccount%2Fdelete
	// POST /reauth → 200 proved
	// GET /account/delete → 200 confirm the deletion of alice
}
