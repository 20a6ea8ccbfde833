package server

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/passkey"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// Passkeys (WebAuthn): a passkey logs in to each mode exactly as a password
// does, and proves who the user is for step-up. The ceremonies run in the
// browser through /static/passkey.js, the only script the server serves
// (pages stay script-free otherwise, under the same CSP); its state rides
// in a short-lived sealed cookie, single-use (see package passkey). The API
// runs the same ceremonies with the state in the JSON bodies.

//go:embed static/passkey.js
var passkeyJS []byte

// passkeyStateCookie holds a browser ceremony's sealed state between its
// begin and finish requests.
const passkeyStateCookie = "sk_passkey"

// Paths of the browser ceremonies.
const (
	passkeyLoginBegin    = "/passkey/login/begin"
	passkeyRegisterBegin = "/session/passkeys/begin"
)

func servePasskeyScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(passkeyJS)))
	w.Write(passkeyJS)
}

// setPasskeyState keeps a ceremony's sealed state in the browser until
// the ceremony's lifetime ends: HttpOnly, SameSite=Strict, and __Host- when
// cookies are Secure.
func (s *Server) setPasskeyState(w http.ResponseWriter, r *http.Request, state string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.Cookies.Name(passkeyStateCookie, r), Value: state, Path: "/",
		MaxAge: int(passkey.DefaultChallengeLifetime / time.Second), HttpOnly: true,
		Secure: s.cfg.Cookies.IsSecure(r), SameSite: http.SameSiteStrictMode,
	})
}

// takePasskeyState returns the browser's ceremony state and clears the
// cookie: a state is good for one finish, whatever its outcome. Two state
// cookies (one planted from a sibling domain beside ours) give none:
// finishing spends the state, so neither is tried, and the ceremony is
// refused as having no challenge.
func (s *Server) takePasskeyState(w http.ResponseWriter, r *http.Request) string {
	name := s.cfg.Cookies.Name(passkeyStateCookie, r)
	state := ""
	if values := cookieValues(r, name); len(values) == 1 {
		state = values[0]
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.Cookies.IsSecure(r), SameSite: http.SameSiteStrictMode,
	})
	return state
}

// writeOptions answers a ceremony's options, JSON that go-webauthn made.
func writeOptions(w http.ResponseWriter, options []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(options)))
	w.Write(options)
}

// redirectTo answers a browser ceremony that succeeded: the script goes
// where it says.
func (s *Server) redirectTo(w http.ResponseWriter, path string) {
	s.writeJSON(w, http.StatusOK, struct {
		Redirect string `json:"redirect"`
	}{path})
}

// passkeyFailed answers a passkey ceremony that did not succeed: 400 for
// a challenge or response that is not valid, 401 for a passkey that logs
// no one in, 409 for one already registered, 503 when the store failed.
func (s *Server) passkeyFailed(w http.ResponseWriter, r *http.Request, l passkey.Login, err error) {
	client := s.clientAddr(r)
	switch {
	case errors.Is(err, passkey.ErrChallenge):
		s.log.InfoContext(r.Context(), "passkey challenge refused", "client", client)
		s.problem(w, http.StatusBadRequest, "the passkey challenge is missing, expired or already used; start again")
	case errors.Is(err, passkey.ErrInvalidResponse):
		s.log.WarnContext(r.Context(), "passkey response refused", "reason", err.Error(), "client", client)
		s.problem(w, http.StatusBadRequest, "the passkey's answer is not valid for this site")
	case errors.Is(err, passkey.ErrSignCount):
		s.log.WarnContext(r.Context(), "passkey signature counter went backwards: login refused, the passkey may be cloned",
			"user", l.User.Name, "passkey", passkeyID(l.Passkey.ID), "client", client)
		s.problem(w, http.StatusUnauthorized, "this passkey was refused; use another way to log in")
	case errors.Is(err, passkey.ErrUnknownPasskey):
		s.log.InfoContext(r.Context(), "unknown passkey refused", "client", client)
		s.problem(w, http.StatusUnauthorized, "this passkey is not registered here (any more)")
	case errors.Is(err, passkey.ErrExists):
		s.problem(w, http.StatusConflict, "this passkey is already registered")
	default:
		s.apiUnavailable(w, r, "checking a passkey", err)
	}
}

// passkeyID is a passkey's id as pages and the API show it.
func passkeyID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// finishPasskeyLogin checks the browser's answer (the request's body)
// against the ceremony state and returns what it proves. Otherwise it
// answers (see passkeyFailed) and returns false.
func (s *Server) finishPasskeyLogin(w http.ResponseWriter, r *http.Request, state string, response []byte) (auth.Proof, bool) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	l, err := s.passkeys.FinishLogin(ctx, state, response)
	s.metrics.login(modeOf(r), err)
	if err != nil {
		s.passkeyFailed(w, r, l, err)
		return auth.Proof{}, false
	}
	s.log.InfoContext(r.Context(), "login", "user", l.User.Name, "method", "passkey", "client", s.clientAddr(r))
	return auth.Proof{User: l.User, AuthTime: l.Time}, true
}

