package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sessionkit/sessionkit/auth"
)

// invalidInputMessage is the sentence shown for a username or password the
// auth package refuses.
func invalidInputMessage(err error) string {
	if errors.Is(err, auth.ErrInvalidUsername) {
		return "Usernames are 3 to 64 characters: letters, digits, dots, dashes or underscores."
	}
	return "Passwords are 8 to 1024 bytes long."
}

// unavailable answers 503 when a dependency (the store, a hashing slot)
// failed or was too slow, and logs why. The client did nothing wrong and
// nothing it sent was lost: it may retry.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, doing string, err error) {
	s.log.ErrorContext(r.Context(), "unavailable", "doing", doing, "err", err, "request_id", requestID(w))
	w.Header().Set("Retry-After", "1")
	s.renderMessage(w, http.StatusServiceUnavailable, "Service unavailable",
		"The server could not reach its storage in time. Nothing was changed; please try again in a moment.")
}

// crossOriginRefused answers a state-changing request that came from
// another origin.
func (s *Server) crossOriginRefused(w http.ResponseWriter, r *http.Request) {
	s.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "client", s.clientAddr(r))
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.problem(w, http.StatusForbidden, "cross-origin requests from browsers are refused")
		return
	}
	s.renderMessage(w, http.StatusForbidden, "Forbidden",
		"This request came from another site, so it was refused. Submit the form from this site instead.")
}
