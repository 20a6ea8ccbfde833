package server

import (
	"net/http"
	"net/url"
	"strings"
)

// nextPath returns the request's next parameter when it is a local path,
// and fallback otherwise. Only a path that starts with exactly one slash is
// local: "//host" and "/\host" are read by browsers as other sites, and a
// scheme or a control character is never followed.
func nextPath(r *http.Request, fallback string) string {
	next := r.URL.Query().Get("next")
	if !isLocalPath(next) {
		return fallback
	}
	return next
}

func isLocalPath(p string) bool {
	if len(p) == 0 || len(p) > 2048 || p[0] != '/' {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/")
}

// loginAction is where a login form posts: path, keeping a valid next
// parameter of the request that showed the form.
func loginAction(path string, r *http.Request) string {
	next := r.URL.Query().Get("next")
	if !isLocalPath(next) {
		return path
	}
	return path + "?next=" + url.QueryEscape(next)
}

// redirectWithNext answers 303 to path (a mode's login page, "/jwt/refresh")
// with next, the local path to come back to afterwards, as its query.
func redirectWithNext(w http.ResponseWriter, r *http.Request, path, next string) {
	http.Redirect(w, r, path+"?next="+url.QueryEscape(next), http.StatusSeeOther)
}
