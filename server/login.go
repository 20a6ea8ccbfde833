package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sessionkit/sessionkit/auth"
)

// loginPage is the data of templates/login.html.
type loginPage struct {
	Action        string // where the form posts, with its next parameter
	PasskeyFinish string // where a passkey login finishes, with next
	Username      string
	Error         string
}

// newLoginPage is the login form that posts to path ("/session/login"),
// with its passkey button finishing at the mode's passkey login
// ("/session/passkey/login"); both keep the request's next parameter.
func newLoginPage(path string, r *http.Request) loginPage {
	mode := strings.TrimSuffix(path, "/login")
	return loginPage{Action: loginAction(path, r), PasskeyFinish: loginAction(mode+"/passkey/login", r)}
}

// login reads and checks the login form. On failure it answers (400, 401,
// 413, 429 or 503, with the form again where that helps) and returns false.
func (s *Server) login(w http.ResponseWriter, r *http.Request, action, title string) (auth.Proof, bool) {
	form := newLoginPage(action, r)
	c, ferr := s.readCredentials(w, r)
	if ferr != nil {
		form.Username, form.Error = c.Username, ferr.Message
		s.render(w, ferr.Status, "login", title, form)
		return auth.Proof{}, false
	}
	form.Username = c.Username
	u, err := s.checkCredentials(r, c)
	var throttled *auth.ThrottledError
	switch {
	case err == nil:
		return u, true
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.FormatInt(throttled.Seconds(), 10))
		form.Error = "Too many failed logins. Wait a while and try again."
		s.render(w, http.StatusTooManyRequests, "login", title, form)
	case errors.Is(err, auth.ErrBadCredentials):
		form.Error = "Invalid username or password."
		s.render(w, http.StatusUnauthorized, "login", title, form)
	case errors.Is(err, auth.ErrInvalidUsername), errors.Is(err, auth.ErrInvalidPassword):
		form.Error = invalidInputMessage(err)
		s.render(w, http.StatusBadRequest, "login", title, form)
	default:
		s.unavailable(w, r, "logging in", err)
	}
	return auth.Proof{}, false
}

// checkCredentials checks a username and password within LoginTimeout,
// counting failures for throttling, and logs the outcome as a security
// event. Its errors are those of auth.Accounts.Login.
func (s *Server) checkCredentials(r *http.Request, c credentials) (auth.Proof, error) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LoginTimeout)
	defer cancel()
	client := s.clientAddr(r)
	u, err := s.accounts.Login(ctx, c.Username, c.Password, client)
	var throttled *auth.ThrottledError
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "login", "user", u.User.Name, "client", client)
	case errors.As(err, &throttled):
		s.log.WarnContext(r.Context(), "login throttled", "user", c.Username, "client", client)
	case errors.Is(err, auth.ErrBadCredentials):
		s.log.WarnContext(r.Context(), "login failed", "user", c.Username, "client", client)
	}
	s.metrics.login(modeOf(r), err)
	return u, err
}