// browserPasskeyLogin is finishPasskeyLogin for a browser: the state from
// its cookie, the answer from the body.
func (s *Server) browserPasskeyLogin(w http.ResponseWriter, r *http.Request) (auth.Proof, bool) {
	state := s.takePasskeyState(w, r)
	var body json.RawMessage
	if !s.readJSON(w, r, &body) {
		return auth.Proof{}, false
	}
	return s.finishPasskeyLogin(w, r, state, body)
}

// passkeyLoginBegin starts a browser's passkey login, for any mode: the
// options for navigator.credentials.get(), the state in a cookie.
func (s *Server) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	options, state, err := s.passkeys.BeginLogin(r.Context())
	if err != nil {
		s.apiUnavailable(w, r, "starting a passkey login", err)
		return
	}
	s.setPasskeyState(w, r, state)
	writeOptions(w, options)
}

// sessionPasskeyLogin finishes a passkey login into session mode, as
// sessionLogin does after a password.
func (s *Server) sessionPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.browserPasskeyLogin(w, r)
	if !ok {
		return
	}
	if err := s.startSession(r, p); err != nil {
		s.apiUnavailable(w, r, "renewing the session", err)
		return
	}
	s.redirectTo(w, nextPath(r, "/session/profile"))
	s.sessionStarted(r)
}

// cookiePasskeyLogin finishes a passkey login into cookie mode.
func (s *Server) cookiePasskeyLogin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.browserPasskeyLogin(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	if err := s.startCookieMode(ctx, w, r, p); err != nil {
		if errors.Is(err, errSealing) {
			s.problem(w, http.StatusInternalServerError, "the login cookie could not be sealed")
			return
		}
		s.apiUnavailable(w, r, "starting a login", err)
		return
	}
	s.redirectTo(w, nextPath(r, "/cookie/profile"))
}

// jwtPasskeyLogin finishes a passkey login into JWT mode.
func (s *Server) jwtPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.browserPasskeyLogin(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	if err := s.startJWTMode(ctx, w, r, p); err != nil {
		s.apiUnavailable(w, r, "starting a login", err)
		return
	}
	s.redirectTo(w, nextPath(r, jwtProfile))
}

// reauthPasskey is the step-up with a passkey: the passkey must be one of
// the session's account, and proves who the user is as the password does
// on the re-authentication page.
func (s *Server) reauthPasskey(w http.ResponseWriter, r *http.Request) {
	ss := session.From(r)
	if ss.User() == "" {
		s.takePasskeyState(w, r)
		s.problem(w, http.StatusUnauthorized, "log in first")
		return
	}
	p, ok := s.browserPasskeyLogin(w, r)
	if !ok {
		return
	}
	if p.User.ID != ss.Auth().AccountID {
		s.log.WarnContext(r.Context(), "step-up with another account's passkey refused", "user", ss.User(),
			"passkey_user", p.User.Name, "client", s.clientAddr(r))
		s.problem(w, http.StatusForbidden, "that passkey belongs to another account")
		return
	}
	if err := ss.Renew(r.Context()); err != nil {
		s.apiUnavailable(w, r, "renewing the session", err)
		return
	}
	ss.SetAuth(session.Auth{User: p.User.Name, AccountID: p.User.ID, Time: p.AuthTime})
	s.redirectTo(w, nextPath(r, accountPath))
}

// errAccountGone reports a login whose account no longer exists, or is
// another account of the same name.
var errAccountGone = errors.New("the login's account is gone")

// liveAccount returns the account named name whose ID is accountID, or
// errAccountGone, or the store's error.
func (s *Server) liveAccount(r *http.Request, name, accountID string) (store.User, error) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	u, err := s.backend.User(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && u.ID != accountID):
		return store.User{}, errAccountGone
	case err != nil:
		return store.User{}, err
	}
	return u, nil
}

// sessionAccount returns the account of the request's session. When the
// session has no user, or its account is gone, it answers 401 (or 503)
// and returns false.
func (s *Server) sessionAccount(w http.ResponseWriter, r *http.Request) (store.User, *session.Session, bool) {
	ss := session.From(r)
	if ss.User() == "" {
		s.problem(w, http.StatusUnauthorized, "log in first")
		return store.User{}, nil, false
	}
	u, err := s.liveAccount(r, ss.User(), ss.Auth().AccountID)
	switch {
	case errors.Is(err, errAccountGone):
		s.problem(w, http.StatusUnauthorized, "this login's account is gone")
		return store.User{}, nil, false
	case err != nil:
		s.apiUnavailable(w, r, "reading the account", err)
		return store.User{}, nil, false
	}
	return u, ss, true
}

// sessionBinding is what a registration begun in a session is bound to:
// the session's id, so that its state is refused in any other session.
func sessionBinding(ss *session.Session) string {
	id, _ := ss.ID()
	return "session:" + id.String()
}

