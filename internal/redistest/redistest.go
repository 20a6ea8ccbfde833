// Package redistest starts Redis deployments of local redis-server
// processes for tests: a Redis Cluster of three primaries and three
// replicas ([StartCluster]) and a Sentinel set of one primary, one replica
// and three Sentinels ([StartSentinel]), each server on free loopback
// ports, in a temporary directory of the test, keeping nothing on disk.
// Both wait until the deployment is whole (every slot served, every
// replica in sync, the Sentinels agreed) before they return, and can kill
// a primary with SIGKILL and wait for its replica to be promoted, timing
// both. Every process they start is killed, by its PID, when the test
// ends.
//
// They need redis-server 7.0 or later (for cluster-port) and redis-cli,
// from Debian's redis-server package, which .ci/run installs. Without
// them the test is skipped with a message, except under CI=true, where it
// fails, as internal/testenv does for unreachable servers: a CI run that
// skipped these tests has not tested the deployments.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Deadlines of the waits. They are generous, because CI runs the tests
// of several packages at once on two cores, with the race detector; each
// wait returns as soon as its condition holds.
const (
	startTimeout = 30 * time.Second // a server answers PING
	readyTimeout = 90 * time.Second // a deployment is whole
	queryTimeout = 2 * time.Second  // one command of a wait
	pollInterval = 10 * time.Millisecond
)

// binaries are the paths of the programs this package runs.
type binaries struct {
	server, cli string
}

// lookBinaries finds redis-server (7.0 or later) and redis-cli, or skips
// the test (fails it under CI=true).
func lookBinaries(t testing.TB) binaries {
	t.Helper()
	var b binaries
	for _, p := range []struct {
		name string
		path *string
	}{{"redis-server", &b.server}, {"redis-cli", &b.cli}} {
		path, err := exec.LookPath(p.name)
		if err != nil {
			missing(t, fmt.Sprintf("%s is not installed (%v)", p.name, err))
		}
		*p.path = path
	}
	out, err := exec.Command(b.server, "--version").CombinedOutput()
	if err != nil {
		missing(t, fmt.Sprintf("%s --version: %v: %s", b.server, err, out))
	}
	if major, ok := serverMajor(string(out)); !ok || major < 7 {
		missing(t, fmt.Sprintf("%s is not Redis 7.0 or later (which cluster-port needs): %s", b.server, strings.TrimSpace(string(out))))
	}
	return b
}

var versionRE = regexp.MustCompile(`\bv=(\d+)\.`)

// serverMajor returns the major version in redis-server --version's output.
func serverMajor(out string) (int, bool) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// missing skips the test for want of a program, or fails it under CI=true.
func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s and CI=true, so this is a failure, not a skip (.ci/run installs Debian's redis-server package)", why)
	}
	t.Skipf("skipping: %s; install Debian's redis-server package (redis-server and redis-cli 7.0 or later)", why)
}

// Server is one redis-server process (a Cluster node, a primary, a
// replica or a Sentinel).
type Server struct {
	// Addr is where it listens, 127.0.0.1:PORT.
	Addr string
	// Dir is its working directory, in the test's temporary directory.
	Dir string
	// Role says what it was started as, for messages ("node 3",
	// "primary", "sentinel 2", ...).
	Role string

	cmd    *exec.Cmd
	log    *tailBuffer
	done   chan struct{}
	client *redis.Client // for the waits; closed when the test ends
}

// PID is the process ID of the server.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Alive reports whether the process has not exited.
func (s *Server) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Log returns the end of what the server wrote (its log goes to standard
// output).
func (s *Server) Log() string { return s.log.String() }

// Kill ends the server with SIGKILL, by its PID: no shutdown, no last
// replication, as a crash or an OOM kill. It returns once the process has
// exited, with the time the signal was sent.
func (s *Server) Kill(t testing.TB) time.Time {
	t.Helper()
	at := time.Now()
	if !s.Alive() {
		t.Fatalf("%s (%s, PID %d) has exited already; it cannot be killed", s.Role, s.Addr, s.PID())
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL to %s (%s, PID %d): %v", s.Role, s.Addr, s.PID(), err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s (%s, PID %d) did not exit within 10s of SIGKILL", s.Role, s.Addr, s.PID())
	}
	return at
}

// Client returns a client of this server alone (no retries, short
// timeouts), for commands the test sends it. The package closes it when
// the test ends.
func (s *Server) Client() *redis.Client { return s.client }

// String names the server for messages.
func (s *Server) String() string { return s.Role + " " + s.Addr }

