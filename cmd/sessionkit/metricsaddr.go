package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofWriteTimeout bounds a response of the metrics listener when it
// serves profiles: a CPU profile or an execution trace takes the seconds
// it is asked for (30 by default), and pprof refuses one longer than the
// server's write timeout.
const pprofWriteTimeout = 5 * time.Minute

// metricsListener is the listener of --metrics-addr: GET /metrics and,
// with --pprof, Go's profiles under /debug/pprof/. Nothing else: the
// application's routes are on --addr only. A nil *metricsListener (no
// --metrics-addr) does nothing.
type metricsListener struct {
	hs     *http.Server
	ln     net.Listener
	served chan error
}

// listenMetrics listens on cfg.MetricsAddr, for metrics (the server's
// MetricsHandler) and, with cfg.Pprof, the profiles; nil when
// cfg.MetricsAddr is empty. start serves it.
func listenMetrics(cfg serveConfig, metrics http.Handler, logger *slog.Logger) (*metricsListener, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	timeout := writeTimeout
	if cfg.Pprof {
		// Not /debug/pprof/cmdline: the command line may hold a --store URL
		// with a password.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		mux.Handle("GET /debug/pprof/cmdline", http.NotFoundHandler())
		timeout = pprofWriteTimeout
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	return &metricsListener{
		hs: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      timeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		ln:     ln,
		served: make(chan error, 1),
	}, nil
}

// start serves m in a goroutine, and logs where.
func (m *metricsListener) start(logger *slog.Logger, pprof bool) {
	if m == nil {
		return
	}
	logger.Info("serving metrics", "addr", "http://"+m.ln.Addr().String()+"/metrics", "pprof", pprof)
	go func() { m.served <- m.hs.Serve(m.ln) }()
}

// failed is where m's Serve reports why it stopped; nil (never ready) for
// a nil m.
func (m *metricsListener) failed() <-chan error {
	if m == nil {
		return nil
	}
	return m.served
}

// shutdown stops m gracefully, with the main listener. A request still in
// flight when ctx ends (a profile being taken) is cut short: diagnostics do
// not hold the process up, nor make its exit a failure.
func (m *metricsListener) shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	if err := m.hs.Shutdown(ctx); err != nil {
		m.hs.Close()
	}
	if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving metrics: %w", err)
	}
	return nil
}

// close stops m at once, when serve returns early; after shutdown it does
// nothing.
func (m *metricsListener) close() {
	if m == nil {
		return
	}
	m.hs.Close()
	m.ln.Close()
}
