package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/passkey"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/token"
)

// defaultStore is where state lives when --store is not given.
const defaultStore = "sqlite:sessionkit.db"

// defaultShutdownTimeout is how long a shutdown waits for requests in
// flight when --shutdown-timeout is not given, or is 0.
const defaultShutdownTimeout = 10 * time.Second

// errHelp is returned when the user asked for --help: exit status 0.
var errHelp = errors.New("help requested")

// serveConfig is everything "sessionkit serve" is configured with.
type serveConfig struct {
	Addr            string
	MetricsAddr     string // "": /metrics on Addr
	Pprof           bool   // on MetricsAddr only
	Store           string
	SecureCookies   cookie.SecureMode
	TrustedProxies  []netip.Prefix
	LogLevel        slog.Level
	LogFormat       string
	CookieLifetime  time.Duration
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	StoreTimeout    time.Duration
	ShutdownTimeout time.Duration
	ReauthWindow    time.Duration
	Tokens          tokenConfig

	// WebAuthnRPID and WebAuthnOrigins: see server.Config. Empty origins
	// are filled in by webauthnOrigins.
	WebAuthnRPID    string
	WebAuthnOrigins []string

	// MaxConcurrentLogins and MaxSessionsPerUser: see server.Config (0
	// means the default, negative no limit).
	MaxConcurrentLogins int
	MaxSessionsPerUser  int

	// KEK is where the key-encryption key is (kekUsage); "" means the
	// store's default (kekfile.go).
	KEK kekConfig

	// IntrospectionSecret enables POST /api/introspect; see server.Config.
	IntrospectionSecret string
}

// tokenConfig is the JWT configuration, shared by "serve" and "keys". Each
// field goes as it is into server.Config or token.RingOptions, whose zero
// is the default and whose negative Leeway and RefreshGrace are none.
type tokenConfig struct {
	AccessLifetime  time.Duration
	Leeway          time.Duration
	Issuer          string
	Audience        string
	Algorithm       token.Algorithm
	RefreshIdle     time.Duration
	RefreshLifetime time.Duration
	RefreshGrace    time.Duration
}

func defaultTokenConfig() tokenConfig {
	return tokenConfig{
		AccessLifetime:  token.DefaultAccessLifetime,
		Leeway:          token.DefaultLeeway,
		Issuer:          server.DefaultTokenIssuer,
		Audience:        server.DefaultTokenAudience,
		Algorithm:       token.DefaultAlgorithm,
		RefreshIdle:     token.DefaultRefreshIdle,
		RefreshLifetime: token.DefaultRefreshLifetime,
		RefreshGrace:    token.DefaultRefreshGrace,
	}
}

// lifetimeFlags registers the flags that decide how long tokens live,
// which "keys" needs too (a key retires when its tokens have expired, and
// is deleted when no login idle since could still present one).
func (c *tokenConfig) lifetimeFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.AccessLifetime, "access-token-lifetime", c.AccessLifetime, "how long a JWT access token is valid")
	fs.DurationVar(&c.Leeway, "token-leeway", c.Leeway, "clock skew allowed when checking token times (negative, such as -1s: none)")
	fs.DurationVar(&c.RefreshIdle, "refresh-idle-timeout", c.RefreshIdle, "how long a JWT login lasts without a refresh (a retired signing key is kept, no longer verifying, as long, so an old token still sends its holder to refresh)")
}

// flags registers every token flag.
func (c *tokenConfig) flags(fs *flag.FlagSet) {
	c.lifetimeFlags(fs)
	fs.StringVar(&c.Issuer, "token-issuer", c.Issuer, "the iss claim of access tokens, checked on every token")
	fs.StringVar(&c.Audience, "token-audience", c.Audience, "the aud claim of access tokens, checked on every token")
	fs.Func("token-algorithm", "`algorithm` of the first signing key, made on first start: EdDSA, ES256, RS256 or HS256 (default EdDSA)", func(s string) error {
		a, err := token.ParseAlgorithm(s)
		c.Algorithm = a
		return err
	})
	fs.DurationVar(&c.RefreshLifetime, "refresh-lifetime", c.RefreshLifetime, "how long a JWT login lasts at most, however active")
	fs.DurationVar(&c.RefreshGrace, "refresh-grace", c.RefreshGrace, "how long a spent refresh token is still honoured, for clients that refresh twice at once (negative, such as -1s: none)")
}

