package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/passkey"
)

// The server's Prometheus metrics (see docs/adr/009-prometheus-metrics.md).
// Every label value comes from a small fixed set: the modes, results and
// reasons below, the store operations, the mux's route patterns (or
// "unmatched"), the standard HTTP methods (or "other") and status codes.
// No label ever holds a user name, a token, a cookie or a path.

// Modes: how a user logged in. They are the first segment of the route
// patterns (/cookie/..., /session/..., /jwt/..., /api/...).
const (
	modeCookie  = "cookie"
	modeSession = "session"
	modeJWT     = "jwt"
	modeAPI     = "api"
)

// Results of a login attempt.
const (
	loginSucceeded = "succeeded" // right password or passkey: the user is logged in
	loginFailed    = "failed"    // wrong password, unknown user, unknown or cloned passkey (401)
	loginThrottled = "throttled" // refused unchecked: too many failures (429)
	loginInvalid   = "invalid"   // a name or password no account can have; a passkey challenge or answer not valid (400)
	loginError     = "error"     // the store or a hashing slot did not answer (503)
)

// Reasons a login ended.
const (
	endLogout    = "logout"     // the user logged out
	endLogoutAll = "logout_all" // "log out everywhere" from a session-mode page
	endRelogin   = "relogin"    // a JWT login over an earlier one in the same browser
	endReuse     = "reuse"      // a spent refresh token came back: its login was revoked
	endExpired   = "expired"    // the cookie came back past the login's deadline
	endAccount   = "account"    // its account was deleted or its password changed
)

// Kinds of compare-and-swap records.
const (
	casSession = "session"        // session-mode session records
	casFamily  = "refresh_family" // JWT and API logins (refresh-token families)
)

// metrics holds the server's collectors, registered in one registry that
// GET /metrics serves.
type metrics struct {
	handler http.Handler // GET /metrics
	reg     *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// series caches the counter and histogram of each (route, method,
	// status) seen, so that a request costs one map lookup and no
	// allocation. The map is replaced, never changed, under seriesMu.
	series   atomic.Pointer[map[requestKey]requestSeries]
	seriesMu sync.Mutex

	logins    *prometheus.CounterVec
	created   *prometheus.CounterVec
	renewed   *prometheus.CounterVec
	destroyed *prometheus.CounterVec
	issued    *prometheus.CounterVec
	refreshed *prometheus.CounterVec
	revoked   *prometheus.CounterVec
	reused    *prometheus.CounterVec

	storeOps      *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
	conflicts     *prometheus.CounterVec
	retries       *prometheus.CounterVec
}

