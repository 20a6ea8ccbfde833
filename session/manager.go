package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/internal/tracing"
	"github.com/sessionkit/sessionkit/store"
)

// Defaults used by New for the zero values of Options.
const (
	DefaultCookieName  = "sk_session"
	DefaultIdleTimeout = time.Hour
	DefaultLifetime    = 24 * time.Hour
	DefaultTimeout     = 2 * time.Second
	DefaultMaxRetries  = 16
)

var (
	// ErrHeaderWritten reports a change that needs a new cookie (Renew)
	// after the response's status line was written, when the cookie can no
	// longer be sent.
	ErrHeaderWritten = errors.New("session: response header already written")

	// ErrDetached reports a change that needs a new cookie (Renew, or
	// storing a session that is not stored yet) on a session loaded by
	// [Manager.Load], outside any request: there is no response to carry
	// the cookie.
	ErrDetached = errors.New("session: loaded outside a request; no cookie can be sent")

	// ErrNoSession reports a token or id that names no live session: never
	// issued, malformed, expired, or ended (logout, Destroy, DestroyAll).
	// For the caller it means "not logged in", never "try again later".
	ErrNoSession = errors.New("session: no such session")

	// ErrOptions reports Options that [New] refuses, such as a cookie
	// policy browsers would reject (see cookie.Policy.Check).
	ErrOptions = errors.New("session: invalid options")
)

