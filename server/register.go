package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/sessionkit/sessionkit/auth"
)

// registerPage is the data of templates/register.html.
type registerPage struct {
	Username string
	Error    string
}

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "register", "Register", registerPage{})
}

// register creates an account: 303 to the start page on success, 400 for
// invalid input, 409 when the name is taken, 503 when the store fails.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	c, ferr := s.readCredentials(w, r)
	if ferr != nil {
		s.render(w, ferr.Status, "register", "Register", registerPage{Username: c.Username, Error: ferr.Message})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LoginTimeout)
	defer cancel()
	_, err := s.accounts.Register(ctx, c.Username, c.Password, s.clientAddr(r))
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.FormatInt(throttled.Seconds(), 10))
		s.log.WarnContext(r.Context(), "registration throttled", "client", s.clientAddr(r))
		s.render(w, http.StatusTooManyRequests, "register", "Register", registerPage{Username: c.Username, Error: "Too many attempts from your address. Wait a while and try again."})
	case err == nil:
		s.log.InfoContext(r.Context(), "account created", "user", c.Username, "client", s.clientAddr(r))
		http.Redirect(w, r, "/?registered=1", http.StatusSeeOther)
	case errors.Is(err, auth.ErrInvalidUsername), errors.Is(err, auth.ErrInvalidPassword):
		s.render(w, http.StatusBadRequest, "register", "Register", registerPage{Username: c.Username, Error: invalidInputMessage(err)})
	case errors.Is(err, auth.ErrUsernameTaken):
		s.render(w, http.StatusConflict, "register", "Register", registerPage{Username: c.Username, Error: "That username is taken. Choose another."})
	default:
		s.unavailable(w, r, "registering", err)
	}
}