type requestKey struct {
	route, method string
	code          int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// newMetrics creates the server's metrics and registers them in reg; nil
// means a registry of the server's own, which also gets the Go runtime and
// process collectors. It fails when reg already holds metrics of the same
// names (another Server's, say).
func newMetrics(reg *prometheus.Registry, log *slog.Logger) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sessionkit_" + name, Help: help}, labels)
	}
	m := &metrics{
		reg: reg,
		requests: counter("http_requests_total",
			"HTTP requests answered, by route (the pattern that matched, or \"unmatched\"), method and status code.",
			"route", "method", "code"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessionkit_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		logins: counter("logins_total",
			"Login attempts by mode (cookie, session, jwt, api) and result: succeeded; failed (wrong password or unknown user, 401); "+
				"throttled (refused unchecked after too many failures, 429); invalid (a name or password no account can have, 400); "+
				"error (the store or a hashing slot did not answer, 503).",
			"mode", "result"),
		created: counter("sessions_created_total",
			"Logins that began, by mode: a sealed cookie written (cookie), a session record stored for the user (session), "+
				"a refresh-token family started and its first token pair issued (jwt, api).",
			"mode"),
		renewed: counter("sessions_renewed_total",
			"Logins moved to a new secret, by mode: a stored session given a new id when its browser logged in again (session), "+
				"a refresh token spent for a new pair (jwt, api).",
			"mode"),
		destroyed: counter("sessions_destroyed_total",
			"Logins ended, by mode and reason: logout; logout_all (every session and JWT login of the user, counted from a session-mode "+
				"request); relogin (a JWT login replaced by a new one in the same browser); reuse (a spent refresh token came back and "+
				"its login was revoked); expired (the cookie came back past the login's deadline: logins whose records the store "+
				"dropped at expiry end unseen and are not counted).",
			"mode", "reason"),
		issued: counter("tokens_issued_total",
			"Token pairs (an access token and a refresh token) issued, at login or refresh, by mode (jwt, api).",
			"mode"),
		refreshed: counter("tokens_refreshed_total",
			"Refresh tokens spent for a new token pair, by mode (jwt, api).",
			"mode"),
		revoked: counter("tokens_revoked_total",
			"JWT logins revoked (the access token deny-listed and/or the refresh family ended), by mode and reason: logout, relogin, reuse.",
			"mode", "reason"),
		reused: counter("refresh_token_reuse_total",
			"Refresh tokens presented again after they were spent (past the grace window): each revoked its whole login. "+
				"A copy of the token is in someone else's hands.",
			"mode"),
		storeOps: counter("store_operations_total",
			"Calls to the store, by operation and result: ok, not_found, conflict (a compare-and-swap lost), exists "+
				"(the name or key is taken), error (the store failed or timed out).",
			"operation", "result"),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessionkit_store_operation_duration_seconds",
			Help:    "Time the store took to answer a call, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8), // 0.1 ms to 1.6 s
		}, []string{"operation"}),
		conflicts: counter("store_cas_conflicts_total",
			"Saves that lost a compare-and-swap to another request (store.ErrConflict), by kind of record: session, refresh_family.",
			"kind"),
		retries: counter("store_cas_retries_total",
			"Saves tried again after losing a compare-and-swap, by kind of record: session, refresh_family. "+
				"Conflicts not retried were given up (or only extended an idle deadline another request had extended).",
			"kind"),
	}
	empty := map[requestKey]requestSeries{}
	m.series.Store(&empty)
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.logins, m.created, m.renewed, m.destroyed, m.issued,
		m.refreshed, m.revoked, m.reused, m.storeOps, m.storeDuration, m.conflicts, m.retries,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: registering metrics: %w", err)
		}
	}
	m.zero()
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
	return m, nil
}

// zero creates the series of every label combination that can occur
// outside HTTP requests and the store, at 0, so that they are on the first
// scrape and rates start from a known value.
func (m *metrics) zero() {
	for _, mode := range []string{modeCookie, modeSession, modeJWT, modeAPI} {
		for _, result := range []string{loginSucceeded, loginFailed, loginThrottled, loginInvalid, loginError} {
			m.logins.WithLabelValues(mode, result)
		}
		m.created.WithLabelValues(mode)
	}
	ends := map[string][]string{
		modeCookie:  {endLogout, endExpired},
		modeSession: {endLogout, endLogoutAll, endExpired, endAccount},
		modeJWT:     {endLogout, endRelogin, endReuse},
		modeAPI:     {endLogout, endReuse},
	}
	for mode, reasons := range ends {
		for _, reason := range reasons {
			m.destroyed.WithLabelValues(mode, reason)
			if mode == modeJWT || mode == modeAPI {
				m.revoked.WithLabelValues(mode, reason)
			}
		}
	}
	for _, mode := range []string{modeSession, modeJWT, modeAPI} {
		m.renewed.WithLabelValues(mode)
	}
	for _, mode := range []string{modeJWT, modeAPI} {
		m.issued.WithLabelValues(mode)
		m.refreshed.WithLabelValues(mode)
		m.reused.WithLabelValues(mode)
	}
	for _, kind := range []string{casSession, casFamily} {
		m.conflicts.WithLabelValues(kind)
		m.retries.WithLabelValues(kind)
	}
}

// observeRequest counts a request that ended with status code after d.
// route is the mux pattern that matched it, or "unmatched".
func (m *metrics) observeRequest(route, method string, code int, d time.Duration) {
	k := requestKey{route: route, method: knownMethod(method), code: code}
	s, ok := (*m.series.Load())[k]
	if !ok {
		s = m.addSeries(k)
	}
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// addSeries returns the series of k, creating them on first use.
func (m *metrics) addSeries(k requestKey) requestSeries {
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	old := *m.series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	s := requestSeries{
		count:    m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.code)),
		duration: m.duration.WithLabelValues(k.route),
	}
	next := make(map[requestKey]requestSeries, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = s
	m.series.Store(&next)
	return s
}

