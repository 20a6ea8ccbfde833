package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// Account self-service, in session mode: the account page lists the user's
// logins of every kind with a revoke button each, changes the password
// (ending every other login), logs out everywhere else, and deletes the
// account after a recent re-authentication (step-up).

// DefaultReauthWindow is how recent a proof of identity deleting an
// account needs when Config leaves ReauthWindow zero.
const DefaultReauthWindow = 5 * time.Minute

const (
	accountPath = "/session/account"
	reauthPath  = "/session/reauth"
)

// sessionStands is the session manager's CheckAuth: whether a session's
// login still stands against its account.
func (s *Server) sessionStands(ctx context.Context, a session.Auth) (bool, error) {
	_, err := s.accounts.CheckLogin(ctx, a.User, a.AccountID, a.Time)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, auth.ErrLoginEnded):
		s.metrics.sessionsDestroyed(modeSession, endAccount, 1)
		return false, nil
	default:
		return false, err
	}
}

// listLogins returns the logins of the session's account, every kind.
func (s *Server) listLogins(ctx context.Context, ss *session.Session) ([]store.Record, error) {
	a := ss.Auth()
	u, err := s.backend.User(ctx, a.User)
	if err != nil {
		return nil, err
	}
	return s.accountLogins(ctx, u)
}

// accountPage is what the account page shows.
type accountPage struct {
	Username     string
	Logins       []sessionRow
	Passkeys     []passkeyRow
	Error        string // about the password form
	PasskeyError string // about the passkey forms
	Notice       string
}

// requireUser returns the request's session when it belongs to a user, or
// sends the browser to the login page (303) and returns nil.
func (s *Server) requireUser(w http.ResponseWriter, r *http.Request, back string) *session.Session {
	ss := session.From(r)
	if ss.User() == "" {
		redirectWithNext(w, r, "/session/login", back)
		return nil
	}
	return ss
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	notice := ""
	switch r.URL.Query().Get("done") {
	case "password":
		notice = "Your password was changed. Every other login has ended."
	case "revoked":
		notice = "That login has ended."
	case "others":
		notice = "Every other login has ended."
	case "passkey":
		notice = "Your passkey was added. You can log in with it on every login page."
	case "renamed":
		notice = "Your passkey was renamed."
	case "removed":
		notice = "That passkey was removed: it logs no one in any more."
	}
	s.renderAccount(w, r, ss, http.StatusOK, accountPage{Notice: notice})
}

// renderAccount renders the account page with status, listing the logins.
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, ss *session.Session, status int, page accountPage) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	recs, err := s.listLogins(ctx, ss)
	if err != nil {
		s.unavailable(w, r, "listing logins", err)
		return
	}
	keys, err := s.backend.AccountPasskeys(ctx, ss.Auth().AccountID)
	if err != nil {
		s.unavailable(w, r, "listing passkeys", err)
		return
	}
	current, _ := ss.ID()
	page.Username = ss.User()
	page.Logins = loginRows(recs, current)
	page.Passkeys = passkeyRows(keys)
	noStore(w)
	s.render(w, status, "account", "Your account", page)
}

// changePassword checks the current password (throttled like a login: it
// is one), sets the new one, ends every login of the user in every mode,
// and keeps this session under a new id with a fresh auth time.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	form, ferr := s.readForm(w, r)
	if ferr != nil {
		s.renderAccount(w, r, ss, ferr.Status, accountPage{Error: ferr.Message})
		return
	}
	current, next := form.Get("current_password"), form.Get("new_password")
	if current == "" || next == "" {
		s.renderAccount(w, r, ss, http.StatusBadRequest, accountPage{Error: "Enter your current password and a new one."})
		return
	}
	if err := auth.ValidatePassword(next); err != nil {
		s.renderAccount(w, r, ss, http.StatusBadRequest, accountPage{Error: invalidInputMessage(err)})
		return
	}
	user := ss.User()
	if _, ok := s.proveAgain(w, r, ss, user, current, func(status int, msg string) {
		s.renderAccount(w, r, ss, status, accountPage{Error: msg})
	}); !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LoginTimeout)
	defer cancel()
	changed, err := s.accounts.ChangePassword(ctx, user, next)
	if err != nil {
		s.unavailable(w, r, "changing the password", err)
		return
	}
	// Every login proved before the change is void from now on (checks
	// compare auth times with it); ending them now also removes them from
	// listings, and covers this session's old id.
	n, err := s.endLogins(ctx, user, store.SessionID{})
	if err != nil {
		s.unavailable(w, r, "ending the other logins", err)
		return
	}
	a := ss.Auth()
	if err := ss.Renew(ctx); err != nil {
		s.unavailable(w, r, "renewing the session", err)
		return
	}
	ss.SetAuth(session.Auth{User: user, AccountID: a.AccountID, Time: changed})
	s.log.InfoContext(r.Context(), "password changed", "user", user, "logins_ended", n, "client", s.clientAddr(r))
	http.Redirect(w, r, accountPath+"?done=password", http.StatusSeeOther)
}

// proveAgain checks user's password as a login does, throttled like one,
// and answers the request itself (through fail, or 503) when it is not
// right. It is the proof behind a password change and a re-authentication.
func (s *Server) proveAgain(w http.ResponseWriter, r *http.Request, ss *session.Session, user, password string,
	fail func(status int, msg string)) (auth.Proof, bool) {
	p, err := s.checkCredentials(r, credentials{Username: user, Password: password})
	if err == nil {
		if p.User.ID != ss.Auth().AccountID {
			// The name now belongs to another account: this session's
			// login no longer stands.
			_ = ss.Destroy(r.Context())
			http.Redirect(w, r, "/session/login", http.StatusSeeOther)
			return auth.Proof{}, false
		}
		return p, true
	}
	switch loginRefused(w, err) {
	case http.StatusTooManyRequests:
		fail(http.StatusTooManyRequests, "Too many failed attempts. Wait a while and try again.")
	case http.StatusUnauthorized, http.StatusBadRequest:
		// A password that cannot be valid is not the current one either.
		fail(http.StatusUnauthorized, "That is not your current password.")
	default:
		s.unavailable(w, r, "checking the password", err)
	}
	return auth.Proof{}, false
}

