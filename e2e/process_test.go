package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/sessionkit once per test run and returns its path.
// When the tests run with -race the server is built with -race as well.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "sessionkit-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "sessionkit")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/sessionkit/sessionkit/cmd/sessionkit")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is one running "sessionkit serve".
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	log  *lockedWriter
	done chan struct{}
}

// startProcess runs "sessionkit serve --addr addr" with the extra flags and
// waits until it answers /livez.
func startProcess(t *testing.T, addr string, flags ...string) *process {
	t.Helper()
	return startProcessWith(t, addr, processOptions{}, flags...)
}

// processOptions are what startProcessWith adds to startProcess.
type processOptions struct {
	env    []string      // added to the environment ("NAME=value")
	stdout *lockedWriter // gets standard output apart from the log; nil: the log gets both
}

// startProcessWith is startProcess with opts.
func startProcessWith(t *testing.T, addr string, opts processOptions, flags ...string) *process {
	t.Helper()
	p := launch(t, addr, opts, flags...)
	p.waitLive()
	return p
}

// startTogether starts a "sessionkit serve" on each of addrs with the
// same flags, all launched before any is waited for, so that they start
// at about the same instant (within milliseconds), as a deployment's
// instances do.
func startTogether(t *testing.T, addrs []string, flags ...string) []*process {
	t.Helper()
	procs := make([]*process, len(addrs))
	for i, addr := range addrs {
		procs[i] = launch(t, addr, processOptions{}, flags...)
	}
	for _, p := range procs {
		p.waitLive()
	}
	return procs
}

// launch starts "sessionkit serve" on addr, killed when the test ends,
// without waiting for it to answer.
func launch(t *testing.T, addr string, opts processOptions, flags ...string) *process {
	t.Helper()
	args := append([]string{"serve", "--addr", addr}, flags...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(append(append(os.Environ(), "SESSIONKIT_LOG_LEVEL=warn"), kekEnv(args)...), opts.env...)
	log := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = log, log
	if opts.stdout != nil {
		cmd.Stdout = opts.stdout
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, addr: addr, log: log, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		p.checkRaces()
	})
	return p
}

// waitLive waits up to 30 seconds for the process to answer /livez, and
// fails the test if it exits or does not.
func (p *process) waitLive() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := http.Get("http://" + p.addr + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("sessionkit serve exited at start: %s", p.log.String())
		case <-ctx.Done():
			p.t.Fatalf("sessionkit serve did not answer /livez within 30s: %s", p.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill ends the process with SIGKILL: no shutdown, no flushing, as a crash
// or an OOM kill would.
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// loadFlags are the flags of a server that a test loads with hundreds of
// concurrent requests on one record. The race detector makes the server
// several times slower; the default 500ms store deadline would turn that
// into 503s that say nothing about races. (Tests of outages keep the
// default: their point is how fast a dead store answers.)
func loadFlags() []string {
	if raceEnabled {
		return []string{"--store-timeout", "3s"}
	}
	return nil
}

// raceReport is what a server built with -race writes when it finds a
// data race.
const raceReport = "WARNING: DATA RACE"

// checkRaces fails the test when the server reported a data race. (The
// race detector's reports go to stderr; the process goes on serving, so
// the report, not the exit status, is what tells.)
func (p *process) checkRaces() {
	if out := p.log.String(); strings.Contains(out, raceReport) {
		p.t.Errorf("the server (built with -race) reported a data race:\n%s", out)
	}
}

// logShows reports whether the process's log holds want within wait. The
// server writes Info lines in batches (every 100 ms); warnings and errors
// at once.
func logShows(p *process, want string, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for !strings.Contains(p.log.String(), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// lockedWriter collects the process's stdout and stderr.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// testKEK is the key-encryption key of the processes a test run starts on
// shared stores (Redis, PostgreSQL), which refuse to start without one:
// one random key for the run, so every instance and command opens the
// keys the others stored.
var testKEK = sync.OnceValue(func() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "base64key://" + base64.URLEncoding.EncodeToString(b[:])
})

// kekEnv returns SESSIONKIT_KEK for a command line whose --store is a
// shared store, and nothing for SQLite and memory, which keep their
// default KEK (for SQLite, the file beside the database).
func kekEnv(args []string) []string {
	for i, a := range args {
		if a == "--store" && i+1 < len(args) {
			if spec := args[i+1]; !strings.HasPrefix(spec, "sqlite:") && !strings.HasPrefix(spec, "memory:") {
				return []string{"SESSIONKIT_KEK=" + testKEK()}
			}
		}
	}
	return nil
}
