package session

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RequireRecentAuth returns middleware for sensitive actions ("sudo
// mode": deleting an account, changing an e-mail address) that lets a
// request through only when its session's user proved who they are within
// maxAge (see Auth.Time and Session.SetAuth). Any other request, including
// one with no user, is sent (303 See Other) to reauthURL with a "next"
// query parameter saying where to come back after re-authenticating: the
// request's own path and query for GET and HEAD; for other methods, whose
// form cannot be replayed by a redirect, returnTo ("/" when empty).
//
// It must run inside Manager.Handler, which puts the session in the
// request. The re-authentication handler should check the user's password
// (or another proof) as a login does, throttled like one, call Renew and
// SetAuth with the new time, and redirect to a local "next".
func (m *Manager) RequireRecentAuth(maxAge time.Duration, reauthURL, returnTo string) func(http.Handler) http.Handler {
	if returnTo == "" {
		returnTo = "/"
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if From(r).Auth().Age(m.opts.Now()) <= maxAge {
				next.ServeHTTP(w, r)
				return
			}
			back := returnTo
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				back = r.URL.RequestURI()
			}
			sep := "?"
			if strings.Contains(reauthURL, "?") {
				sep = "&"
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, reauthURL+sep+"next="+url.QueryEscape(back), http.StatusSeeOther)
		})
	}
}