// Options configures a Manager. The zero value gives the defaults above.
type Options struct {
	// CookieName is the session cookie's name: letters, digits and
	// !#$%&'*+-.^_`|~. When the cookie is Secure (see Policy) it gets the
	// "__Host-" prefix, or "__Secure-" when Policy sets a Domain or a Path
	// other than "/" (browsers refuse those on "__Host-" cookies).
	CookieName string

	// Policy sets the cookie's attributes: Secure (by default when the
	// request came over HTTPS), Domain (host-only by default; set it to
	// share one session across subdomains), Path ("/"), SameSite (Lax;
	// Strict, or None, which needs Secure: SecureAlways) and Partitioned.
	// Cookies are always HttpOnly. New refuses a combination browsers
	// would reject.
	Policy cookie.Policy

	// BrowserSession makes session cookies browser-session cookies: no
	// Max-Age, so the browser drops them when it closes. By default they
	// persist for the session's Lifetime. [Session.SetRememberMe] chooses
	// per session (a login form's "remember me"). The server enforces
	// IdleTimeout and Lifetime either way.
	BrowserSession bool

	// Codec encodes values of types other than the basic ones (see [Get]).
	// Nil means [JSONCodec]. Every instance sharing a store must use the
	// same Codec.
	Codec Codec

	// IdleTimeout ends a session that has seen no request for this long.
	// Zero means DefaultIdleTimeout (1 hour); negative means none, and
	// only Lifetime applies.
	IdleTimeout time.Duration

	// Lifetime ends a session this long after it began (or was renewed),
	// however active it is. The cookie's Max-Age matches it. Zero or
	// negative means DefaultLifetime (24 hours): a session always ends.
	Lifetime time.Duration

	// TouchInterval is how often a request that changes nothing writes to
	// extend the idle deadline. Zero or negative means a minute, or
	// IdleTimeout/2 if that is shorter.
	TouchInterval time.Duration

	// SaveEmpty stores sessions that hold nothing (and sets their cookie).
	// By default a session is stored only once it holds a value or a user.
	SaveEmpty bool

	// Timeout bounds each store call. A call that takes longer fails, and
	// the request answers with ErrorHandler. Zero or negative means
	// DefaultTimeout (2 seconds).
	Timeout time.Duration

	// MaxRetries bounds how often one save is retried after a conflict
	// with another request before the request fails. Zero or negative
	// means DefaultMaxRetries (16).
	MaxRetries int

	// MaxDataBytes bounds the encoded size of a session's values, keys
	// included. [Put] refuses a value that would cross it with an error
	// wrapping [ErrTooLarge] and changes nothing; a save that would cross it
	// (an Increment of a new key, or the changes of two concurrent requests
	// merged after a conflict) fails with that error and the request
	// answers through ErrorHandler. Zero means DefaultMaxDataBytes (64
	// KiB); negative means no limit. A session stored before the limit
	// was lowered is still loaded, and may change as long as it does not
	// grow.
	MaxDataBytes int

	// MaxSessionsPerUser bounds the live sessions of one user. When a
	// request sets a session's user (a login) and saves, the user's oldest
	// sessions beyond the limit are deleted, the new one never. Only this
	// package's records (kind store.KindSession) count: refresh-token
	// families and other kinds kept in the same store are neither counted
	// nor deleted. Zero means no limit (the default), and so does a
	// negative value.
	MaxSessionsPerUser int

	// CheckAuth, when set, is asked about every request's session that
	// belongs to a user, before the handler runs, and about every session
	// Manager.Load returns: ok false means the login no longer stands (the
	// account was deleted, or its password changed after a.Time), and the
	// session is ended as by Destroy, so the request goes on with a new,
	// empty session. An error means the question could not be answered;
	// the request answers through ErrorHandler. auth.Accounts.CheckLogin
	// is the check the server uses.
	CheckAuth func(ctx context.Context, a Auth) (ok bool, err error)

	// ErrorHandler answers a request whose session could not be loaded or
	// saved (the store failed or timed out, conflicts exhausted the
	// retries, or the values grew past MaxDataBytes: errors.Is(err,
	// ErrTooLarge)). Nil answers 503 Service Unavailable with Retry-After:
	// 1, or 500 for ErrTooLarge, which is the program's doing.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives failures that can no longer change the response: a
	// save after the body started. Nil means slog.Default().
	Logger *slog.Logger

	// OnRetry, when set, is called each time a save that lost a
	// compare-and-swap (store.ErrConflict) is tried again. OnExpired, when
	// set, is called when a request's cookie (or a token given to
	// Manager.Load) names a stored session that is past its idle or
	// absolute deadline, which ends it there. Both
	// are for metrics: they must return quickly and must not call the
	// Manager.
	OnRetry   func()
	OnExpired func()

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Manager loads and saves sessions around the handlers it wraps. It is safe
// for concurrent use; one Manager serves every request.
type Manager struct {
	store store.Sessions
	opts  Options

	// locks serialize the saves of one session within this process, so
	// that concurrent requests of this process do not collide in the
	// store. Other processes still race through the store's
	// compare-and-swap.
	locks [64]saveLock
}

// saveLock serializes the saves of the sessions whose ids fall on it, and
// remembers the record this process saved last under it. A request that
// loaded an older version of that session starts its save from the
// remembered record instead of losing a compare-and-swap, pausing and
// reading the store again: under a burst of requests on one session, every
// save then succeeds at the first try. The memory is only a hint: the
// store's compare-and-swap still decides, and another process's save, or
// a deletion, makes the next save here conflict and read the store.
type saveLock struct {
	mu   sync.Mutex   // held by the request that writes, during its compare-and-swap
	last store.Record // guarded by mu; Version 0: nothing remembered
}

// lockFor returns the save lock of the session named id.
func (m *Manager) lockFor(id store.SessionID) *saveLock {
	return &m.locks[id[0]%byte(len(m.locks))]
}

// New returns a Manager keeping sessions in st. It returns an error
// wrapping [ErrOptions] when opts.CookieName is not a valid cookie name or
// opts.Policy is a combination browsers would reject (SameSite=None or
// Partitioned without Secure: SecureAlways, a malformed Domain or Path).
func New(st store.Sessions, opts Options) (*Manager, error) {
	if opts.CookieName == "" {
		opts.CookieName = DefaultCookieName
	}
	if err := cookie.CheckName(opts.CookieName); err != nil {
		return nil, fmt.Errorf("%w: CookieName: %w", ErrOptions, err)
	}
	if err := opts.Policy.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if opts.Codec == nil {
		opts.Codec = JSONCodec{}
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.TouchInterval <= 0 {
		opts.TouchInterval = time.Minute
		if opts.IdleTimeout > 0 && opts.IdleTimeout/2 < opts.TouchInterval {
			opts.TouchInterval = opts.IdleTimeout / 2
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.MaxDataBytes == 0 {
		opts.MaxDataBytes = DefaultMaxDataBytes
	}
	if opts.ErrorHandler == nil {
		opts.ErrorHandler = unavailable
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Manager{store: st, opts: opts}, nil
}

// unavailable is the default ErrorHandler.
func unavailable(w http.ResponseWriter, _ *http.Request, err error) {
	if errors.Is(err, ErrTooLarge) {
		http.Error(w, "session data too large", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "session store unavailable, try again", http.StatusServiceUnavailable)
}

// Handler returns middleware that loads the request's session before next
// runs and saves it as the response goes out. A session cookie that is
// malformed, unknown or expired is ignored (and removed from the browser);
// a store that fails answers with Options.ErrorHandler.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.load(r)
		if err != nil {
			m.opts.ErrorHandler(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), contextKey{}, s))
		s.r, s.ctx = r, r.Context()
		sw := &s.w
		*sw = writer{ResponseWriter: w, s: s}
		next.ServeHTTP(sw, r)
		sw.finish()
	})
}

// load finds the request's session in the store, or starts an empty one.
func (m *Manager) load(r *http.Request) (*Session, error) {
	s := &Session{m: m, r: r, ctx: r.Context(), now: m.opts.Now()}
	s.ops = s.opsBuf[:0]
	if err := m.loadStored(r, s); err != nil {
		return nil, err
	}
	if s.values == nil {
		s.values = map[string]any{}
	}
	return s, nil
}

// maxSessionCookies bounds how many distinct well-formed cookies of the
// session's name one request may make loadStored look up. A browser sends
// ours and, at worst, one or two planted beside it; more is an attack on
// the store (each look-up is a read), answered as an ambiguity.
const maxSessionCookies = 4

// loadStored fills s with the stored session the request's cookie names,
// if there is one and it is live; otherwise it leaves s empty.
//
// A request may carry several cookies of the session's name: a sibling
// subdomain can set one for the whole domain (Domain=.example.com), and the
// browser sends it beside ours, in an order the Cookie header does not
// explain. Each is tried, and the one that names a live session wins. Two
// that name two live sessions are ambiguous: neither is adopted, neither
// record is deleted, and the request starts a new, empty session without
// removing the browser's cookies, as removing ours could leave the other
// to be adopted on the next request. One cookie, the common case, costs
// what it always did: a single read.
func (m *Manager) loadStored(r *http.Request, s *Session) error {
	cookies := r.CookiesNamed(m.opts.Policy.Name(m.opts.CookieName, r))
	if len(cookies) == 0 {
		return nil // no cookie: a new, empty session
	}
	s.hadCookie = true
	ctx, span := scope.Start(r.Context(), "session.load")
	defer span.End()
	// The read is bounded by Timeout, not canceled with the request:
	// tying a context to the request's costs more than the read it bounds
	// (a fifth of the session's CPU on a memory store).
	ctx = context.WithoutCancel(ctx)
	token := cookies[0].Value
	var rec store.Record
	var st state
	var err error
	if len(cookies) == 1 {
		rec, st, err = m.find(ctx, token, s.now)
	} else {
		var ambiguous bool
		token, rec, st, ambiguous, err = m.findAmong(ctx, cookies, s.now)
		if ambiguous {
			// Keep the browser's cookies: see above.
			s.hadCookie = false
			m.opts.Logger.WarnContext(ctx, "several session cookies name live sessions: none adopted (a cookie may have been planted from another site of the domain)",
				"cookies", len(cookies))
		}
	}
	switch {
	case errors.Is(err, ErrNoSession):
		tracing.Set(span, attrOutcome.String("none"))
		return nil // never adopted: the request starts a new session
	case err != nil:
		tracing.Fail(span, tracing.Why(err, "store"))
		return err
	}
	switch err := m.checkAuth(ctx, rec, st.Auth); {
	case errors.Is(err, ErrNoSession):
		tracing.Set(span, attrOutcome.String("ended"))
		return nil // ended: the request starts a new session, and the cookie goes
	case err != nil:
		tracing.Fail(span, tracing.Why(err, "check_auth"))
		return err
	}
	tracing.Set(span, attrOutcome.String("found"))
	s.token, s.rec, s.state = token, rec, st
	return nil
}

// findAmong is find for a request that carried several cookies of the
// session's name: it looks up each distinct well-formed value and returns
// the one live session they name, with its token. When none names a live
// session the error wraps ErrNoSession. When two name live sessions, or
// there are more than maxSessionCookies to look up, ambiguous is true and
// the error wraps ErrNoSession: nothing is adopted. Any other error means
// the store failed for one of them, and then whether another is live (so
// the choice ambiguous) cannot be told.
func (m *Manager) findAmong(ctx context.Context, cookies []*http.Cookie, now time.Time) (token string, rec store.Record, st state, ambiguous bool, err error) {
	var tried [maxSessionCookies]string
	n, found := 0, false
	for _, c := range cookies {
		if !validToken(c.Value) || slices.Contains(tried[:n], c.Value) {
			continue // malformed (never read), or looked up already
		}
		if n == len(tried) {
			return "", store.Record{}, state{}, true, fmt.Errorf("%w: more than %d session cookies", ErrNoSession, maxSessionCookies)
		}
		tried[n] = c.Value
		n++
		crec, cst, err := m.find(ctx, c.Value, now)
		switch {
		case errors.Is(err, ErrNoSession):
			continue
		case err != nil:
			return "", store.Record{}, state{}, false, err
		case found:
			return "", store.Record{}, state{}, true, fmt.Errorf("%w: several cookies name live sessions", ErrNoSession)
		}
		token, rec, st, found = c.Value, crec, cst, true
	}
	if !found {
		return "", store.Record{}, state{}, false, fmt.Errorf("%w: no cookie names a live session", ErrNoSession)
	}
	return token, rec, st, false, nil
}

// checkAuth asks Options.CheckAuth whether the login of rec, whose
// session belongs to a, still stands. When it does not, the record is
// deleted and the error wraps ErrNoSession; any other error means the
// check or the deletion failed.
func (m *Manager) checkAuth(ctx context.Context, rec store.Record, a Auth) error {
	if m.opts.CheckAuth == nil || a.User == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.Timeout)
	ok, err := m.opts.CheckAuth(cctx, a)
	cancel()
	switch {
	case err != nil:
		return fmt.Errorf("session: checking the session's login: %w", err)
	case ok:
		return nil
	}
	if err := m.deleteRecord(ctx, rec.ID); err != nil {
		return fmt.Errorf("session: ending a session whose login ended: %w", err)
	}
	m.opts.Logger.InfoContext(ctx, "session ended: its login no longer stands (account deleted or password changed)",
		"user", a.User)
	return fmt.Errorf("%w: its login no longer stands", ErrNoSession)
}

// find reads the live session that token names and decodes it. It returns
// an error wrapping ErrNoSession when token is malformed or names no live
// session of this package (an expired one is told to OnExpired, an
// unreadable one logged), and any other error when the store failed or
// timed out. The read is bounded by Timeout.
func (m *Manager) find(ctx context.Context, token string, now time.Time) (store.Record, state, error) {
	if !validToken(token) {
		return store.Record{}, state{}, fmt.Errorf("%w: malformed token", ErrNoSession)
	}
	rctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	rec, err := m.store.Session(rctx, store.HashToken(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Record{}, state{}, ErrNoSession
	case err != nil:
		return store.Record{}, state{}, fmt.Errorf("session: load: %w", err)
	}
	if !isSession(rec) {
		return store.Record{}, state{}, fmt.Errorf("%w: the record is another kind of login", ErrNoSession)
	}
	if !m.live(rec, now) {
		if m.opts.OnExpired != nil {
			m.opts.OnExpired()
		}
		return store.Record{}, state{}, fmt.Errorf("%w: expired", ErrNoSession)
	}
	values, flags, err := decode(rec.Data)
	if err != nil {
		// Not the record's id: even its hash is never logged.
		m.opts.Logger.ErrorContext(ctx, "session record unreadable; starting a new session",
			"user", rec.User, "err", err)
		return store.Record{}, state{}, fmt.Errorf("%w: its record is unreadable: %w", ErrNoSession, err)
	}
	return rec, stateOf(rec, values, flags), nil
}

// live reports whether rec is within both its idle and absolute deadlines.
func (m *Manager) live(rec store.Record, now time.Time) bool {
	return now.Before(m.expires(rec.Created, rec.LastSeen))
}

// expires returns when a session created and last seen at those times ends.
func (m *Manager) expires(created, lastSeen time.Time) time.Time {
	end := created.Add(m.opts.Lifetime)
	if m.opts.IdleTimeout > 0 {
		if idle := lastSeen.Add(m.opts.IdleTimeout); idle.Before(end) {
			end = idle
		}
	}
	return end
}

// retried tells OnRetry that a save is tried again after a conflict.
func (m *Manager) retried() {
	if m.opts.OnRetry != nil {
		m.opts.OnRetry()
	}
}

// storeContext bounds one store call. Saves and deletes are not canceled
// when the client goes away: a change the handler made is kept.
func (m *Manager) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), m.opts.Timeout)
}

