// Package server is sessionkit's reference web application: the tutorial's
// login form, profile page and logout, done with each of sessionkit's
// mechanisms, plus registration and health checks.
//
// New builds a Server from a store backend and a Config; a Server is an
// http.Handler. Running it (listening, timeouts, shutdown) is the job of
// cmd/sessionkit, or of any program that embeds it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/passkey"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// Backend is what the server keeps its state in: accounts and their
// passkeys, keys, the deny list, counters and sessions. Every store backend implements it.
type Backend interface {
	store.Users
	store.Keys
	store.DenyList
	store.Sessions
	store.Counters
	store.Passkeys
	store.Pinger
	store.Clock
}

// Defaults used by New for the zero values of Config.
const (
	DefaultCookieLifetime = 24 * time.Hour
	DefaultSessionIdle    = session.DefaultIdleTimeout
	DefaultSessionLife    = session.DefaultLifetime
	DefaultStoreTimeout   = 500 * time.Millisecond
	DefaultLoginTimeout   = 10 * time.Second
	DefaultMaxBodyBytes   = 64 << 10
	DefaultTokenIssuer    = "sessionkit"
	DefaultTokenAudience  = "sessionkit"
)

// MinIntrospectionSecret is the shortest Config.IntrospectionSecret New
// accepts, in bytes.
const MinIntrospectionSecret = 16

// Config configures a Server. The zero value is usable: it gives the
// defaults above, SecureAuto cookies and no trusted proxies.
type Config struct {
	// Cookies decides the Secure attribute (and __Host- prefix) of every
	// cookie, and which proxies are trusted to say a request was HTTPS.
	// Its TrustedProxies are also trusted for the client address
	// (X-Forwarded-For), which login throttling counts by.
	Cookies cookie.Policy

	// CookieLifetime is how long a cookie-mode login lasts. Zero or
	// negative means DefaultCookieLifetime (24 hours).
	CookieLifetime time.Duration

	// SessionIdleTimeout ends a session-mode login after this long without
	// a request; SessionLifetime ends it this long after login, however
	// active. Both are enforced on the server. A zero SessionIdleTimeout
	// means DefaultSessionIdle (1 hour); negative means none, and only
	// SessionLifetime applies. A zero or negative SessionLifetime means
	// DefaultSessionLife (24 hours): a login always ends.
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration

	// StoreTimeout bounds each request's wait for the store; past it the
	// request answers 503. Zero or negative means DefaultStoreTimeout (500
	// milliseconds).
	StoreTimeout time.Duration

	// LoginTimeout bounds a login or registration, which includes hashing
	// a password and may wait for a hashing slot. Zero or negative means
	// DefaultLoginTimeout (10 seconds).
	LoginTimeout time.Duration

	// MaxBodyBytes bounds form bodies; larger ones answer 413. Zero or
	// negative means DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64

	// MaxConcurrentLogins bounds the login and registration requests one
	// client address (see Cookies.TrustedProxies) may have in flight at
	// once; past it they answer 429 with Retry-After, before any password
	// is hashed. Zero means DefaultMaxConcurrentLogins (4); negative means
	// no limit.
	MaxConcurrentLogins int

	// MaxSessionsPerUser bounds a user's logins of every kind (sessions,
	// cookie logins, JWT and API logins together): a login past it ends the
	// user's oldest. Zero means DefaultMaxSessionsPerUser (10); negative
	// means no limit.
	MaxSessionsPerUser int

	// AccessTokenLifetime is how long a JWT access token is valid; zero or
	// negative means token.DefaultAccessLifetime (15 minutes).
	// TokenLeeway is the clock skew allowed when checking its times; zero
	// means token.DefaultLeeway (30 seconds), negative means none.
	AccessTokenLifetime time.Duration
	TokenLeeway         time.Duration

	// TokenIssuer and TokenAudience are the "iss" and "aud" of access
	// tokens; both default to "sessionkit".
	TokenIssuer   string
	TokenAudience string

	// TokenAlgorithm is the algorithm of the first signing key, generated
	// on first start; token.DefaultAlgorithm (EdDSA) if empty. Later keys
	// are chosen by whoever rotates them.
	TokenAlgorithm token.Algorithm

	// RefreshIdleTimeout ends a JWT login this long after its refresh token
	// was last used; RefreshLifetime ends it this long after login. Zero or
	// negative means token.DefaultRefreshIdle (24 hours) and
	// token.DefaultRefreshLifetime (7 days). RefreshGrace is how long a
	// spent refresh token is still honoured, for clients that refreshed
	// twice at once; zero means token.DefaultRefreshGrace (10 seconds),
	// negative means none.
	RefreshIdleTimeout time.Duration
	RefreshLifetime    time.Duration
	RefreshGrace       time.Duration

	// Throttle configures login throttling.
	Throttle auth.ThrottleOptions

	// ReauthWindow is how recently the user must have proved who they are
	// (their login's auth_time) to delete their account, on the account
	// page and with DELETE /api/me; older proofs are sent through
	// re-authentication. Zero or negative means DefaultReauthWindow (5
	// minutes).
	ReauthWindow time.Duration

	// WebAuthnRPID is the relying party ID passkeys are bound to: the
	// site's domain as browsers see it ("example.com"), never an IP
	// address. Zero means "localhost". Changing it later orphans every
	// passkey registered under the old one.
	WebAuthnRPID string

	// WebAuthnOrigins are the exact origins whose pages may register and
	// use passkeys ("https://example.com"), each on WebAuthnRPID or a
	// subdomain of it. Zero means http://localhost:8080, the default
	// address of "sessionkit serve" by name.
	WebAuthnOrigins []string

	// KEK is the key-encryption key every key the server keeps in the
	// store (cookie keys, signing keys) is encrypted under, so that a copy
	// of the store alone can neither seal a cookie nor sign a token. Keys
	// the store holds in plaintext are encrypted at start. PreviousKEKs
	// still open keys during a change of KEK (see "sessionkit keys
	// rewrap"); they never encrypt. Nil keeps the keys in plaintext, and
	// New logs a warning: for tests and programs that encrypt the store
	// themselves.
	KEK          *kek.KEK
	PreviousKEKs []*kek.KEK

	// IntrospectionSecret, when set, enables POST /api/introspect (RFC
	// 7662): a service that presents it with HTTP Basic authentication
	// (any client id, this secret as the password) learns whether an
	// access token is active: its signature holds, it has not expired and
	// its login still stands. Empty means the endpoint answers 404. The
	// endpoint is not throttled: New refuses a secret shorter than
	// MinIntrospectionSecret bytes; use a long random one.
	IntrospectionSecret string

	// PasswordParams are the argon2id parameters for new hashes; the zero
	// value means auth.DefaultParams().
	PasswordParams auth.Params

	// Logger receives one line per request and security events. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Now returns the current time for issuing and checking tokens, for
	// session-mode deadlines and for login throttling windows; nil means
	// time.Now. Tests set it to move time forward.
	Now func() time.Time

	// Metrics is the registry the server's metrics are registered in and
	// GET /metrics serves. Nil means a registry of the server's own, with
	// the Go runtime and process metrics too; give one to serve a program's
	// own metrics beside the server's. Two Servers cannot share a registry:
	// the second New fails.
	Metrics *prometheus.Registry

	// OmitMetricsRoute leaves GET /metrics out of the handler (it answers
	// 404 there), for a program that serves MetricsHandler on an address of
	// its own, as "sessionkit serve --metrics-addr" does.
	OmitMetricsRoute bool

	// TracerProvider, if set, traces every request: an OpenTelemetry
	// server span named by its route ("GET /session/profile"), with child
	// spans for the store calls and the session, token and password work
	// it does (see docs/adr/018-opentelemetry-tracing.md). No span holds
	// a token, cookie, password, key, session id, header or query. Nil
	// means no tracing, at no cost.
	TracerProvider trace.TracerProvider
}

