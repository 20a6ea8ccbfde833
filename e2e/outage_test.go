package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/testenv"
)

// outageControl breaks and mends the store under a running server.
type outageControl struct {
	// hang makes the store stop answering while connections stay open;
	// resume lets it answer again.
	hang, resume func(t *testing.T)
	// stop takes the store down (connections closed, new ones refused);
	// restart brings it back at the same address, its data kept.
	stop, restart func(t *testing.T)
}

// TestOutage runs "sessionkit serve" on a store the test can break: a
// Redis server of its own, and the shared PostgreSQL behind a TCP proxy of
// its own. With the store hung, then stopped, a logged-in user's pages
// answer 503 with Retry-After (not a redirect to the login page, not a
// hang) and /readyz answers 503 while /healthz (liveness) stays 200, so
// that nothing restarts the process over an outage it cannot mend; once
// the store is back the same login
// works again, without restarting sessionkit, and its count goes on where
// it was: the failed views did not count and nothing was lost.
func TestOutage(t *testing.T) {
	stores := []struct {
		name  string
		setup func(t *testing.T) (spec string, ctl outageControl)
	}{
		{"redis", ownRedis},
		{"postgres", proxiedPostgres},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			spec, ctl := st.setup(t)
			srv := startProcess(t, freeAddr(t), "--store", spec)
			base := "http://" + srv.addr
			b := newAgent(t, srv.log.String)
			if r := b.get(base + "/readyz"); r.StatusCode != http.StatusOK {
				t.Fatalf("/readyz with the store up: %v, want 200", r)
			}

			user, pass := randomName("outage_"), "correct horse battery"
			b.register(base, user, pass)
			b.login(base, "session", user, pass)
			b.profile(base, "session", user, 1)
			b.profile(base, "session", user, 2)
			b.login(base, "jwt", user, pass)
			b.profile(base, "jwt", user, 1)
			access := b.decodePair("API login", b.api(http.MethodPost, base+"/api/login",
				map[string]string{"username": user, "password": pass}, "")).AccessToken
			b.me(base, access, user)
			sessionCount, jwtCount := 2, 1

			phases := []struct {
				name     string
				down, up func(t *testing.T)
			}{
				{"hung", ctl.hang, ctl.resume},
				{"stopped", ctl.stop, ctl.restart},
			}
			for _, ph := range phases {
				ok := t.Run(ph.name, func(t *testing.T) {
					b := b.with(t)
					ph.down(t)
					for range 3 {
						expectUnavailable(t, st.name, ph.name, "session profile", b.get(base+"/session/profile"))
					}
					expectUnavailable(t, st.name, ph.name, "JWT profile", b.get(base+"/jwt/profile"))
					r := b.api(http.MethodGet, base+"/api/me", nil, access)
					expectUnavailable(t, st.name, ph.name, "/api/me", r)
					if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
						t.Errorf("/api/me during the outage: Content-Type %q, want application/problem+json", ct)
					}
					r = b.get(base + "/readyz")
					t.Logf("%s %s: /readyz answered %d in %v", ph.name, st.name, r.StatusCode, r.latency.Round(time.Millisecond))
					if r.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("/readyz during the outage: %v, want 503", r)
					}
					if r := b.get(base + "/healthz"); r.StatusCode != http.StatusOK {
						t.Errorf("/healthz (liveness) during the outage: %v, want 200", r)
					}

					ph.up(t)
					// The very next requests succeed, on the same login, and
					// the counts go on from before the outage.
					sessionCount++
					b.greets("session profile after the store came back", afterRecovery(t, srv, "session profile", func() response {
						return b.get(base + "/session/profile")
					}), user, sessionCount)
					jwtCount++
					b.greets("JWT profile after the store came back", afterRecovery(t, srv, "JWT profile", func() response {
						return b.get(base + "/jwt/profile")
					}), user, jwtCount)
					b.isMe("/api/me after the store came back", afterRecovery(t, srv, "/api/me", func() response {
						return b.api(http.MethodGet, base+"/api/me", nil, access)
					}), user)
					if r := b.get(base + "/readyz"); r.StatusCode != http.StatusOK {
						t.Errorf("/readyz after the store came back: %v, want 200", r)
					}
				})
				if !ok {
					t.Logf("server log:\n%s", srv.log.String())
					return
				}
			}
		})
	}
}