// deleteRecord deletes the record named id from the store. A save of it
// that this process remembers is left to fail its compare-and-swap.
func (m *Manager) deleteRecord(ctx context.Context, id store.SessionID) error {
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	return m.store.DeleteSession(ctx, id)
}

// Sessions returns the live logins of user, most recent first, for a
// "where you are logged in" page: this package's sessions and every other
// kind of login kept in the same store (cookie logins, refresh families),
// each record's Kind saying which (see [store.Kind]). Only a session's Data
// is this package's encoding. The records' IDs are safe to show.
func (m *Manager) Sessions(ctx context.Context, user string) ([]store.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	recs, err := m.store.UserSessions(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("session: listing sessions: %w", err)
	}
	return recs, nil
}

// DestroyAll ends every session of user ("log out everywhere") and returns
// how many there were. Requests carrying those sessions' cookies find no
// session from then on. The caller's own session, if it is one of them,
// keeps its values for the rest of the request: call [Session.Destroy] on
// it too so its cookie is removed. Only this package's records (kind
// store.KindSession) are ended: refresh families and other kinds of login
// kept in the same store are left to their owners; use the store's
// DeleteUserSessions to end every kind at once.
func (m *Manager) DestroyAll(ctx context.Context, user string) (int, error) {
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	recs, err := m.store.UserSessions(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("session: destroying sessions of a user: %w", err)
	}
	n := 0
	for _, rec := range recs {
		if !isSession(rec) {
			continue
		}
		if err := m.store.DeleteSession(ctx, rec.ID); err != nil {
			return n, fmt.Errorf("session: destroying sessions of a user: %w", err)
		}
		n++
	}
	return n, nil
}

// isSession reports whether rec is one of this package's sessions: of kind
// store.KindSession, or of no kind (written before kinds existed).
func isSession(rec store.Record) bool {
	return rec.Kind == store.KindSession || rec.Kind == ""
}

// userAgent returns the user agent to keep with a new session.
func userAgent(r *http.Request) string {
	return store.ListedUserAgent(r.UserAgent())
}