// knownMethod returns method if it is a standard HTTP method, "other" if
// not: a client chooses the method, and must not choose label values.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// modeOf returns the mode of the route r matched: the first segment of its
// pattern's path ("POST /jwt/login" is jwt), or "other".
func modeOf(r *http.Request) string {
	path := r.Pattern
	if i := strings.IndexByte(path, '/'); i >= 0 {
		path = path[i+1:]
	}
	seg, _, _ := strings.Cut(path, "/")
	switch seg {
	case modeCookie, modeSession, modeJWT, modeAPI:
		return seg
	}
	return "other"
}

// login counts a login attempt through mode that ended with err (an error
// of auth.Accounts.Login or passkey.RelyingParty.FinishLogin).
func (m *metrics) login(mode string, err error) {
	result := loginError
	switch {
	case err == nil:
		result = loginSucceeded
	case errors.Is(err, auth.ErrThrottled):
		result = loginThrottled
	case errors.Is(err, auth.ErrBadCredentials):
		result = loginFailed
	case errors.Is(err, auth.ErrInvalidUsername), errors.Is(err, auth.ErrInvalidPassword):
		result = loginInvalid
	case errors.Is(err, passkey.ErrUnknownPasskey), errors.Is(err, passkey.ErrSignCount):
		result = loginFailed
	case errors.Is(err, passkey.ErrChallenge), errors.Is(err, passkey.ErrInvalidResponse):
		result = loginInvalid
	}
	m.logins.WithLabelValues(mode, result).Inc()
}

// sessionCreated counts a login that began through mode.
func (m *metrics) sessionCreated(mode string) { m.created.WithLabelValues(mode).Inc() }

// sessionRenewed counts a stored session given a new id at a login.
func (m *metrics) sessionRenewed(mode string) { m.renewed.WithLabelValues(mode).Inc() }

// sessionsDestroyed counts n logins of mode ended for reason.
func (m *metrics) sessionsDestroyed(mode, reason string, n int) {
	m.destroyed.WithLabelValues(mode, reason).Add(float64(n))
}

// tokenLogin counts a JWT or API login: a login began and its first pair
// was issued.
func (m *metrics) tokenLogin(mode string) {
	m.created.WithLabelValues(mode).Inc()
	m.issued.WithLabelValues(mode).Inc()
}

// tokenRefresh counts a refresh token spent for a new pair.
func (m *metrics) tokenRefresh(mode string) {
	m.renewed.WithLabelValues(mode).Inc()
	m.refreshed.WithLabelValues(mode).Inc()
	m.issued.WithLabelValues(mode).Inc()
}

// tokenRevoked counts a JWT or API login revoked for reason.
func (m *metrics) tokenRevoked(mode, reason string) {
	m.revoked.WithLabelValues(mode, reason).Inc()
	m.destroyed.WithLabelValues(mode, reason).Inc()
}

// refreshReused counts a reuse detection, which revoked its login.
func (m *metrics) refreshReused(mode string) {
	m.reused.WithLabelValues(mode).Inc()
	m.tokenRevoked(mode, endReuse)
}

// retried returns a hook that counts the compare-and-swap retries of kind.
func (m *metrics) retried(kind string) func() {
	c := m.retries.WithLabelValues(kind)
	return c.Inc
}

// expired returns a hook that counts a login of mode found expired.
func (m *metrics) expired(mode string) func() {
	c := m.destroyed.WithLabelValues(mode, endExpired)
	return c.Inc
}

// watchVerifyCache reports the hits and misses of the access-token
// verifiers' caches, as stats gives them, in
// sessionkit_token_verify_cache_total{result="hit"|"miss"}.
func (m *metrics) watchVerifyCache(stats func() (hits, misses uint64)) error {
	c := &verifyCacheCollector{
		desc: prometheus.NewDesc("sessionkit_token_verify_cache_total",
			"Access tokens verified, by whether the verifier remembered the token (hit: no parse and no signature check; "+
				"its key, times and login are still checked) or checked it in full (miss).",
			[]string{"result"}, nil),
		stats: stats,
	}
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("server: registering metrics: %w", err)
	}
	return nil
}

// verifyCacheCollector is the collector of watchVerifyCache.
type verifyCacheCollector struct {
	desc  *prometheus.Desc
	stats func() (hits, misses uint64)
}

func (c *verifyCacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *verifyCacheCollector) Collect(ch chan<- prometheus.Metric) {
	hits, misses := c.stats()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(hits), "hit")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(misses), "miss")
}
