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

// Session mode: the browser holds a random token; the user's name and count
// live in the store, under the token's hash. Logout deletes the record, so a
// copy of the cookie names nothing afterwards.

const sessionLoginTitle = "Log in: server-side session"

func (s *Server) sessionLoginForm(w http.ResponseWriter, r *http.Request) {
	if session.From(r).User() != "" {
		http.Redirect(w, r, "/session/profile", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "login", sessionLoginTitle, newLoginPage("/session/login", r))
}

// sessionLogin checks the credentials and, when they are right, starts
// the session-mode login.
func (s *Server) sessionLogin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.login(w, r, "/session/login", sessionLoginTitle)
	if !ok {
		return
	}
	if err := s.startSession(r, p); err != nil {
		s.unavailable(w, r, "renewing the session", err)
		return
	}
	http.Redirect(w, r, nextPath(r, "/session/profile"), http.StatusSeeOther)
	s.sessionStarted(r)
}

// startSession makes the request's session the login p proves: the
// session moves to a new token (whatever the browser held before is dead)
// and the count starts again. The session is saved when the response is
// written. It fails when the store cannot renew the session.
func (s *Server) startSession(r *http.Request, p auth.Proof) error {
	ss := session.From(r)
	_, renewing := ss.ID() // a stored session moves to a new id
	if err := ss.Renew(r.Context()); err != nil {
		return err
	}
	if renewing {
		s.metrics.sessionRenewed(modeSession)
	}
	ctx, cancel := s.storeContext(r)
	s.makeRoomForLogin(ctx, p.User)
	cancel()
	ss.SetAuth(session.Auth{User: p.User.Name, AccountID: p.User.ID, Time: p.AuthTime})
	ss.Delete("count")
	return nil
}

// sessionStarted counts a session login once its response is written.
func (s *Server) sessionStarted(r *http.Request) {
	if _, stored := session.From(r).ID(); stored { // the response saved it, or answered 503 instead
		s.metrics.sessionCreated(modeSession)
	}
}

// sessionRow is one line of the list of the user's sessions.
type sessionRow struct {
	ID        string // the record's id, for the account page's revoke form
	Kind      string // what LoginKind says: session, JWT login, cookie login
	Created   time.Time
	LastSeen  time.Time
	AuthTime  time.Time
	UserAgent string
	Current   bool
}

// loginRows are the rows listing recs, marking current.
func loginRows(recs []store.Record, current store.SessionID) []sessionRow {
	rows := make([]sessionRow, len(recs))
	for i, rec := range recs {
		rows[i] = sessionRow{
			ID:        rec.ID.String(),
			Kind:      LoginKind(rec),
			Created:   rec.Created,
			LastSeen:  rec.LastSeen,
			AuthTime:  rec.AuthTime,
			UserAgent: rec.UserAgent,
			Current:   rec.ID == current,
		}
	}
	return rows
}

// sessionProfile counts the view in the session. The count is saved by
// compare-and-swap as the page goes out, so concurrent views all count. The
// list of the user's sessions is a page of its own (sessionList), so that a
// view costs one read and one write of the session, nothing more.
func (s *Server) sessionProfile(w http.ResponseWriter, r *http.Request) {
	ss := session.From(r)
	user := ss.User()
	if user == "" {
		redirectWithNext(w, r, "/session/login", r.URL.Path)
		return
	}
	count := ss.Increment("count", 1)
	noStore(w)
	s.render(w, http.StatusOK, "profile", "Profile: server-side session", profilePage{
		Username:     user,
		Count:        count,
		LogoutHref:   "/session/logout",
		SessionsHref: "/session/sessions",
	})
}

