package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/server"
)

// Limits of the HTTP server. Go's server reads up to MaxHeaderBytes plus
// 4096 bytes of slack before it answers 431, so the setting is 4 KiB under
// the 32 KiB the contract promises.
const (
	maxHeaderTotal    = 32 << 10
	maxHeaderBytes    = maxHeaderTotal - 4096
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// serve runs the web server until ctx ends, then shuts it down gracefully.
// With --metrics-addr, /metrics (and with --pprof, the profiles) is served
// on a listener of its own, which stops with the main one.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	// The log goes out in batches (a write per request would cost a system
	// call each), warnings and errors at once, the rest within
	// logFlushInterval, everything before serve returns.
	ticker := time.NewTicker(logFlushInterval)
	defer ticker.Stop()
	logBuf := newLogBuffer(stderr, ticker.C)
	defer logBuf.Close()
	logger := slog.New(flushOnWarn{Handler: newLogger(cfg, logBuf).Handler(), buf: logBuf})

	// Tracing, if OTEL_TRACES_EXPORTER asks for it (tracing.go); the last
	// spans are exported at exit.
	tp, err := startTracing(ctx, getenv, logger)
	if err != nil {
		return err
	}
	defer stopTracing(tp, logger)

	backend, err := openTracedStore(ctx, cfg.Store, providerOf(tp))
	if err != nil {
		return err
	}
	defer backend.Close()
	current, olds, err := openKEKs(ctx, cfg.Store, cfg.KEK, logger)
	if err != nil {
		return err
	}
	defer closeKEKs(current, olds)

	initCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	scfg := cfg.serverConfig()
	scfg.KEK, scfg.PreviousKEKs = current, olds
	scfg.Logger = logger
	scfg.TracerProvider = providerOf(tp)
	srv, err := server.New(initCtx, backend, scfg)
	cancel()
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	metricsLn, err := listenMetrics(cfg, srv.MetricsHandler(), logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer metricsLn.close()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "addr", "http://"+ln.Addr().String(), "store", describeStore(cfg.Store))
	if warning := insecureCookiesWarning(ln.Addr(), cookie.Policy{Secure: cfg.SecureCookies, TrustedProxies: cfg.TrustedProxies}); warning != "" {
		logger.Warn(warning, "addr", ln.Addr().String())
	}
	metricsLn.start(logger, cfg.Pprof)

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case err := <-metricsLn.failed():
		return fmt.Errorf("serving metrics: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	if err := metricsLn.shutdown(shutdownCtx); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// serverConfig is the server.Config the flags make, without what serve
// opens or builds (the KEKs, the logger, the tracer provider). Every value
// goes as it is: a flag's 0 is the field's default, a negative value its
// "none".
func (cfg serveConfig) serverConfig() server.Config {
	return server.Config{
		IntrospectionSecret: cfg.IntrospectionSecret,
		Cookies:             cookie.Policy{Secure: cfg.SecureCookies, TrustedProxies: cfg.TrustedProxies},
		CookieLifetime:      cfg.CookieLifetime,
		SessionIdleTimeout:  cfg.SessionIdle,
		SessionLifetime:     cfg.SessionLifetime,
		StoreTimeout:        cfg.StoreTimeout,
		AccessTokenLifetime: cfg.Tokens.AccessLifetime,
		TokenLeeway:         cfg.Tokens.Leeway,
		TokenIssuer:         cfg.Tokens.Issuer,
		TokenAudience:       cfg.Tokens.Audience,
		TokenAlgorithm:      cfg.Tokens.Algorithm,
		RefreshIdleTimeout:  cfg.Tokens.RefreshIdle,
		RefreshLifetime:     cfg.Tokens.RefreshLifetime,
		RefreshGrace:        cfg.Tokens.RefreshGrace,
		MaxConcurrentLogins: cfg.MaxConcurrentLogins,
		MaxSessionsPerUser:  cfg.MaxSessionsPerUser,
		ReauthWindow:        cfg.ReauthWindow,
		WebAuthnRPID:        cfg.WebAuthnRPID,
		WebAuthnOrigins:     cfg.WebAuthnOrigins,
		OmitMetricsRoute:    cfg.MetricsAddr != "",
	}
}

// newLogger returns the logger of cfg's format and level, writing to w.
// Durations are written as Go writes them in text (58.841ms) and as
// seconds in JSON ("duration":0.058841), the unit log pipelines expect,
// rather than slog's integer nanoseconds. A line logged with the context
// of a traced request carries its trace_id and span_id (tracelog.go).
func newLogger(cfg serveConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		opts.ReplaceAttr = durationSeconds
		return slog.New(withTraceIDs(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(withTraceIDs(slog.NewTextHandler(w, opts)))
}

// durationSeconds is a slog ReplaceAttr that writes a duration as seconds.
func durationSeconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key, a.Value.Duration().Seconds())
	}
	return a
}
