package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// soakClients is how many clients send traffic at once.
const soakClients = 16

// soakLifetime is how long the soak server's cookies and access tokens
// live, and so how long what a logout leaves behind (deny-list entries)
// stays in memory: short, so that the heap can go back to its baseline
// soon after the traffic stops.
const soakLifetime = 20 * time.Second

// TestSoak runs mixed traffic against an in-process server on a memory
// store for SESSIONKIT_SOAK (a duration, such as 5m; skipped when unset),
// from 16 concurrent clients on loopback: registration, logins and
// profiles in every mode, logouts, API login, refresh, me and logout,
// failed logins and bad cookies. It records the goroutines and the heap in
// use (after a GC) before and after, and fails when, once the traffic has
// stopped and what it left has expired, goroutines stay above the
// baseline (plus a small slack) or the heap above a generous multiple of
// it; and when any request answered 5xx or failed.
func TestSoak(t *testing.T) {
	spec := os.Getenv("SESSIONKIT_SOAK")
	if spec == "" {
		t.Skip("set SESSIONKIT_SOAK to a duration (e.g. 5m) to run the soak test")
	}
	duration, err := time.ParseDuration(spec)
	if err != nil || duration <= 0 {
		t.Fatalf("SESSIONKIT_SOAK=%q is not a positive duration", spec)
	}

	st := memstore.New(memstore.Options{CleanupInterval: 2 * time.Second})
	defer st.Close()
	srv, err := server.New(context.Background(), st, server.Config{
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		PasswordParams:      auth.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		CookieLifetime:      soakLifetime,
		AccessTokenLifetime: soakLifetime,
		TokenLeeway:         -1,
		// Failed logins are part of the mix; they must not lock the
		// clients (all on 127.0.0.1) out for the rest of the run.
		Throttle:            auth.ThrottleOptions{PerUserAddress: -1, PerUser: -1, PerAddress: -1},
		MaxConcurrentLogins: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	clients := make([]*soakClient, soakClients)
	for i := range clients {
		clients[i] = newSoakClient(t, ts.URL, i)
		clients[i].register()
	}
	for _, c := range clients {
		c.closeIdle()
	}
	goroutines0, heap0 := settle(t, 0, 0, 0)
	t.Logf("baseline: %d goroutines, %.1f MiB heap in use", goroutines0, mib(heap0))

	stopAt := time.Now().Add(duration)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for n := 0; time.Now().Before(stopAt); n++ {
				c.round(n)
			}
		})
	}
	wg.Wait()
	loadGoroutines, loadHeap := runtime.NumGoroutine(), heapInUse()

	var total, failures int64
	kinds := map[string]int64{}
	for _, c := range clients {
		for k, v := range c.counts {
			kinds[k] += v
			total += v
		}
		failures += c.failures.Load()
		c.closeIdle()
	}
	goroutines1, heap1 := settle(t, goroutines0, heap0, soakLifetime+time.Minute)
	t.Logf("after %v: %d requests, %d failed; by kind %v", duration, total, failures, kinds)
	t.Logf("goroutines: %d at start, %d at the end of the load, %d after it settled", goroutines0, loadGoroutines, goroutines1)
	t.Logf("heap in use: %.1f MiB at start, %.1f MiB at the end of the load, %.1f MiB after it settled",
		mib(heap0), mib(loadHeap), mib(heap1))
	for _, c := range clients {
		for _, f := range c.firstFailures() {
			t.Error(f)
		}
	}
	if goroutines1 > goroutines0+goroutineSlack {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines did not return to the baseline: %d, baseline %d (+%d slack)\n%s",
			goroutines1, goroutines0, goroutineSlack, buf[:runtime.Stack(buf, true)])
	}
	if heap1 > heapLimit(heap0) {
		t.Errorf("heap in use did not return to the baseline: %.1f MiB, limit %.1f MiB (baseline %.1f MiB)",
			mib(heap1), mib(heapLimit(heap0)), mib(heap0))
	}
}

// goroutineSlack is how many goroutines above the baseline count as
// settled: the runtime's and net/http's own come and go.
const goroutineSlack = 4

// heapLimit is the heap in use allowed after the soak: four times the
// baseline, and never less than 32 MiB (a small baseline is mostly the
// runtime's own noise).
func heapLimit(baseline uint64) uint64 {
	return 4 * max(baseline, 8<<20)
}