// startServer starts a server with the arguments args returns for the
// ports it is given (a port to listen on, and a second one for the
// Cluster bus), in a new temporary directory, and waits until it answers
// PING. The ports are free when chosen; if another process takes one
// before the server binds it, the server is started again on others.
func startServer(t testing.TB, role string, command []string, args func(dir string, port, busPort int) []string) *Server {
	t.Helper()
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, 2)
		argv := append(append([]string(nil), command[1:]...), args(dir, ports[0], ports[1])...)
		s := &Server{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
			Dir:  dir,
			Role: role,
			cmd:  exec.Command(command[0], argv...),
			log:  &tailBuffer{max: 256 << 10},
			done: make(chan struct{}),
		}
		s.cmd.Dir = dir
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		setProcAttr(s.cmd)
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", role, err)
		}
		go func() { s.cmd.Wait(); close(s.done) }()
		s.client = redis.NewClient(&redis.Options{
			Addr: s.Addr, DialTimeout: time.Second, ReadTimeout: queryTimeout, WriteTimeout: queryTimeout,
			MaxRetries: -1, PoolSize: 2, DisableIdentity: true,
		})
		// Registered after TempDir's, so it runs first: the process is
		// gone before its directory is removed.
		t.Cleanup(func() {
			s.client.Close()
			if s.Alive() {
				s.cmd.Process.Kill() // SIGKILL, by PID; ends a stopped process too
			}
			<-s.done
			if t.Failed() {
				t.Logf("log of %s (PID %d), last lines:\n%s", s, s.PID(), lastLines(s.log.String(), 30))
			}
		})
		err := s.waitPing()
		if err == nil {
			return s
		}
		if !s.Alive() && strings.Contains(s.log.String(), "Address already in use") && attempt < 5 {
			continue // a port was taken between the choice and the bind
		}
		t.Fatalf("%s (PID %d) does not answer PING: %v\n%s", s, s.PID(), err, s.log.String())
	}
}

// waitPing waits until the server answers PING, or has exited.
func (s *Server) waitPing() error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		err := s.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if !s.Alive() {
			return fmt.Errorf("it exited: %s", s.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("for %v: %w", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePorts returns n distinct loopback ports nobody listens on now.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are chosen, so that they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// waitFor calls check every pollInterval until it returns nil, and fails
// the test with its last error if that has not happened within timeout.
func waitFor(t testing.TB, what string, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// infoField returns the value of name in the text of INFO.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// replicaInSync returns nil when s is a replica whose link to its primary
// is up and whose first synchronisation is over.
func replicaInSync(ctx context.Context, s *Server) error {
	info, err := s.client.Info(ctx, "replication").Result()
	if err != nil {
		return fmt.Errorf("%s: INFO replication: %w", s, err)
	}
	if role := infoField(info, "role"); role != "slave" {
		return fmt.Errorf("%s has role %q, want slave", s, role)
	}
	if st := infoField(info, "master_link_status"); st != "up" {
		return fmt.Errorf("%s: master_link_status %q", s, st)
	}
	if infoField(info, "master_sync_in_progress") != "0" {
		return fmt.Errorf("%s: its synchronisation is in progress", s)
	}
	return nil
}

// replicasOnline returns nil when s is a primary that streams its writes
// to want replicas or more: INFO replication lists them with
// state=online. (After a diskless full synchronisation the replica's link
// is up before the primary puts it online, on the replica's first ACK, up
// to a second later; until then writes are held back, and a primary
// killed then takes them with it.)
func replicasOnline(ctx context.Context, s *Server, want int) error {
	info, err := s.client.Info(ctx, "replication").Result()
	if err != nil {
		return fmt.Errorf("%s: INFO replication: %w", s, err)
	}
	if role := infoField(info, "role"); role != "master" {
		return fmt.Errorf("%s has role %q, want master", s, role)
	}
	online := 0
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "slave") && strings.Contains(line, "state=online") {
			online++
		}
	}
	if online < want {
		return fmt.Errorf("%s streams to %d replicas, want %d", s, online, want)
	}
	return nil
}

// isPrimary reports whether s says it is a primary (INFO's role:master).
func isPrimary(ctx context.Context, s *Server) (bool, error) {
	info, err := s.client.Info(ctx, "replication").Result()
	if err != nil {
		return false, err
	}
	return infoField(info, "role") == "master", nil
}

// Failover is what a test learns of one primary killed and its replica
// promoted.
type Failover struct {
	// Killed is the primary that was killed, at KilledAt.
	Killed   *Server
	KilledAt time.Time
	// Promoted is the replica that took over. PromotedAt is when it
	// first said it was a primary (Cluster: its own CLUSTER NODES names it
	// master of the killed primary's slots; Sentinel: its role is master),
	// as seen by polling every 10 ms.
	Promoted   *Server
	PromotedAt time.Time
	// AgreedAt is when every surviving Cluster node, or every Sentinel,
	// first named the new primary.
	AgreedAt time.Time
}

// String gives the times, for the test's log.
func (f *Failover) String() string {
	return fmt.Sprintf("%s killed (SIGKILL); %s promoted %v later; all agreed %v after the kill",
		f.Killed, f.Promoted, f.PromotedAt.Sub(f.KilledAt).Round(time.Millisecond), f.AgreedAt.Sub(f.KilledAt).Round(time.Millisecond))
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = append(w.b[:0], w.b[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}
