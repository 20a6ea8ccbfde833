package server

import (
	"context"
	"net/http"
	"time"
)

// healthTimeout bounds how long the readiness check waits for the store.
const healthTimeout = time.Second

// ready answers GET /readyz: 200 when the store answers within a second,
// 503 otherwise, so that a load balancer sends no traffic to an instance
// that cannot serve it.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	noStore(w)
	if err := s.backend.Ping(ctx); err != nil {
		s.log.WarnContext(r.Context(), "readiness check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("store unavailable\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// live answers GET /healthz and GET /livez: 200 while the process serves
// requests. It never asks the store: restarting the process would not mend
// a store outage, so liveness must not fail during one.
func live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	noStore(w)
	w.Write([]byte("ok\n"))
}
