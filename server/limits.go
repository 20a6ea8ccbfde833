package server

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// DefaultMaxConcurrentLogins is how many login and registration requests
// one client address may have in flight at once when Config leaves it
// zero. Each one hashes a password with argon2id (tens of megabytes and
// tens of milliseconds); a browser never needs more than one or two, and a
// few more leave room for clients behind one NAT.
const DefaultMaxConcurrentLogins = 4

// DefaultMaxSessionsPerUser is how many logins one user may have at once,
// of every kind (sessions, cookie logins, refresh families), when Config
// leaves it zero; a login past it ends the user's oldest.
const DefaultMaxSessionsPerUser = 10

// loginGate counts the login and registration requests each client address
// has in flight, and refuses those past the limit. Its memory is one entry
// per address with a request in flight: entries go when their count does.
type loginGate struct {
	limit int // < 0: no limit

	mu       sync.Mutex
	inFlight map[string]int
}

func newLoginGate(limit int) *loginGate {
	return &loginGate{limit: limit, inFlight: map[string]int{}}
}

// enter counts a request of client in, and reports false (counting
// nothing) when client already has limit requests in flight.
func (g *loginGate) enter(client string) bool {
	if g.limit < 0 {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight[client] >= g.limit {
		return false
	}
	g.inFlight[client]++
	return true
}

// leave counts a request of client out.
func (g *loginGate) leave(client string) {
	if g.limit < 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight[client] <= 1 {
		delete(g.inFlight, client)
		return
	}
	g.inFlight[client]--
}

// gateKey is what one client counts under: its address, or for IPv6 its
// /64 network (one client usually holds a whole /64), as the login
// throttle counts.
func gateKey(client string) string {
	ip, err := netip.ParseAddr(client)
	if err != nil || !ip.Is6() {
		return client
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// limitConcurrentLogins wraps the routes the route table marks as logins
// (route.login): it answers 429 with Retry-After to a request from a
// client address that has MaxConcurrentLogins of them in flight already,
// before its body is read or a password hashed. Other clients pass.
func (s *Server) limitConcurrentLogins(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := s.clientAddr(r)
		key := gateKey(client)
		if !s.logins.enter(key) {
			s.log.WarnContext(r.Context(), "too many concurrent logins from one client", "client", client, "path", r.URL.Path,
				"limit", s.cfg.MaxConcurrentLogins)
			w.Header().Set("Retry-After", "1")
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.problem(w, http.StatusTooManyRequests, "too many logins at once from your address; wait for one to finish")
				return
			}
			s.renderMessage(w, http.StatusTooManyRequests, "Too many requests",
				"Too many logins are in progress from your address. Wait a moment and try again.")
			return
		}
		defer s.logins.leave(key)
		next.ServeHTTP(w, r)
	})
}