// expectUnavailable checks that r, answered while the store was down, is
// a 503 with Retry-After, and logs how long it took.
func expectUnavailable(t *testing.T, store, phase, what string, r response) {
	t.Helper()
	t.Logf("%s %s: %s answered %d in %v", phase, store, what, r.StatusCode, r.latency.Round(time.Millisecond))
	switch {
	case r.StatusCode == http.StatusSeeOther || r.StatusCode == http.StatusUnauthorized:
		t.Errorf("%s with the store %s: %v: the user was treated as logged out, want 503", what, phase, r)
	case r.StatusCode != http.StatusServiceUnavailable:
		t.Errorf("%s with the store %s: %v, want 503", what, phase, r)
	case r.Header.Get("Retry-After") == "":
		t.Errorf("%s with the store %s: 503 without Retry-After", what, phase)
	}
}

// afterRecovery sends a request once the store is back and returns its
// answer. The first answer counts, with one exception: the shared machine
// (other test packages use the same PostgreSQL server) can make a healthy
// store miss the 500ms deadline now and then, so a 503 that the server
// logged as a deadline exceeded is tried again, twice at most, and noted.
// A 503 for any other reason (a connection broken by the outage and used
// again, say) is the answer: recovery must not cost the next user a
// failed request.
func afterRecovery(t *testing.T, srv *process, what string, send func() response) response {
	t.Helper()
	for attempt := 1; ; attempt++ {
		r := send()
		if r.StatusCode != http.StatusServiceUnavailable || attempt == 3 {
			return r
		}
		reason := logLine(srv.log.String(), r.Header.Get("X-Request-Id"))
		if !strings.Contains(reason, "deadline exceeded") {
			t.Errorf("%s after the store came back answered 503 for another reason than a slow store: %s", what, reason)
			return r
		}
		t.Logf("NOTE: %s after the store came back answered 503: the store was slow, not down (%s); trying again", what, reason)
	}
}

// logLine returns the server's log line about request id, or a note that
// there is none.
func logLine(log, id string) string {
	if id != "" {
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, "request_id="+id) {
				return l
			}
		}
	}
	return fmt.Sprintf("no log line for request id %q", id)
}

// ownRedis starts a Redis server for this test alone, persisting to an
// append-only file in a temporary directory, so that it can be stopped
// and started again with its data.
func ownRedis(t *testing.T) (string, outageControl) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		path, err = exec.LookPath("/usr/bin/redis-server")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed and CI=true: %v", err)
		}
		t.Skipf("skipping: redis-server is not installed (%v)", err)
	}
	rs := &redisServer{path: path, addr: freeAddr(t), dir: t.TempDir()}
	rs.start(t)
	return "redis://" + rs.addr + "/0", outageControl{
		hang:    func(t *testing.T) { rs.signal(t, syscall.SIGSTOP) },
		resume:  func(t *testing.T) { rs.signal(t, syscall.SIGCONT) },
		stop:    rs.stop,
		restart: rs.start,
	}
}

// redisServer is a redis-server process the test controls.
type redisServer struct {
	path, addr, dir string
	cmd             *exec.Cmd
	log             *lockedWriter
	done            chan struct{}
}

// start runs redis-server and waits until it answers PING.
func (rs *redisServer) start(t *testing.T) {
	t.Helper()
	_, port, err := net.SplitHostPort(rs.addr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rs.path, "--save", "", "--appendonly", "yes", "--dir", rs.dir,
		"--port", port, "--bind", "127.0.0.1")
	log := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	rs.cmd, rs.log, rs.done = cmd, log, done
	t.Cleanup(func() {
		cmd.Process.Kill() // SIGKILL ends a stopped process too
		<-done
	})

	client := redis.NewClient(&redis.Options{Addr: rs.addr, DialTimeout: time.Second, MaxRetries: -1})
	defer client.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			t.Fatalf("redis-server exited at start: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s does not answer PING: %v\n%s", rs.addr, err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rs *redisServer) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := rs.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to redis-server: %v", sig, err)
	}
}

