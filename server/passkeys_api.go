package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/passkey"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// The API's passkey ceremonies: the same as the browser's, with the sealed
// state in the JSON bodies instead of a cookie. A login answers the token
// pair /api/login answers; adding a passkey needs a Bearer token whose
// auth_time is within the re-authentication window, like DELETE /api/me.

// ceremonyStart is the body of a begin: the options for the WebAuthn
// call, and the state to send back with its answer.
type ceremonyStart struct {
	Options json.RawMessage `json:"options"`
	State   string          `json:"state"`
}

// apiPasskeyLoginBegin starts a passkey login for a program.
func (s *Server) apiPasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	options, state, err := s.passkeys.BeginLogin(r.Context())
	if err != nil {
		s.apiUnavailable(w, r, "starting a passkey login", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, ceremonyStart{Options: options, State: state})
}

// apiPasskeyLogin finishes a passkey login: {state, credential} in, the
// token pair out.
func (s *Server) apiPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		State      string          `json:"state"`
		Credential json.RawMessage `json:"credential"`
	}
	if !s.readJSON(w, r, &body) {
		return
	}
	if body.State == "" || len(body.Credential) == 0 {
		s.problem(w, http.StatusBadRequest, "state and credential are both required")
		return
	}
	p, ok := s.finishPasskeyLogin(w, r, body.State, body.Credential)
	if !ok {
		return
	}
	s.startAPILogin(w, r, p)
}

// apiRecentLogin returns the claims of the Bearer token when its login
// proved who the user is within the re-authentication window. Otherwise it
// answers 401 (the RFC 9470 step-up challenge when the token is valid but
// its auth_time too old, saying what needs it) or 503, and returns false.
func (s *Server) apiRecentLogin(w http.ResponseWriter, r *http.Request, action string) (token.Claims, bool) {
	c, ok := s.apiAuthenticate(w, r)
	if !ok {
		return token.Claims{}, false
	}
	window := s.cfg.ReauthWindow
	if c.AuthTime.IsZero() || s.cfg.Now().Sub(c.AuthTime) > window {
		maxAge := int64(window / time.Second)
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(
			`Bearer realm="sessionkit", error="insufficient_user_authentication", error_description="log in again to %s", max_age=%d`, action, maxAge))
		s.problem(w, http.StatusUnauthorized, fmt.Sprintf("to %s, log in again (a login from the last %d seconds is needed) and retry", action, maxAge))
		return token.Claims{}, false
	}
	return c, true
}

// apiAccount returns the account of a token's claims, or answers 401 (the
// account is gone) or 503 and returns false.
func (s *Server) apiAccount(w http.ResponseWriter, r *http.Request, c token.Claims) (store.User, bool) {
	u, err := s.liveAccount(r, c.Subject, c.AccountID)
	switch {
	case errors.Is(err, errAccountGone):
		s.invalidToken(w, "the token's account is gone")
		return store.User{}, false
	case err != nil:
		s.apiUnavailable(w, r, "reading the account", err)
		return store.User{}, false
	}
	return u, true
}

// tokenBinding is what a registration begun with a token is bound to: its
// login (refresh family), so that its state is refused in any other.
func tokenBinding(c token.Claims) string { return "login:" + c.Session }

// apiPasskeyRegisterBegin starts adding a passkey to the token's account.
func (s *Server) apiPasskeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiRecentLogin(w, r, "add a passkey")
	if !ok {
		return
	}
	u, ok := s.apiAccount(w, r, c)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	options, state, err := s.passkeys.BeginRegistration(ctx, u, tokenBinding(c))
	if err != nil {
		s.apiUnavailable(w, r, "starting a passkey registration", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, ceremonyStart{Options: options, State: state})
}

// apiPasskey is a passkey as the API lists it.
type apiPasskey struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used,omitempty"`
}

func toAPIPasskey(p store.Passkey) apiPasskey {
	a := apiPasskey{ID: passkeyID(p.ID), Name: p.Name, Created: p.Created.UTC()}
	if !p.LastUsed.IsZero() {
		t := p.LastUsed.UTC()
		a.LastUsed = &t
	}
	return a
}

// apiPasskeyRegister finishes adding a passkey: {state, name, credential}
// in, 201 with the passkey out.
func (s *Server) apiPasskeyRegister(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiRecentLogin(w, r, "add a passkey")
	if !ok {
		return
	}
	reg, ok := s.readRegistration(w, r)
	if !ok {
		return
	}
	if reg.State == "" {
		s.problem(w, http.StatusBadRequest, "state is required")
		return
	}
	u, ok := s.apiAccount(w, r, c)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	p, err := s.passkeys.FinishRegistration(ctx, u, tokenBinding(c), reg.State, reg.Credential, reg.Name)
	if err != nil {
		s.passkeyFailed(w, r, passkey.Login{}, err)
		return
	}
	s.log.InfoContext(r.Context(), "passkey added", "mode", "api", "user", u.Name, "passkey", passkeyID(p.ID), "client", s.clientAddr(r))
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusCreated, toAPIPasskey(p))
}

// apiPasskeyList lists the token account's passkeys, oldest first.
func (s *Server) apiPasskeyList(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiAuthenticate(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	ps, err := s.backend.AccountPasskeys(ctx, c.AccountID)
	if err != nil {
		s.apiUnavailable(w, r, "listing passkeys", err)
		return
	}
	list := make([]apiPasskey, len(ps))
	for i, p := range ps {
		list[i] = toAPIPasskey(p)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, struct {
		Passkeys []apiPasskey `json:"passkeys"`
	}{list})
}

// apiPasskeyDelete removes one of the token account's passkeys: 204, or
// 404 when the account has no passkey of that id.
func (s *Server) apiPasskeyDelete(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiAuthenticate(w, r)
	if !ok {
		return
	}
	id, err := base64.RawURLEncoding.DecodeString(r.PathValue("id"))
	if err != nil || len(id) == 0 {
		s.problem(w, http.StatusNotFound, "no passkey of yours has that id")
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	switch err := s.backend.DeletePasskey(ctx, c.AccountID, id); {
	case errors.Is(err, store.ErrNotFound):
		s.problem(w, http.StatusNotFound, "no passkey of yours has that id")
	case err != nil:
		s.apiUnavailable(w, r, "removing the passkey", err)
	default:
		s.log.InfoContext(r.Context(), "passkey removed", "mode", "api", "user", c.Subject, "client", s.clientAddr(r))
		w.WriteHeader(http.StatusNoContent)
	}
}
