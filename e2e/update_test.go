package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/pgstore"
	"github.com/sessionkit/sessionkit/store/redisstore"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// The tests of session.Update, the conflict-safe read-modify-write. What
// must hold: 50 concurrent read-modify-write appends on one session keep
// all 50 items, on every store, with two instances (Managers on their own
// store handles) in one process, and with two processes on one store.
//
// The application is a shopping cart: POST /login starts a logged-in
// session with an empty cart, POST /add appends the form's SKU with
// session.Update, GET /cart answers the cart as JSON.

// cartItem is one line of the cart, kept in the session as a []cartItem
// through the session's JSON codec.
type cartItem struct {
	SKU string `json:"sku"`
}

const (
	// cartKey is the session key the cart is kept under.
	cartKey = "cart"

	// cartAppends is how many appends are sent at once.
	cartAppends = 50

	// cartUser is the user the cart's session belongs to.
	cartUser = "shopper"
)

// cartKinds are the stores the tests run on.
var cartKinds = []string{"memory", "sqlite", "redis", "postgres"}

// cartOptions are the options of every Manager of these tests: the
// defaults, except that OnRetry counts the saves that lost a
// compare-and-swap (for the log: they show the conflicts were real), and a
// store call may take 10 s instead of 2: 50 requests at once on a 2-core
// machine, under the race detector, make calls slow, and a 503 would say
// nothing about lost appends.
func cartOptions(retries *atomic.Int64) session.Options {
	return session.Options{
		Timeout: 10 * time.Second,
		OnRetry: func() { retries.Add(1) },
	}
}

// cartApp is the cart application on mgr. When hold is not nil, POST /add
// calls it after changing the cart and before answering, which is before
// the change is saved. POST /add with with=put appends by Get then Put
// instead of Update.
func cartApp(mgr *session.Manager, hold func()) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.SetUser(r.FormValue("user"))
		if err := session.Put(s, cartKey, []cartItem{}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /add", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if s.User() == "" {
			// Not the logged-in session: an append here would start a
			// new session and the item would silently go elsewhere.
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		// fn may run again, on another request's goroutine: it uses the
		// item read here, never the request.
		item := cartItem{SKU: r.FormValue("sku")}
		var err error
		if r.FormValue("with") == "put" {
			cart, _ := session.Get[[]cartItem](s, cartKey)
			err = session.Put(s, cartKey, append(cart, item))
		} else {
			_, err = session.Update(s, cartKey, func(c []cartItem) []cartItem { return append(c, item) })
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if hold != nil {
			hold()
		}
		w.WriteHeader(http.StatusNoContent) // saves the session first
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if s.User() == "" {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		cart, _ := session.Get[[]cartItem](s, cartKey)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(cart)
	})
	return mgr.Handler(mux)
}

// cartStore is one fresh store of a kind: where it is (a file or a
// server's URL) and the test's own part of a shared server (a Redis key
// prefix or a PostgreSQL schema).
type cartStore struct {
	kind, where, space string
}

// newCartStore makes a fresh store of kind for t, removed when t ends. It
// skips t when the server is unreachable (fails it under CI=true).
func newCartStore(t *testing.T, kind string) cartStore {
	t.Helper()
	cs := cartStore{kind: kind}
	switch kind {
	case "memory":
	case "sqlite":
		cs.where = filepath.Join(t.TempDir(), "sessions.db")
	case "redis":
		cs.where, cs.space = testenv.RedisPrefix(t)
	case "postgres":
		cs.where, cs.space = testenv.PostgresSchema(t)
	default:
		t.Fatalf("no store of kind %q", kind)
	}
	return cs
}

// sessionStore is a store handle the test closes.
type sessionStore interface {
	store.Sessions
	Close() error
}

// open opens a handle of its own on the store: its own SQLite
// connections, Redis client or PostgreSQL pool. A memory store cannot be
// shared: each open gives a new, empty one.
func (cs cartStore) open(ctx context.Context) (sessionStore, error) {
	switch cs.kind {
	case "memory":
		return memstore.New(memstore.Options{}), nil
	case "sqlite":
		return sqlitestore.Open(ctx, cs.where, sqlitestore.Options{})
	case "redis":
		return redisstore.Open(ctx, cs.where, redisstore.Options{Prefix: cs.space})
	case "postgres":
		return pgstore.Open(ctx, cs.where, pgstore.Options{Schema: cs.space})
	}
	return nil, fmt.Errorf("no store of kind %q", cs.kind)
}