// stop ends redis-server with SIGTERM, as a service manager does; it
// writes its append-only file on the way out.
func (rs *redisServer) stop(t *testing.T) {
	t.Helper()
	rs.signal(t, syscall.SIGTERM)
	select {
	case <-rs.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("redis-server did not exit within 15s of SIGTERM: %s", rs.log.String())
	}
}

// proxiedPostgres gives the test a schema of its own on the shared
// PostgreSQL server, reached through a TCP proxy the test controls.
func proxiedPostgres(t *testing.T) (string, outageControl) {
	base, schema := testenv.PostgresSchema(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := startProxy(t, upstream)
	u.Host = p.addr
	return withQuery(t, u.String(), "schema", schema), outageControl{
		hang:    func(*testing.T) { p.hang() },
		resume:  func(*testing.T) { p.resume() },
		stop:    func(*testing.T) { p.stop() },
		restart: p.start,
	}
}

// tcpProxy forwards connections from addr to upstream, unless told to
// hang (it accepts but forwards nothing, in either direction, until
// resumed) or stopped (every connection closed and new ones refused until
// started again on the same address).
type tcpProxy struct {
	addr, upstream string
	wg             sync.WaitGroup

	mu    sync.Mutex
	ln    net.Listener
	gate  chan struct{} // closed while forwarding
	hung  bool
	pipes map[*pipe]struct{}
}

// pipe is one proxied connection.
type pipe struct {
	mu             sync.Mutex
	client, server net.Conn
	done           chan struct{}
	once           sync.Once
}

func (p *pipe) close() {
	p.once.Do(func() {
		close(p.done)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.client.Close()
		if p.server != nil {
			p.server.Close()
		}
	})
}

func startProxy(t *testing.T, upstream string) *tcpProxy {
	t.Helper()
	gate := make(chan struct{})
	close(gate)
	p := &tcpProxy{addr: freeAddr(t), upstream: upstream, gate: gate, pipes: map[*pipe]struct{}{}}
	p.start(t)
	t.Cleanup(func() {
		p.stop()
		p.wg.Wait()
	})
	return p
}

// start listens on the proxy's address (again).
func (p *tcpProxy) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ln, err = net.Listen("tcp", p.addr)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
		}
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			pp := &pipe{client: c, done: make(chan struct{})}
			p.mu.Lock()
			p.pipes[pp] = struct{}{}
			p.mu.Unlock()
			p.wg.Go(func() { p.serve(pp) })
		}
	})
}

// serve connects pp to upstream, once forwarding is allowed, and copies
// both ways until either side closes.
func (p *tcpProxy) serve(pp *pipe) {
	defer func() {
		pp.close()
		p.mu.Lock()
		delete(p.pipes, pp)
		p.mu.Unlock()
	}()
	if !p.wait(pp) {
		return
	}
	server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		return
	}
	pp.mu.Lock()
	pp.server = server
	pp.mu.Unlock()
	select {
	case <-pp.done: // stopped while dialing
		server.Close()
		return
	default:
	}
	var copies sync.WaitGroup
	copies.Go(func() { p.copy(pp, pp.client, server) })
	copies.Go(func() { p.copy(pp, server, pp.client) })
	copies.Wait()
}

// copy forwards src to dst, holding whatever it has while the proxy hangs.
func (p *tcpProxy) copy(pp *pipe, src, dst net.Conn) {
	defer pp.close()
	buf := make([]byte, 32<<10)
	for {
		if !p.wait(pp) {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(pp) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait blocks while the proxy hangs; it reports false if pp was closed.
func (p *tcpProxy) wait(pp *pipe) bool {
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	select {
	case <-gate:
		return true
	case <-pp.done:
		return false
	}
}

// hang stops forwarding: connections stay open, nothing passes.
func (p *tcpProxy) hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hung {
		p.hung = true
		p.gate = make(chan struct{})
	}
}

// resume forwards again, starting with what was held.
func (p *tcpProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hung {
		p.hung = false
		close(p.gate)
	}
}

// stop closes the listener and every connection: the store is gone.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	ln := p.ln
	pipes := make([]*pipe, 0, len(p.pipes))
	for pp := range p.pipes {
		pipes = append(pipes, pp)
	}
	p.mu.Unlock()
	if ln != nil {
		ln.Close() // a second stop finds it closed already
	}
	for _, pp := range pipes {
		pp.close()
	}
}