// passkeyRegisterBeginHandler starts adding a passkey to the session's
// account. It runs behind RequireRecentAuth.
func (s *Server) passkeyRegisterBeginHandler(w http.ResponseWriter, r *http.Request) {
	u, ss, ok := s.sessionAccount(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	options, state, err := s.passkeys.BeginRegistration(ctx, u, sessionBinding(ss))
	if err != nil {
		s.apiUnavailable(w, r, "starting a passkey registration", err)
		return
	}
	s.setPasskeyState(w, r, state)
	writeOptions(w, options)
}

// registration is the body that finishes a registration: the passkey's
// name and the browser's answer.
type registration struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
	State      string          `json:"state"` // the API's; browsers use the cookie
}

// readRegistration reads a registration body, naming the passkey
// "Passkey" when the user gave no name. Otherwise it answers 4xx and
// returns false.
func (s *Server) readRegistration(w http.ResponseWriter, r *http.Request) (registration, bool) {
	var reg registration
	if !s.readJSON(w, r, &reg) {
		return reg, false
	}
	if reg.Name == "" {
		reg.Name = "Passkey"
	}
	if !passkey.ValidName(reg.Name) {
		s.problem(w, http.StatusBadRequest, "a passkey's name is 1 to 64 printable characters")
		return reg, false
	}
	if len(reg.Credential) == 0 {
		s.problem(w, http.StatusBadRequest, "credential is required")
		return reg, false
	}
	return reg, true
}

// passkeyRegister finishes adding a passkey to the session's account.
func (s *Server) passkeyRegister(w http.ResponseWriter, r *http.Request) {
	state := s.takePasskeyState(w, r)
	u, ss, ok := s.sessionAccount(w, r)
	if !ok {
		return
	}
	reg, ok := s.readRegistration(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	p, err := s.passkeys.FinishRegistration(ctx, u, sessionBinding(ss), state, reg.Credential, reg.Name)
	if err != nil {
		s.passkeyFailed(w, r, passkey.Login{}, err)
		return
	}
	s.log.InfoContext(r.Context(), "passkey added", "user", u.Name, "passkey", passkeyID(p.ID), "client", s.clientAddr(r))
	s.redirectTo(w, accountPath+"?done=passkey")
}

// passkeyRow is one passkey on the account page.
type passkeyRow struct {
	ID       string
	Name     string
	Created  time.Time
	LastUsed time.Time
}

func passkeyRows(ps []store.Passkey) []passkeyRow {
	rows := make([]passkeyRow, len(ps))
	for i, p := range ps {
		rows[i] = passkeyRow{ID: passkeyID(p.ID), Name: p.Name, Created: p.Created, LastUsed: p.LastUsed}
	}
	return rows
}

// passkeyForm reads the account page's rename or remove form: the
// passkey's id, and its new name when rename is set. Otherwise it answers
// 4xx and returns false.
func (s *Server) passkeyForm(w http.ResponseWriter, r *http.Request, ss *session.Session, rename bool) (id []byte, name string, ok bool) {
	form, ferr := s.readForm(w, r)
	if ferr != nil {
		s.renderAccount(w, r, ss, ferr.Status, accountPage{Error: ferr.Message})
		return nil, "", false
	}
	id, err := base64.RawURLEncoding.DecodeString(form.Get("id"))
	if err != nil || len(id) == 0 {
		s.renderMessage(w, http.StatusBadRequest, "Bad request", "That is not a passkey id from your account page.")
		return nil, "", false
	}
	name = form.Get("name")
	if rename && !passkey.ValidName(name) {
		s.renderAccount(w, r, ss, http.StatusBadRequest, accountPage{PasskeyError: "A passkey's name is 1 to 64 printable characters."})
		return nil, "", false
	}
	return id, name, true
}

// renamePasskey renames one of the session account's passkeys.
func (s *Server) renamePasskey(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	id, name, ok := s.passkeyForm(w, r, ss, true)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	err := s.backend.RenamePasskey(ctx, ss.Auth().AccountID, id, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderMessage(w, http.StatusNotFound, "No such passkey", "No passkey of yours has that id; it may have been removed.")
	case err != nil:
		s.unavailable(w, r, "renaming the passkey", err)
	default:
		http.Redirect(w, r, accountPath+"?done=renamed", http.StatusSeeOther)
	}
}

// removePasskey removes one of the session account's passkeys: it logs no
// one in from then on.
func (s *Server) removePasskey(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	id, _, ok := s.passkeyForm(w, r, ss, false)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	err := s.backend.DeletePasskey(ctx, ss.Auth().AccountID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderMessage(w, http.StatusNotFound, "No such passkey", "No passkey of yours has that id; it may have been removed already.")
	case err != nil:
		s.unavailable(w, r, "removing the passkey", err)
	default:
		s.log.InfoContext(r.Context(), "passkey removed", "user", ss.User(), "passkey", passkeyID(id), "client", s.clientAddr(r))
		http.Redirect(w, r, accountPath+"?done=removed", http.StatusSeeOther)
	}
}