// settle waits, for at most wait, until the goroutines are at most
// goroutines+goroutineSlack and the heap in use within heapLimit(heap),
// then returns both. With wait 0 it measures once, for a baseline.
func settle(t *testing.T, goroutines int, heap uint64, wait time.Duration) (int, uint64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		runtime.GC()
		g, h := runtime.NumGoroutine(), heapInUse()
		if wait == 0 || (g <= goroutines+goroutineSlack && h <= heapLimit(heap)) || time.Now().After(deadline) {
			return g, h
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// soakClient is one user's client: a cookie jar, its own connections, and
// what it saw.
type soakClient struct {
	t      *testing.T
	base   string
	user   string
	pass   string
	client *http.Client
	counts map[string]int64 // only its own goroutine writes it

	failures atomic.Int64
	mu       sync.Mutex
	failed   []string
}

func newSoakClient(t *testing.T, base string, i int) *soakClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &soakClient{
		t: t, base: base, user: fmt.Sprintf("soak_user_%02d", i), pass: "soak password",
		client: &http.Client{
			Jar:           jar,
			Transport:     &http.Transport{MaxIdleConnsPerHost: 4},
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		counts: map[string]int64{},
	}
}

func (c *soakClient) closeIdle() { c.client.CloseIdleConnections() }

// fail records a failure; the first few are reported at the end.
func (c *soakClient) fail(format string, args ...any) {
	c.failures.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failed) < 3 {
		c.failed = append(c.failed, fmt.Sprintf(c.user+": "+format, args...))
	}
}

func (c *soakClient) firstFailures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// do sends a request and checks its status is one of want; it returns
// the body.
func (c *soakClient) do(kind string, req *http.Request, want ...int) string {
	c.counts[kind]++
	resp, err := c.client.Do(req)
	if err != nil {
		c.fail("%s: %v", kind, err)
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.fail("%s: reading the body: %v", kind, err)
		return ""
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return string(body)
		}
	}
	c.fail("%s %s: %d, want %v", kind, req.URL.Path, resp.StatusCode, want)
	return string(body)
}

func (c *soakClient) get(kind, path string, cookie string, want ...int) string {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return c.do(kind, req, want...)
}

func (c *soakClient) post(kind, path string, form url.Values, want ...int) {
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.do(kind, req, want...)
}

func (c *soakClient) api(kind, method, path, body, bearer string, want ...int) string {
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return c.do(kind, req, want...)
}

func (c *soakClient) register() {
	c.post("register", "/register", url.Values{"username": {c.user}, "password": {c.pass}}, http.StatusSeeOther)
	if n := c.failures.Load(); n > 0 {
		c.t.Fatalf("registering %s failed: %v", c.user, c.firstFailures())
	}
}

// round is one round of traffic; n picks the mode it uses.
func (c *soakClient) round(n int) {
	creds := url.Values{"username": {c.user}, "password": {c.pass}}
	switch n % 5 {
	case 0, 1, 2:
		mode := []string{"cookie", "session", "jwt"}[n%5]
		c.post("login", "/"+mode+"/login", creds, http.StatusSeeOther)
		for range 5 {
			if body := c.get("profile", "/"+mode+"/profile", "", http.StatusOK); !strings.Contains(body, "welcome "+c.user) {
				c.fail("%s profile does not greet %s", mode, c.user)
			}
		}
		c.get("login page, logged in", "/"+mode+"/login", "", http.StatusSeeOther)
		c.post("logout", "/"+mode+"/logout", nil, http.StatusSeeOther)
		c.get("profile, logged out", "/"+mode+"/profile", "", http.StatusSeeOther)
	case 3:
		body := c.api("API login", "POST", "/api/login", `{"username":"`+c.user+`","password":"`+c.pass+`"}`, "", http.StatusOK)
		var p struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal([]byte(body), &p) != nil {
			return
		}
		for range 3 {
			c.api("API me", "GET", "/api/me", "", p.AccessToken, http.StatusOK)
		}
		body = c.api("API refresh", "POST", "/api/refresh", `{"refresh_token":"`+p.RefreshToken+`"}`, "", http.StatusOK)
		if json.Unmarshal([]byte(body), &p) != nil {
			return
		}
		c.api("API me", "GET", "/api/me", "", p.AccessToken, http.StatusOK)
		c.api("API logout", "POST", "/api/logout", "", p.AccessToken, http.StatusNoContent)
		c.api("API me after logout", "GET", "/api/me", "", p.AccessToken, http.StatusUnauthorized)
	case 4:
		c.post("failed login", "/session/login", url.Values{"username": {c.user}, "password": {"not the password"}}, http.StatusUnauthorized)
		c.post("failed login", "/cookie/login", url.Values{"username": {"nobody_at_all"}, "password": {"not the password"}}, http.StatusUnauthorized)
		for _, h := range []string{"sk_cookie=garbage", "sk_session=" + strings.Repeat("A", 43), "sk_access=a.b.c"} {
			mode := map[string]string{"sk_cookie": "cookie", "sk_session": "session", "sk_access": "jwt"}[h[:strings.Index(h, "=")]]
			req, _ := http.NewRequest(http.MethodGet, c.base+"/"+mode+"/profile", nil)
			req.Header.Set("Cookie", h)
			// Sent without the jar: a bad cookie from someone else.
			c.counts["bad cookie"]++
			resp, err := c.client.Transport.RoundTrip(req)
			if err != nil {
				c.fail("bad cookie: %v", err)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				c.fail("bad cookie %q: %d, want 303", h, resp.StatusCode)
			}
		}
	}
}