// check reports a duration flag out of range: a lifetime cannot be none.
func (c tokenConfig) check() error {
	if err := notNegative(map[string]time.Duration{
		"access-token-lifetime": c.AccessLifetime, "refresh-idle-timeout": c.RefreshIdle, "refresh-lifetime": c.RefreshLifetime,
	}); err != nil {
		return err
	}
	if c.Issuer == "" || c.Audience == "" {
		return fmt.Errorf("%w: --token-issuer and --token-audience must not be empty", errUsage)
	}
	return nil
}

// notNegative reports the first flag (by name) of durations that is
// negative: for those, 0 means the default and there is no "none".
func notNegative(durations map[string]time.Duration) error {
	for _, name := range slices.Sorted(maps.Keys(durations)) {
		if durations[name] < 0 {
			return fmt.Errorf("%w: --%s must not be negative (0 means the default)", errUsage, name)
		}
	}
	return nil
}

// parseServeFlags reads the flags of "serve", falling back to SESSIONKIT_*
// environment variables for flags not given on the command line.
func parseServeFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (serveConfig, error) {
	cfg := serveConfig{
		Addr:            "127.0.0.1:8080",
		Store:           defaultStore,
		LogFormat:       "text",
		CookieLifetime:  server.DefaultCookieLifetime,
		SessionIdle:     server.DefaultSessionIdle,
		SessionLifetime: server.DefaultSessionLife,
		StoreTimeout:    server.DefaultStoreTimeout,
		ShutdownTimeout: defaultShutdownTimeout,
		ReauthWindow:    server.DefaultReauthWindow,
		Tokens:          defaultTokenConfig(),

		MaxConcurrentLogins: server.DefaultMaxConcurrentLogins,
		MaxSessionsPerUser:  server.DefaultMaxSessionsPerUser,
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "`host:port` to listen on")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "`host:port` to serve GET /metrics on instead of --addr, which then answers 404 to it")
	fs.BoolVar(&cfg.Pprof, "pprof", false, "serve Go's profiles (/debug/pprof/) on --metrics-addr, which it needs")
	fs.StringVar(&cfg.Store, "store", cfg.Store, "where state lives: sqlite:PATH (relative to the working directory), memory:, redis://HOST:PORT/DB[?prefix=P], redis+cluster://HOST:PORT?addr=HOST:PORT&…, redis+sentinel://HOST:PORT?addr=HOST:PORT&…&master=NAME or postgres://USER@HOST:PORT/DB[?schema=S]")
	fs.Func("secure-cookies", "Secure cookie `policy`: auto (when the request is HTTPS), always or never (default auto)", func(s string) error {
		m, err := cookie.ParseSecureMode(s)
		cfg.SecureCookies = m
		return err
	})
	fs.Func("trusted-proxies", "comma-separated `CIDRs` or addresses of proxies trusted for X-Forwarded-For and X-Forwarded-Proto", func(s string) error {
		p, err := parsePrefixes(s)
		cfg.TrustedProxies = p
		return err
	})
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log `format`: text or json")
	fs.DurationVar(&cfg.CookieLifetime, "cookie-lifetime", cfg.CookieLifetime, "how long a cookie-mode login lasts")
	fs.DurationVar(&cfg.SessionIdle, "session-idle-timeout", cfg.SessionIdle, "how long a session-mode login lasts without a request (negative, such as -1s: none, and only --session-lifetime applies)")
	fs.DurationVar(&cfg.SessionLifetime, "session-lifetime", cfg.SessionLifetime, "how long a session-mode login lasts at most, however active")
	fs.DurationVar(&cfg.StoreTimeout, "store-timeout", cfg.StoreTimeout, "how long a request waits for the store before answering 503")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long a shutdown waits for requests in flight")
	fs.IntVar(&cfg.MaxConcurrentLogins, "max-concurrent-logins", cfg.MaxConcurrentLogins, "login and registration requests one client address may have in flight at once; more answer 429 (negative, such as -1: no limit)")
	fs.IntVar(&cfg.MaxSessionsPerUser, "max-sessions-per-user", cfg.MaxSessionsPerUser, "logins one user may have at once, of every kind (sessions, cookie logins, JWT and API logins); a login past it ends the oldest (negative, such as -1: no limit)")
	fs.DurationVar(&cfg.ReauthWindow, "reauth-window", cfg.ReauthWindow, "how recently a user must have proved who they are (password or passkey) to delete their account or add a passkey; older logins are asked again")
	fs.StringVar(&cfg.WebAuthnRPID, "webauthn-rp-id", "localhost", "the `domain` passkeys are bound to, as browsers see the site (never an IP address); changing it orphans every passkey")
	fs.Func("webauthn-origins", "comma-separated `origins` whose pages may use passkeys, each on --webauthn-rp-id or a subdomain (default http://localhost:PORT for localhost, with --addr's port; https://RP-ID otherwise)", func(s string) error {
		cfg.WebAuthnOrigins = nil
		for _, o := range strings.Split(s, ",") {
			if o = strings.TrimSpace(o); o != "" {
				cfg.WebAuthnOrigins = append(cfg.WebAuthnOrigins, strings.TrimSuffix(o, "/"))
			}
		}
		return nil
	})
	cfg.Tokens.flags(fs)
	cfg.KEK.flags(fs)
	fs.StringVar(&cfg.IntrospectionSecret, "introspection-secret", "", "enables POST /api/introspect (RFC 7662) for services that present this `secret` as the password of HTTP Basic authentication; give it by SESSIONKIT_INTROSPECTION_SECRET rather than on the command line")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sessionkit serve [flags]\n\nStarts the web server. Each flag may also be set by its SESSIONKIT_* variable (--log-level: SESSIONKIT_LOG_LEVEL).\nA duration or a count of 0 means its default; a negative one (-1s, -1) means none where the flag says so, and is refused elsewhere.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlagSet(fs, args, stdout, stderr); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := applyEnv(fs, getenv); err != nil {
		return cfg, err
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return cfg, fmt.Errorf("%w: --log-format must be text or json, not %q", errUsage, cfg.LogFormat)
	}
	if cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			return cfg, fmt.Errorf("%w: --metrics-addr %q: want host:port (127.0.0.1:9090, or :9090 for every interface)", errUsage, cfg.MetricsAddr)
		}
	}
	if cfg.Pprof && cfg.MetricsAddr == "" {
		return cfg, fmt.Errorf("%w: --pprof needs --metrics-addr: profiles are never served on the public address", errUsage)
	}
	if err := notNegative(map[string]time.Duration{
		"cookie-lifetime": cfg.CookieLifetime, "store-timeout": cfg.StoreTimeout, "shutdown-timeout": cfg.ShutdownTimeout,
		"session-lifetime": cfg.SessionLifetime, "reauth-window": cfg.ReauthWindow,
	}); err != nil {
		return cfg, err
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = defaultShutdownTimeout
	}
	if err := cfg.Tokens.check(); err != nil {
		return cfg, err
	}
	if len(cfg.WebAuthnOrigins) == 0 {
		cfg.WebAuthnOrigins = defaultOrigins(cfg.WebAuthnRPID, cfg.Addr)
	}
	if err := passkey.CheckOrigins(cfg.WebAuthnRPID, cfg.WebAuthnOrigins); err != nil {
		return cfg, fmt.Errorf("%w: --webauthn-rp-id and --webauthn-origins: %v", errUsage, err)
	}
	return cfg, nil
}

// defaultOrigins are the origins passkeys work from when
// --webauthn-origins is not given: for localhost, the port of addr by
// name, over http; for any other relying party ID, its https origin.
func defaultOrigins(rpID, addr string) []string {
	if rpID != "localhost" {
		return []string{"https://" + rpID}
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return []string{"http://localhost"}
	}
	return []string{"http://localhost:" + port}
}

// applyEnv sets each flag that was not on the command line from its
// environment variable, when that is set.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%w: %s: %v", errUsage, name, e)
		}
	})
	return err
}

// envName is the environment variable of a flag: "log-level" is
// SESSIONKIT_LOG_LEVEL.
func envName(flagName string) string {
	return "SESSIONKIT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parsePrefixes parses a comma-separated list of CIDRs or single addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %v", part, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %v", part, err)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
