package server

import (
	"context"
	"net/http"
	"time"
)

// healthTimeout bounds how long the readiness check waits for the store.
const healthTimeout = time.Second

// ready answers GET /readyz: 200 when the store answers within a second
// and the server has keys to seal cookies and sign tokens with, 503
// otherwise, so that a load balancer sends no traffic to an instance that
// cannot serve it. A store that lost its keys gets new ones here: the
// check reads them again, and adds a first key where there is none.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	noStore(w)
	if err := s.backend.Ping(ctx); err != nil {
		s.notReady(w, r, "store unavailable", err)
		return
	}
	if err := s.tokens.ring.Check(ctx); err != nil {
		s.notReady(w, r, "no signing key", err)
		return
	}
	if err := s.cookieKeys.reload(ctx); err != nil {
		s.notReady(w, r, "no cookie key", err)
		return
	}
	w.Write([]byte("ok\n"))
}

// notReady answers 503 with why, and logs err.
func (s *Server) notReady(w http.ResponseWriter, r *http.Request, why string, err error) {
	s.log.WarnContext(r.Context(), "readiness check failed", "reason", why, "err", err)
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(why + "\n"))
}

// live answers GET /healthz and GET /livez: 200 while the process serves
// requests. It never asks the store: restarting the process would not mend
// a store outage, so liveness must not fail during one.
func live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	noStore(w)
	w.Write([]byte("ok\n"))
}
