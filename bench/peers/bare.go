package peers

import (
	"net/http"
	"sync/atomic"
)

// newBare is the profile page without sessions: every request counts in
// one shared counter and is answered as the test user. It is the floor
// every other server is measured against. /login only redirects.
func newBare(page *Page) http.Handler {
	var count atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		page.Write(w, r, TestUser, count.Add(1))
	})
	return mux
}