// sessionList lists where the user is logged in: server-side sessions,
// JWT or API logins and cookie logins, marking this browser, with "log out everywhere".
func (s *Server) sessionList(w http.ResponseWriter, r *http.Request) {
	ss := session.From(r)
	user := ss.User()
	if user == "" {
		redirectWithNext(w, r, "/session/login", r.URL.Path)
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	recs, err := s.listLogins(ctx, ss)
	if err != nil {
		s.unavailable(w, r, "listing sessions", err)
		return
	}
	current, _ := ss.ID()
	rows := loginRows(recs, current)
	noStore(w)
	s.render(w, http.StatusOK, "sessions", "Where you are logged in", sessionsPage{
		Username:        user,
		Sessions:        rows,
		LogoutAllAction: "/session/logout-all",
		ProfileHref:     "/session/profile",
	})
}

func (s *Server) sessionLogoutForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "logout", "Log out: server-side session", logoutPage{Action: "/session/logout"})
}

// sessionLogout deletes the session's record and clears its cookie. If the
// store cannot delete it, the answer is 503 and the cookie stays, so the
// user can try again.
func (s *Server) sessionLogout(w http.ResponseWriter, r *http.Request) {
	ss := session.From(r)
	user := ss.User()
	if err := ss.Destroy(r.Context()); err != nil {
		s.unavailable(w, r, "ending the session", err)
		return
	}
	if user != "" {
		s.log.InfoContext(r.Context(), "logged out", "mode", "session", "user", user, "client", s.clientAddr(r))
		s.metrics.sessionsDestroyed(modeSession, endLogout, 1)
	}
	http.Redirect(w, r, "/session/login", http.StatusSeeOther)
}

// sessionLogoutAll ends every session of the user, this one included.
func (s *Server) sessionLogoutAll(w http.ResponseWriter, r *http.Request) {
	ss := session.From(r)
	user := ss.User()
	if user == "" {
		http.Redirect(w, r, "/session/login", http.StatusSeeOther)
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	n, err := s.endLogins(ctx, user, store.SessionID{})
	if err != nil {
		s.unavailable(w, r, "ending the user's sessions", err)
		return
	}
	if err := ss.Destroy(r.Context()); err != nil {
		s.unavailable(w, r, "ending the session", err)
		return
	}
	s.log.InfoContext(r.Context(), "logged out everywhere", "mode", "session", "user", user, "sessions", n, "client", s.clientAddr(r))
	s.metrics.sessionsDestroyed(modeSession, endLogoutAll, n)
	http.Redirect(w, r, "/session/login", http.StatusSeeOther)
}

// newSessionManager builds the session manager of session mode, counting
// its retries and the expired sessions it finds in m.
// newSessionManager returns the session-mode manager. checkAuth is asked
// whether a session's login still stands; the per-user cap is the
// server's, over every kind of login (makeRoomForLogin), so the manager
// keeps none of its own.
func newSessionManager(st store.Sessions, cfg Config, m *metrics, failed func(http.ResponseWriter, *http.Request, error),
	checkAuth func(context.Context, session.Auth) (bool, error)) (*session.Manager, error) {
	return session.New(st, session.Options{
		CookieName:   "sk_session",
		Policy:       cfg.Cookies,
		IdleTimeout:  cfg.SessionIdleTimeout,
		Lifetime:     cfg.SessionLifetime,
		Timeout:      cfg.StoreTimeout,
		CheckAuth:    checkAuth,
		ErrorHandler: failed,
		Logger:       cfg.Logger,
		Now:          cfg.Now,
		OnRetry:      m.retried(casSession),
		OnExpired:    m.expired(modeSession),
	})
}

// sessionFailed answers a request whose session could not be loaded or
// saved: 503 when the store failed, which the client may retry. A session
// grown past its size limit is this program's bug, not the client's: 500.
func (s *Server) sessionFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, session.ErrTooLarge) {
		s.log.ErrorContext(r.Context(), "session too large", "err", err, "request_id", requestID(w))
		s.renderMessage(w, http.StatusInternalServerError, "Internal error",
			"The server could not save your session. Nothing was changed.")
		return
	}
	s.unavailable(w, r, "loading or saving the session", err)
}