// openT opens a handle on the store, closed when t ends.
func (cs cartStore) openT(t *testing.T) sessionStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := cs.open(ctx)
	if err != nil {
		t.Fatalf("opening the %s store: %v", cs.kind, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the %s store: %v", cs.kind, err)
		}
	})
	return st
}

// startCartInstances starts two instances of the cart application on the
// store, each a Manager on a handle of its own (both on the one handle for
// memory) behind an httptest server, and returns their URLs and the count
// of their saves retried after a conflict.
func startCartInstances(t *testing.T, cs cartStore, hold func()) ([]string, *atomic.Int64) {
	t.Helper()
	retries := new(atomic.Int64)
	first := cs.openT(t)
	var bases []string
	for i := range 2 {
		st := first
		if i > 0 && cs.kind != "memory" {
			st = cs.openT(t)
		}
		mgr, err := session.New(st, cartOptions(retries))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(cartApp(mgr, hold))
		t.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}
	return bases, retries
}

// cartClient sends the requests of one browser. It keeps no cookie jar:
// the session cookie is sent by hand, the same to every instance, as a
// browser behind a load balancer sends it.
type cartClient struct {
	t      *testing.T
	client *http.Client
	logs   func() string // the servers' output for failures, or nil
}

func newCartClient(t *testing.T, logs func() string) *cartClient {
	tr := &http.Transport{MaxIdleConnsPerHost: cartAppends}
	t.Cleanup(tr.CloseIdleConnections)
	return &cartClient{t: t, logs: logs, client: &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *cartClient) fatalf(format string, args ...any) {
	c.t.Helper()
	if c.logs != nil {
		format += "\nserver output:\n%s"
		args = append(args, tail(c.logs(), 4000))
	}
	c.t.Fatalf(format, args...)
}

// send sends a request with the cookie (when not nil) and a form (a POST
// when not nil), and returns the answer with its body read.
func (c *cartClient) send(u string, form url.Values, cookie *http.Cookie) (*http.Response, string, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// login logs in on base and returns the session cookie it set.
func (c *cartClient) login(base string) *http.Cookie {
	c.t.Helper()
	resp, body, err := c.send(base+"/login", url.Values{"user": {cartUser}}, nil)
	if err != nil {
		c.fatalf("POST /login on %s: %v", base, err)
	}
	if resp.StatusCode != http.StatusNoContent {
		c.fatalf("POST /login on %s: %d %q, want 204", base, resp.StatusCode, truncate(body, 300))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == session.DefaultCookieName && ck.Value != "" {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	c.fatalf("POST /login on %s set no %s cookie (Set-Cookie: %q)", base, session.DefaultCookieName, resp.Header.Values("Set-Cookie"))
	return nil
}

// appendAll sends cartAppends POST /add at once, the i-th to
// bases[i%len(bases)] with the SKU sku-i, and returns the SKUs sent. Every
// request must answer 204: any other answer is an append the user saw
// fail.
func (c *cartClient) appendAll(bases []string, cookie *http.Cookie) []string {
	c.t.Helper()
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		samples  []string
		wg       sync.WaitGroup
		start    = make(chan struct{})
		sent     = make([]string, cartAppends)
	)
	for i := range cartAppends {
		sku, base := fmt.Sprintf("sku-%02d", i), bases[i%len(bases)]
		sent[i] = sku
		wg.Go(func() {
			<-start
			resp, body, err := c.send(base+"/add", url.Values{"sku": {sku}}, cookie)
			status, sample := "", ""
			switch {
			case err != nil:
				status, sample = "no answer", fmt.Sprintf("%s (%s): %v", base, sku, err)
			case resp.StatusCode != http.StatusNoContent:
				status = fmt.Sprint(resp.StatusCode)
				sample = fmt.Sprintf("%s (%s): %d %q", base, sku, resp.StatusCode, truncate(body, 200))
			default:
				status = "204"
			}
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			if sample != "" && len(samples) < 5 {
				samples = append(samples, sample)
			}
		})
	}
	close(start)
	wg.Wait()
	if statuses["204"] != cartAppends {
		msg := fmt.Sprintf("%d of %d concurrent appends answered 204; answers: %v; samples:\n%s",
			statuses["204"], cartAppends, statuses, strings.Join(samples, "\n"))
		if c.logs != nil {
			msg += "\nserver output:\n" + tail(c.logs(), 4000)
		}
		c.t.Error(msg)
	}
	return sent
}

// cart returns the cart GET /cart on base answers.
func (c *cartClient) cart(base string, cookie *http.Cookie) []cartItem {
	c.t.Helper()
	resp, body, err := c.send(base+"/cart", nil, cookie)
	if err != nil {
		c.fatalf("GET /cart on %s: %v", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		c.fatalf("GET /cart on %s: %d %q, want 200 with the cart", base, resp.StatusCode, truncate(body, 300))
	}
	var cart []cartItem
	if err := json.Unmarshal([]byte(body), &cart); err != nil {
		c.fatalf("GET /cart on %s: %q is not a cart: %v", base, truncate(body, 300), err)
	}
	return cart
}

// checkCart fails t unless cart holds each SKU of sent exactly once and
// nothing else.
func checkCart(t *testing.T, where string, cart []cartItem, sent []string) {
	t.Helper()
	count := map[string]int{}
	for _, it := range cart {
		count[it.SKU]++
	}
	var missing, doubled, unknown []string
	for _, sku := range sent {
		switch count[sku] {
		case 0:
			missing = append(missing, sku)
		case 1:
		default:
			doubled = append(doubled, fmt.Sprintf("%s ×%d", sku, count[sku]))
		}
	}
	for sku := range count {
		if !slices.Contains(sent, sku) {
			unknown = append(unknown, sku)
		}
	}
	slices.Sort(unknown)
	if len(missing) > 0 || len(doubled) > 0 || len(unknown) > 0 || len(cart) != len(sent) {
		t.Errorf("%s: the cart kept %d of %d items (%d items in all) after %d concurrent appends; lost %s, duplicated %s, never sent %s",
			where, len(sent)-len(missing), len(sent), len(cart), len(sent), firstFew(missing), firstFew(doubled), firstFew(unknown))
	}
}

// firstFew formats the first ten of list, for messages.
func firstFew(list []string) string {
	if len(list) > 10 {
		return fmt.Sprintf("%d: %v…", len(list), list[:10])
	}
	return fmt.Sprint(list)
}

// TestUpdateKeepsEveryAppend proves that session.Update loses no
// concurrent change on any store: 50 requests of one logged-in session,
// each appending a distinct item to the cart with Update, sent at once
// over real HTTP and alternated between two instances (two Managers, each
// on its own store handle, so that saves conflict in the store and not
// only in one Manager's in-process queue), leave exactly those 50 items,
// as both instances see.
func TestUpdateKeepsEveryAppend(t *testing.T) {
	for _, kind := range cartKinds {
		t.Run(kind, func(t *testing.T) {
			bases, retries := startCartInstances(t, newCartStore(t, kind), nil)
			c := newCartClient(t, nil)
			cookie := c.login(bases[0])
			began := time.Now()
			sent := c.appendAll(bases, cookie)
			t.Logf("%d concurrent appends over 2 instances: %v, %d saves retried after losing a compare-and-swap",
				cartAppends, time.Since(began).Round(time.Millisecond), retries.Load())
			for i, base := range bases {
				checkCart(t, fmt.Sprintf("GET /cart on instance #%d", i+1), c.cart(base, cookie), sent)
			}
		})
	}
}

// TestUpdateVersusPut shows that the test above can fail, and why Update
// is needed: two appends of one session, one on each instance, are held
// after both requests have read the cart and before either saves. Written
// as Get then Put, the second save overwrites the first (Put is
// last-write-wins, as documented) and the cart keeps one item of two;
// through Update, the second save applies its append again to the newest
// cart and both items are kept. Holding the requests makes the outcome
// certain rather than a matter of timing.
func TestUpdateVersusPut(t *testing.T) {
	for _, kind := range cartKinds {
		t.Run(kind, func(t *testing.T) {
			var (
				read    = make(chan struct{}, 2)
				mu      sync.Mutex
				release chan struct{} // closed to let the held appends answer
			)
			hold := func() {
				mu.Lock()
				r := release
				mu.Unlock()
				read <- struct{}{}
				select {
				case <-r:
				case <-time.After(30 * time.Second):
				}
			}
			bases, _ := startCartInstances(t, newCartStore(t, kind), hold)
			c := newCartClient(t, nil)
			for _, tc := range []struct {
				with string
				want int
			}{
				{"put", 1},
				{"update", 2},
			} {
				mu.Lock()
				release = make(chan struct{})
				mu.Unlock()
				cookie := c.login(bases[0])
				var wg sync.WaitGroup
				answers := make([]string, len(bases))
				for i, base := range bases {
					form := url.Values{"sku": {fmt.Sprintf("sku-%d", i)}, "with": {tc.with}}
					wg.Go(func() {
						resp, body, err := c.send(base+"/add", form, cookie)
						switch {
						case err != nil:
							answers[i] = err.Error()
						case resp.StatusCode != http.StatusNoContent:
							answers[i] = fmt.Sprintf("%d %q", resp.StatusCode, truncate(body, 200))
						}
					})
				}
				for range bases {
					select {
					case <-read:
					case <-time.After(30 * time.Second):
						close(release)
						wg.Wait()
						t.Fatalf("with=%s: the two appends did not both read the cart within 30s (answers %q)", tc.with, answers)
					}
				}
				close(release)
				wg.Wait()
				for i, a := range answers {
					if a != "" {
						t.Errorf("with=%s: the append on instance #%d answered %s, want 204", tc.with, i+1, a)
					}
				}
				cart := c.cart(bases[0], cookie)
				if len(cart) != tc.want {
					t.Errorf("with=%s: two appends that both read the empty cart left %d items %v, want %d", tc.with, len(cart), cart, tc.want)
				}
			}
		})
	}
}

// Environment of a child process of TestUpdateAcrossProcesses.
const (
	// cartChildEnv names the kind of store the child opens; without it
	// TestUpdateChildProcess does nothing.
	cartChildEnv = "SESSIONKIT_E2E_UPDATE_CHILD"
	// cartChildWhereEnv and cartChildSpaceEnv are the cartStore's where
	// and space.
	cartChildWhereEnv = "SESSIONKIT_E2E_UPDATE_WHERE"
	cartChildSpaceEnv = "SESSIONKIT_E2E_UPDATE_SPACE"

	// cartChildAddr starts the line on which a child tells its address.
	cartChildAddr = "cart instance listening on "
	// cartChildLifetime bounds how long a child serves when nobody closes
	// its stdin.
	cartChildLifetime = 60 * time.Second
)

// TestUpdateChildProcess is not a test of its own: it is the server of a
// child process of TestUpdateAcrossProcesses, which runs this test binary
// again with cartChildEnv set. It then opens the store the environment
// names, serves the cart application on 127.0.0.1 (and GET /retries, the
// count of its saves retried after a conflict), writes its address on
// stdout, and serves until its stdin is closed or cartChildLifetime
// passes. Without cartChildEnv it returns at once.
func TestUpdateChildProcess(t *testing.T) {
	kind := os.Getenv(cartChildEnv)
	if kind == "" {
		return
	}
	cs := cartStore{kind: kind, where: os.Getenv(cartChildWhereEnv), space: os.Getenv(cartChildSpaceEnv)}
	st := cs.openT(t)
	var retries atomic.Int64
	mgr, err := session.New(st, cartOptions(&retries))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", cartApp(mgr, nil))
	mux.HandleFunc("GET /retries", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, retries.Load())
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	fmt.Printf("%s%s\n", cartChildAddr, l.Addr())

	stdinClosed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
	case <-time.After(cartChildLifetime):
		t.Logf("stdin still open after %v; stopping", cartChildLifetime)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("shutting the server down: %v", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("serving: %v", err)
	}
}

// cartChild is a child process serving the cart application.
type cartChild struct {
	cmd   *exec.Cmd
	stdin io.Closer
	out   *lockedWriter // stdout and stderr
	addr  string
	done  chan struct{} // closed when the process has exited and been waited for
	err   error         // of Wait, once done is closed
}

// startCartChild runs this test binary again as a server of the cart
// application on the store (see TestUpdateChildProcess) and returns once
// it tells its address. It stops when t ends: its stdin is closed, and
// when it has not exited 10 s later it is killed. Its exit status and any
// data race it reported then fail t.
func startCartChild(t *testing.T, cs cartStore, name string) *cartChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestUpdateChildProcess$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(),
		cartChildEnv+"="+cs.kind, cartChildWhereEnv+"="+cs.where, cartChildSpaceEnv+"="+cs.space)
	ch := &cartChild{cmd: cmd, out: &lockedWriter{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = ch.out, ch.out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		ch.err = cmd.Wait()
		close(ch.done)
	}()
	t.Cleanup(func() {
		ch.stdin.Close()
		select {
		case <-ch.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) still running 10s after its stdin closed; killing it", name, cmd.Process.Pid)
			cmd.Process.Kill()
			<-ch.done
		}
		out := ch.out.String()
		if ch.err != nil {
			t.Errorf("%s (pid %d) exited with %v:\n%s", name, cmd.Process.Pid, ch.err, tail(out, 4000))
		} else if strings.Contains(out, raceReport) {
			t.Errorf("%s (pid %d) reported a data race:\n%s", name, cmd.Process.Pid, out)
		}
	})

	deadline := time.After(30 * time.Second)
	for {
		for line := range strings.Lines(ch.out.String()) {
			if addr, ok := strings.CutPrefix(strings.TrimSpace(line), cartChildAddr); ok {
				ch.addr = addr
				return ch
			}
		}
		select {
		case <-ch.done:
			t.Fatalf("%s exited before telling its address (%v):\n%s", name, ch.err, tail(ch.out.String(), 4000))
		case <-deadline:
			t.Fatalf("%s did not tell its address within 30s:\n%s", name, tail(ch.out.String(), 4000))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestUpdateAcrossProcesses proves that session.Update loses no change
// made in another process: two OS processes (this test binary run again,
// see TestUpdateChildProcess) serve the cart application on one store
// (SQLite file, Redis, PostgreSQL), and 50 concurrent appends of one
// session, alternated between them, leave exactly those 50 items, as both
// processes and a third reader (this process, on its own store handle)
// see. A memory store cannot be shared between processes and is not run.
func TestUpdateAcrossProcesses(t *testing.T) {
	for _, kind := range cartKinds {
		if kind == "memory" {
			continue
		}
		t.Run(kind, func(t *testing.T) {
			cs := newCartStore(t, kind)
			// Opened before the children, so that the store's schema is
			// in place when they start.
			st := cs.openT(t)
			children := []*cartChild{
				startCartChild(t, cs, "process #1"),
				startCartChild(t, cs, "process #2"),
			}
			// Ask both to stop at once (cleanups run last first): a child
			// built with -race lingers a second at exit.
			t.Cleanup(func() {
				for _, ch := range children {
					ch.stdin.Close()
				}
			})
			var bases []string
			for _, ch := range children {
				bases = append(bases, "http://"+ch.addr)
			}
			logs := func() string {
				var b strings.Builder
				for i, ch := range children {
					fmt.Fprintf(&b, "--- process #%d (pid %d, %s):\n%s", i+1, ch.cmd.Process.Pid, ch.addr, ch.out.String())
				}
				return b.String()
			}
			c := newCartClient(t, logs)
			cookie := c.login(bases[0])
			began := time.Now()
			sent := c.appendAll(bases, cookie)
			elapsed := time.Since(began)
			var retries []string
			for i, base := range bases {
				checkCart(t, fmt.Sprintf("GET /cart on process #%d", i+1), c.cart(base, cookie), sent)
				if resp, body, err := c.send(base+"/retries", nil, nil); err == nil && resp.StatusCode == http.StatusOK {
					retries = append(retries, body)
				}
			}
			t.Logf("%d concurrent appends over 2 processes: %v, saves retried after losing a compare-and-swap: %v per process",
				cartAppends, elapsed.Round(time.Millisecond), retries)

			// The store itself, read by a third party.
			mgr, err := session.New(st, session.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := mgr.Load(ctx, cookie.Value)
			if err != nil {
				t.Fatalf("loading the session from the %s store in the test process: %v", kind, err)
			}
			cart, ok := session.Get[[]cartItem](s, cartKey)
			if !ok {
				t.Fatalf("the session in the %s store holds no cart under %q (keys %v)", kind, cartKey, s.Keys())
			}
			checkCart(t, "the store, read by the test process", cart, sent)
		})
	}
}