// Server is the web application. It is an http.Handler, safe for concurrent
// use.
type Server struct {
	cfg      Config
	backend  Backend
	accounts *auth.Accounts
	sealed   *cookie.Cookie
	passkeys *passkey.RelyingParty
	sessions *session.Manager
	tokens   *tokens
	pages    *pages
	metrics  *metrics
	logins   *loginGate
	log      *slog.Logger
	handler  http.Handler

	// keys is where the server's keys are kept: the backend's, encrypted
	// under Config.KEK when one is given.
	keys       store.Keys
	cookieKeys *cookieKeys
	clock      *storeClock // the store's, or Config.Now when given
	upkeep     sync.Mutex  // held while the keys and the clock are read again
}

// New builds a Server on backend. On first start it generates the keys the
// server needs and keeps them in backend, so that a restart, or another
// instance on the same store, keeps every cookie valid. It fails when the
// backend cannot be read or written within ctx.
func New(ctx context.Context, backend Backend, cfg Config) (*Server, error) {
	if backend == nil {
		return nil, errors.New("server: nil backend")
	}
	if n := len(cfg.IntrospectionSecret); n > 0 && n < MinIntrospectionSecret {
		return nil, fmt.Errorf("server: the introspection secret has %d bytes, fewer than %d: POST /api/introspect is not throttled, so its secret must not be guessable", n, MinIntrospectionSecret)
	}
	given := cfg.Now
	cfg = withDefaults(cfg)
	s := &Server{cfg: cfg, log: cfg.Logger, logins: newLoginGate(cfg.MaxConcurrentLogins)}

	var err error
	s.metrics, err = newMetrics(cfg.Metrics, cfg.Logger)
	if err != nil {
		return nil, err
	}
	// Every store call, whoever makes it, shows in the store metrics.
	backend = s.metrics.instrument(backend)
	s.backend = backend
	if s.clock, err = newStoreClock(ctx, backend, given); err != nil {
		return nil, err
	}
	cfg.Now = s.clock.Now
	s.cfg = cfg
	if s.keys, err = openKeys(ctx, backend, cfg, s.log); err != nil {
		return nil, err
	}
	throttle, err := auth.NewThrottle(backend, cfg.Throttle, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.accounts, err = auth.NewAccounts(backend, auth.Options{
		Params:       cfg.PasswordParams,
		Throttle:     throttle,
		Now:          cfg.Now,
		StoreTimeout: cfg.StoreTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.cookieKeys, err = openCookieKeys(ctx, s.keys, s.clock)
	if err != nil {
		return nil, err
	}
	ring := s.cookieKeys.ring
	// No deny list: every cookie login is recorded in the store's
	// sessions, and ending the record ends it (cookielogins.go, ADR 011).
	s.sealed, err = cookie.New(ring, cookie.Options{
		Name:   "sk_cookie",
		MaxAge: cfg.CookieLifetime,
		Policy: cfg.Cookies,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.passkeys, err = passkey.New(backend, ring, passkey.Options{
		RPID:    cfg.WebAuthnRPID,
		RPName:  "sessionkit",
		Origins: cfg.WebAuthnOrigins,
		Now:     cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.sessions, err = newSessionManager(backend, cfg, s.metrics, s.sessionFailed, s.sessionStands)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.tokens, err = newTokens(ctx, backend, s.keys, s.clock, s.accounts, cfg, s.metrics)
	if err != nil {
		return nil, err
	}
	s.pages, err = parsePages()
	if err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.CookieLifetime <= 0 {
		cfg.CookieLifetime = DefaultCookieLifetime
	}
	if cfg.SessionIdleTimeout == 0 {
		cfg.SessionIdleTimeout = DefaultSessionIdle
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLife
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = DefaultLoginTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxConcurrentLogins == 0 {
		cfg.MaxConcurrentLogins = DefaultMaxConcurrentLogins
	}
	if cfg.MaxSessionsPerUser == 0 {
		cfg.MaxSessionsPerUser = DefaultMaxSessionsPerUser
	}
	if cfg.AccessTokenLifetime <= 0 {
		cfg.AccessTokenLifetime = token.DefaultAccessLifetime
	}
	if cfg.TokenLeeway == 0 {
		cfg.TokenLeeway = token.DefaultLeeway
	}
	if cfg.TokenIssuer == "" {
		cfg.TokenIssuer = DefaultTokenIssuer
	}
	if cfg.TokenAudience == "" {
		cfg.TokenAudience = DefaultTokenAudience
	}
	if cfg.RefreshIdleTimeout <= 0 {
		cfg.RefreshIdleTimeout = token.DefaultRefreshIdle
	}
	if cfg.RefreshLifetime <= 0 {
		cfg.RefreshLifetime = token.DefaultRefreshLifetime
	}
	if cfg.ReauthWindow <= 0 {
		cfg.ReauthWindow = DefaultReauthWindow
	}
	if cfg.WebAuthnRPID == "" {
		cfg.WebAuthnRPID = "localhost"
	}
	if len(cfg.WebAuthnOrigins) == 0 {
		cfg.WebAuthnOrigins = []string{"http://localhost:8080"}
	}
	if cfg.PasswordParams == (auth.Params{}) {
		cfg.PasswordParams = auth.DefaultParams()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// storeContext bounds a request's wait for the store.
func (s *Server) storeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.StoreTimeout)
}

// MetricsHandler answers GET /metrics: the metrics of the registry in
// Config.Metrics, in the Prometheus text format. The Server's own handler
// serves it too, unless Config.OmitMetricsRoute is set.
func (s *Server) MetricsHandler() http.Handler {
	return s.metrics.handler
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cookieKeys.stale() {
		s.keepUp(r.Context())
	}
	s.handler.ServeHTTP(w, r)
}

// keepUp reads the store's clock and the cookie keys again, once every
// keyReloadInterval: the request that finds them stale does it (bounded by
// StoreTimeout), and requests arriving meanwhile go on with what is known.
// A failure is logged, and the server keeps the keys and offset it has.
func (s *Server) keepUp(ctx context.Context) {
	if !s.upkeep.TryLock() {
		return
	}
	defer s.upkeep.Unlock()
	if !s.cookieKeys.stale() {
		return // done by the request before
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
	defer cancel()
	if _, err := s.clock.StoreTime(ctx); err != nil {
		s.log.WarnContext(ctx, "reading the store's clock", "err", err)
	}
	if err := s.cookieKeys.reload(ctx); err != nil {
		s.log.WarnContext(ctx, "reloading the cookie keys", "err", err)
	}
}

// routes builds the handler: every route, wrapped in a bound on
// concurrent logins per client, cross-origin protection (state-changing
// requests from other origins are refused), security headers, panic
// recovery, request logging and metrics.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.pattern, s.routeHandler(rt))
	}

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginRefused))
	var h http.Handler = cop.Handler(mux)
	h = securityHeaders(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	h = s.traceRequests(h)
	return h
}
