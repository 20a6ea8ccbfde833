package peers

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// bareUserCookie names the user on the bare handler: a plain cookie, set
// by its login, that anyone could forge.
const bareUserCookie = "user"

// newBare is the profile page without sessions, the floor every other
// server is measured against: the same page with the same headers,
// rendered the same way, and nothing else. Its login checks no password
// and sets a plain cookie with the name, which the pages read back
// (without one, a request is the test user's), so that each user's page
// carries that user's name, as on every other server; each name's views
// are counted in an atomic counter of its own, from zero at each login.
// /register accepts anything.
func newBare(page *Page) http.Handler {
	var counts sync.Map // user name → *atomic.Int64
	counter := func(r *http.Request) (string, *atomic.Int64) {
		user := TestUser
		if c, err := r.Cookie(bareUserCookie); err == nil && c.Value != "" {
			user = c.Value
		}
		if n, ok := counts.Load(user); ok {
			return user, n.(*atomic.Int64)
		}
		n, _ := counts.LoadOrStore(user, new(atomic.Int64))
		return user, n.(*atomic.Int64)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		redirect(w, r, "/")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user, _, ok := readForm(w, r)
		if !ok {
			return
		}
		counts.Store(user, new(atomic.Int64)) // the count starts again, as on every server
		http.SetCookie(w, &http.Cookie{Name: bareUserCookie, Value: user, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		redirect(w, r, "/profile")
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		user, n := counter(r)
		page.Write(w, r, user, n.Add(1))
	})
	mux.HandleFunc("GET /profile/read", func(w http.ResponseWriter, r *http.Request) {
		user, n := counter(r)
		page.Write(w, r, user, n.Load())
	})
	return mux
}
