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
	if err == nil {
		return u, true
	}
	switch status := loginRefused(w, err); status {
	case http.StatusTooManyRequests:
		form.Error = "Too many failed logins. Wait a while and try again."
		s.render(w, status, "login", title, form)
	case http.StatusUnauthorized:
		form.Error = "Invalid username or password."
		s.render(w, status, "login", title, form)
	case http.StatusBadRequest:
		form.Error = invalidInputMessage(err)
		s.render(w, status, "login", title, form)
	default:
		s.unavailable(w, r, "logging in", err)
	}
	return auth.Proof{}, false
}

// loginRefused tells how every kind of login (the forms, the API, a
// re-authentication) answers a password that auth.Accounts refused with
// err: it sets Retry-After on w when the login was throttled, and returns
// 429 (throttled), 401 (wrong username or password) or 400 (a username or
// password that cannot be valid). It returns 0 when err is no refusal: the
// store failed, and the caller answers 503.
func loginRefused(w http.ResponseWriter, err error) int {
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.FormatInt(throttled.Seconds(), 10))
		return http.StatusTooManyRequests
	case errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized
	case errors.Is(err, auth.ErrInvalidUsername), errors.Is(err, auth.ErrInvalidPassword):
		return http.StatusBadRequest
	}
	return 0
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
