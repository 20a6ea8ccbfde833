package peers

import (
	"errors"
	"net/http"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// cookieLifetime is how long a cookie login lasts, as in sessionkit's
// cookie mode (seconds).
const cookieLifetime = 24 * 60 * 60

// newGorillaCookie is the tutorial's app on gorilla/sessions' CookieStore:
// the name and count live in the cookie, gob-encoded, encrypted with
// AES-256 and authenticated with HMAC-SHA256 (random keys made at start).
// The cookie is rewritten on every view. Over plain HTTP, as sessionkit
// does, the cookie is not Secure.
func newGorillaCookie(page *Page, acc *accounts) (http.Handler, error) {
	hashKey, blockKey := securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32)
	if hashKey == nil || blockKey == nil {
		return nil, errors.New("peers: no randomness for gorilla's keys")
	}
	st := sessions.NewCookieStore(hashKey, blockKey)
	st.Options.HttpOnly = true
	st.Options.Secure = false
	st.Options.SameSite = http.SameSiteLaxMode
	st.MaxAge(cookieLifetime)

	const name = "session"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /register", acc.register)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user, ok := acc.checkLogin(w, r)
		if !ok {
			return
		}
		// An undecodable old cookie is replaced by the new login.
		s, _ := st.Get(r, name)
		s.Values["user"] = user
		s.Values["count"] = int64(0)
		if err := s.Save(r, w); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		redirect(w, r, "/profile")
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		s, err := st.Get(r, name)
		user, _ := s.Values["user"].(string)
		if err != nil || user == "" {
			toLogin(w, r)
			return
		}
		count, _ := s.Values["count"].(int64)
		count++
		s.Values["count"] = count
		if err := s.Save(r, w); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		page.Write(w, r, user, count)
	})
	// The same page read-only: the cookie is opened, not rewritten.
	mux.HandleFunc("GET /profile/read", func(w http.ResponseWriter, r *http.Request) {
		s, err := st.Get(r, name)
		user, _ := s.Values["user"].(string)
		if err != nil || user == "" {
			toLogin(w, r)
			return
		}
		count, _ := s.Values["count"].(int64)
		page.Write(w, r, user, count)
	})
	return mux, nil
}
