package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// requestID returns the id logRequests gave the request whose response
// w writes, or "" outside logRequests. (The id travels with the response
// writer, not in the request's context: a context value costs a copy of
// the request.)
func requestID(w http.ResponseWriter) string {
	for {
		switch v := w.(type) {
		case *statusRecorder:
			return v.id[0]
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return ""
		}
	}
}

// statusRecorder remembers the status a handler wrote, for the log, and
// carries the request's id.
type statusRecorder struct {
	http.ResponseWriter
	status int
	id     [1]string // the X-Request-Id header's value
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives every request an id (in the X-Request-Id response
// header) and logs one line when it ends: method, route pattern, status,
// duration (a slog duration: cmd/sessionkit's JSON log writes it in
// seconds), the id, the client address (through trusted proxies, as
// clientAddr finds it) and the user agent (valid UTF-8, at most
// store.MaxUserAgent bytes); method, route, status and duration go to the
// request metrics too. It logs no other header: no cookie, no
// Authorization, nor the query or the body. The line is handled with the
// request's context, so a handler that reads a trace from it can add the
// trace's ids.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		rand.Read(b[:])
		rec := &statusRecorder{ResponseWriter: w}
		rec.id[0] = hex.EncodeToString(b[:])
		id := rec.id[0]
		w.Header()["X-Request-Id"] = rec.id[:]
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		end := time.Now()
		s.metrics.observeRequest(pattern, r.Method, rec.status, end.Sub(start))
		ctx := r.Context()
		if !s.log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		// The record is made here rather than by Logger.LogAttrs, which
		// also looks up the caller's program counter (the line has no
		// source) at a cost of its own on every request.
		line := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		line.AddAttrs(
			slog.String("method", r.Method),
			slog.String("route", pattern),
			slog.Int("status", rec.status),
			slog.Duration("duration", end.Sub(start)),
			slog.String("request_id", id),
			slog.String("client", s.clientAddr(r)),
			slog.String("user_agent", store.ListedUserAgent(r.UserAgent())),
		)
		_ = s.log.Handler().Handle(ctx, line)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 instead of a
// dropped connection. (A panic is a bug; this keeps it from taking the
// request's neighbours with it.)
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "panic", v, "route", r.Pattern, "request_id", requestID(w))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every response carries: no MIME
// sniffing, no framing, no inline script, no referrer to other sites, and
// Cache-Control: no-store, since most pages show a user's data or carry
// credentials. The few public responses (the style sheet, the JWKS) set
// their own Cache-Control over it.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}