// revokeLogin ends one login of the user, named by its listed id. An id
// that names no live login of this account answers 404 and ends nothing,
// whoever's it is.
func (s *Server) revokeLogin(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	form, ferr := s.readForm(w, r)
	if ferr != nil {
		s.renderMessage(w, ferr.Status, "Bad request", ferr.Message)
		return
	}
	id, err := store.ParseSessionID(form.Get("id"))
	if err != nil {
		s.renderMessage(w, http.StatusBadRequest, "Bad request", "That is not a login id from your account page.")
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	rec, err := s.backend.Session(ctx, id)
	a := ss.Auth()
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.unavailable(w, r, "reading the login", err)
		return
	case store.FoldName(rec.User) == store.FoldName(a.User) && rec.AccountID == a.AccountID:
		if current, _ := ss.ID(); rec.ID == current {
			if err := ss.Destroy(ctx); err != nil {
				s.unavailable(w, r, "ending the session", err)
				return
			}
			http.Redirect(w, r, "/session/login", http.StatusSeeOther)
			return
		}
		if err := s.backend.DeleteSession(ctx, rec.ID); err != nil {
			s.unavailable(w, r, "ending the login", err)
			return
		}
		s.log.InfoContext(r.Context(), "login revoked", "user", a.User, "kind", LoginKind(rec), "client", s.clientAddr(r))
		http.Redirect(w, r, accountPath+"?done=revoked", http.StatusSeeOther)
		return
	}
	s.renderMessage(w, http.StatusNotFound, "No such login", "No login of yours has that id; it may have ended already.")
}

// logoutOthers ends every login of the user but this session.
func (s *Server) logoutOthers(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	current, _ := ss.ID()
	ctx, cancel := s.storeContext(r)
	defer cancel()
	n, err := s.endLogins(ctx, ss.User(), current)
	if err != nil {
		s.unavailable(w, r, "ending the other logins", err)
		return
	}
	s.log.InfoContext(r.Context(), "logged out everywhere else", "user", ss.User(), "logins_ended", n, "client", s.clientAddr(r))
	s.metrics.sessionsDestroyed(modeSession, endLogoutAll, n)
	http.Redirect(w, r, accountPath+"?done=others", http.StatusSeeOther)
}

// deleteAccount deletes the account and ends every login of it. It runs
// behind RequireRecentAuth: the user proved who they are within the
// re-authentication window.
func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	user := ss.User()
	ctx, cancel := s.storeContext(r)
	defer cancel()
	n, err := s.removeAccount(ctx, user)
	if err != nil {
		s.unavailable(w, r, "deleting the account", err)
		return
	}
	if err := ss.Destroy(ctx); err != nil {
		s.unavailable(w, r, "ending the session", err)
		return
	}
	s.log.InfoContext(r.Context(), "account deleted", "user", user, "logins_ended", n, "client", s.clientAddr(r))
	http.Redirect(w, r, "/?deleted=1", http.StatusSeeOther)
}

// removeAccount deletes the account named user and ends its logins. A
// login recorded while this runs survives in the store only until its
// next check, which refuses it: its account ID names no account.
func (s *Server) removeAccount(ctx context.Context, user string) (int, error) {
	if err := s.accounts.DeleteAccount(ctx, user); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	return s.endLogins(ctx, user, store.SessionID{})
}

// reauthPage is the re-authentication form, with a passkey button.
type reauthPage struct {
	Action        string
	PasskeyFinish string
	Username      string
	Error         string
}

// newReauthPage is the re-authentication form of user, both ways of
// confirming keeping the request's next parameter.
func newReauthPage(r *http.Request, user string) reauthPage {
	return reauthPage{
		Action:        loginAction(reauthPath, r),
		PasskeyFinish: loginAction(reauthPath+"/passkey", r),
		Username:      user,
	}
}

func (s *Server) reauthForm(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, r.URL.RequestURI())
	if ss == nil {
		return
	}
	noStore(w)
	s.render(w, http.StatusOK, "reauth", "Confirm it is you", newReauthPage(r, ss.User()))
}

// reauth checks the user's password again, throttled like a login, and
// records a fresh auth time under a new session id.
func (s *Server) reauth(w http.ResponseWriter, r *http.Request) {
	ss := s.requireUser(w, r, accountPath)
	if ss == nil {
		return
	}
	page := newReauthPage(r, ss.User())
	form, ferr := s.readForm(w, r)
	if ferr != nil {
		page.Error = ferr.Message
		s.render(w, ferr.Status, "reauth", "Confirm it is you", page)
		return
	}
	password := form.Get("password")
	if password == "" {
		page.Error = "Enter your password."
		s.render(w, http.StatusBadRequest, "reauth", "Confirm it is you", page)
		return
	}
	p, ok := s.proveAgain(w, r, ss, ss.User(), password, func(status int, msg string) {
		page.Error = msg
		s.render(w, status, "reauth", "Confirm it is you", page)
	})
	if !ok {
		return
	}
	if err := ss.Renew(r.Context()); err != nil {
		s.unavailable(w, r, "renewing the session", err)
		return
	}
	ss.SetAuth(session.Auth{User: p.User.Name, AccountID: p.User.ID, Time: p.AuthTime})
	http.Redirect(w, r, nextPath(r, accountPath), http.StatusSeeOther)
}
