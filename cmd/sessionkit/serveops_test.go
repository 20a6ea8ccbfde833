package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
)

// lockedBuffer is a log that the server writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// servedLog is a "sessionkit serve" run in-process, with everything it
// logged.
type servedLog struct {
	base    string // http://HOST:PORT of --addr
	metrics string // http://HOST:PORT/metrics of --metrics-addr, if any
	log     *lockedBuffer
	stop    func() error
}

// listenLine finds the address in a "listening" or "serving metrics" line,
// text or JSON.
var listenLine = regexp.MustCompile(`(?:msg=listening|"msg":"listening"|msg="serving metrics"|"msg":"serving metrics").*?addr[=":]+(http://[^"\s]+)`)

// startServeLog runs "sessionkit serve" on 127.0.0.1:0 with args (which
// may give another --addr) until the test ends, and returns once it
// listens (and serves metrics, when wantMetrics).
func startServeLog(t *testing.T, wantMetrics bool, args ...string) *servedLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &lockedBuffer{}
	done := make(chan error, 1)
	env := func(string) string { return "" }
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--store", "memory:"}, args...), env, strings.NewReader(""), io.Discard, log)
	}()
	s := &servedLog{log: log}
	stopped := false
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range listenLine.FindAllStringSubmatch(log.String(), -1) {
			if strings.HasSuffix(m[1], "/metrics") {
				s.metrics = m[1]
			} else if s.base == "" {
				s.base = m[1]
			}
		}
		if s.base != "" && (s.metrics != "" || !wantMetrics) {
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v\n%s", err, log.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 30s:\n%s", log.String())
		}
	}
}

// httpGet answers the status and body of GET url.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMetricsAddr: without --metrics-addr, /metrics is on the public
// address; with it, it is on the metrics address only (404 on the public
// one), the metrics address serves nothing of the application, pprof is
// there only with --pprof, and the metrics listener stops with the server.
func TestMetricsAddr(t *testing.T) {
	cases := []struct {
		name          string
		args          []string
		publicMetrics int
		pprof         bool
	}{
		{"no --metrics-addr", nil, http.StatusOK, false},
		{"--metrics-addr", []string{"--metrics-addr", "127.0.0.1:0"}, http.StatusNotFound, false},
		{"--metrics-addr and --pprof", []string{"--metrics-addr", "127.0.0.1:0", "--pprof"}, http.StatusNotFound, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startServeLog(t, len(c.args) > 0, c.args...)
			if status, _ := httpGet(t, s.base+"/livez"); status != http.StatusOK {
				t.Fatalf("public /livez: %d", status)
			}
			status, body := httpGet(t, s.base+"/metrics")
			if status != c.publicMetrics {
				t.Errorf("public /metrics: %d, want %d", status, c.publicMetrics)
			}
			if status == http.StatusOK && !strings.Contains(body, "sessionkit_http_requests_total") {
				t.Errorf("public /metrics without sessionkit's metrics:\n%s", body)
			}
			if status, _ := httpGet(t, s.base+"/debug/pprof/"); status != http.StatusNotFound {
				t.Errorf("public /debug/pprof/: %d, want 404", status)
			}
			if s.metrics == "" {
				if strings.Contains(s.log.String(), "serving metrics") {
					t.Errorf("a metrics listener without --metrics-addr:\n%s", s.log.String())
				}
				return
			}
			status, body = httpGet(t, s.metrics)
			if status != http.StatusOK || !strings.Contains(body, `sessionkit_http_requests_total{code="200",method="GET",route="GET /livez"} 1`) {
				t.Errorf("/metrics on --metrics-addr: %d, without the public request:\n%s", status, body)
			}
			metricsBase := strings.TrimSuffix(s.metrics, "/metrics")
			for _, path := range []string{"/livez", "/", "/cookie/login"} {
				if status, _ := httpGet(t, metricsBase+path); status != http.StatusNotFound {
					t.Errorf("%s on --metrics-addr: %d, want 404", path, status)
				}
			}
			wantPprof := http.StatusNotFound
			if c.pprof {
				wantPprof = http.StatusOK
			}
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
				if status, _ := httpGet(t, metricsBase+path); status != wantPprof {
					t.Errorf("%s on --metrics-addr: %d, want %d", path, status, wantPprof)
				}
			}
			if status, _ := httpGet(t, metricsBase+"/debug/pprof/cmdline"); status != http.StatusNotFound {
				t.Errorf("/debug/pprof/cmdline (the command line may hold a store password): %d, want 404", status)
			}

			if err := s.stop(); err != nil {
				t.Fatalf("stop: %v\n%s", err, s.log.String())
			}
			if _, err := http.Get(s.metrics); err == nil {
				t.Error("the metrics listener still answers after the server stopped")
			}
		})
	}
}

// TestInsecureCookiesWarning: listening beyond loopback with cookies that
// would not be Secure gives a warning naming the flags that fix it; on
// loopback, or with Secure cookies, nothing.
func TestInsecureCookiesWarning(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name   string
		addr   string
		policy cookie.Policy
		say    []string // in the warning; none: no warning
	}{
		{"0.0.0.0, auto, no proxies", "0.0.0.0:0", cookie.Policy{Secure: cookie.SecureAuto}, []string{"--trusted-proxies", "--secure-cookies=always"}},
		{":PORT, auto, no proxies", ":0", cookie.Policy{Secure: cookie.SecureAuto}, []string{"--trusted-proxies", "--secure-cookies=always"}},
		{"0.0.0.0, never", "0.0.0.0:0", cookie.Policy{Secure: cookie.SecureNever}, []string{"--secure-cookies=never", "--secure-cookies=always"}},
		{"0.0.0.0, never, with proxies", "0.0.0.0:0", cookie.Policy{Secure: cookie.SecureNever, TrustedProxies: proxies}, []string{"--secure-cookies=always"}},
		{"0.0.0.0, always", "0.0.0.0:0", cookie.Policy{Secure: cookie.SecureAlways}, nil},
		{"0.0.0.0, auto, trusted proxies", "0.0.0.0:0", cookie.Policy{Secure: cookie.SecureAuto, TrustedProxies: proxies}, nil},
		{"127.0.0.1, auto, no proxies", "127.0.0.1:0", cookie.Policy{Secure: cookie.SecureAuto}, nil},
		{"127.0.0.1, never", "127.0.0.1:0", cookie.Policy{Secure: cookie.SecureNever}, nil},
		{"localhost, auto", "localhost:0", cookie.Policy{Secure: cookie.SecureAuto}, nil},
		{"::1, auto", "[::1]:0", cookie.Policy{Secure: cookie.SecureAuto}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", c.addr)
			if err != nil {
				t.Skipf("cannot listen on %s here: %v", c.addr, err)
			}
			ln.Close()
			got := insecureCookiesWarning(ln.Addr(), c.policy)
			if len(c.say) == 0 {
				if got != "" {
					t.Errorf("on %s: warning %q, want none", ln.Addr(), got)
				}
				return
			}
			for _, s := range c.say {
				if !strings.Contains(got, s) {
					t.Errorf("on %s: warning %q lacks %q", ln.Addr(), got, s)
				}
			}
		})
	}
}

// TestServeWarnsOfInsecureCookies: "sessionkit serve" logs the warning at
// start, at WARN, for 0.0.0.0 with the default cookie policy, and not on
// 127.0.0.1 or with --secure-cookies=always.
func TestServeWarnsOfInsecureCookies(t *testing.T) {
	cases := []struct {
		name string
		args []string
		warn bool
	}{
		{"0.0.0.0, defaults", []string{"--addr", "0.0.0.0:0"}, true},
		{"0.0.0.0, --secure-cookies=always", []string{"--addr", "0.0.0.0:0", "--secure-cookies=always"}, false},
		{"0.0.0.0, --trusted-proxies", []string{"--addr", "0.0.0.0:0", "--trusted-proxies", "127.0.0.1/32"}, false},
		{"127.0.0.1, defaults", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startServeLog(t, false, c.args...)
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			log := s.log.String()
			warned := regexp.MustCompile(`level=WARN msg="cookies will not be Secure: .*--trusted-proxies.*--secure-cookies=always`).MatchString(log)
			if warned != c.warn {
				t.Errorf("warned %v, want %v:\n%s", warned, c.warn, log)
			}
		})
	}
}

// TestNewLoggerDurations: a duration is a Go duration in the text log and
// seconds (a float) in the JSON log.
func TestNewLoggerDurations(t *testing.T) {
	cases := []struct {
		format string
		d      time.Duration
		want   string
	}{
		{"text", 58841189 * time.Nanosecond, "duration=58.841189ms"},
		{"text", 2 * time.Second, "duration=2s"},
		{"json", 58841189 * time.Nanosecond, `"duration":0.058841189`},
		{"json", 2 * time.Second, `"duration":2`},
		{"json", 1500 * time.Microsecond, `"duration":0.0015`},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		newLogger(serveConfig{LogFormat: c.format}, &buf).Info("request", "duration", c.d, "nested", slog.GroupValue(slog.Duration("d", c.d)))
		if !strings.Contains(buf.String(), c.want) {
			t.Errorf("%s log of %v: %q, want %q in it", c.format, c.d, buf.String(), c.want)
		}
		if c.format == "json" && !strings.Contains(buf.String(), `"d":`+strings.TrimPrefix(c.want, `"duration":`)) {
			t.Errorf("json log of a duration in a group: %q", buf.String())
		}
	}
}

// TestServeRequestLog runs the server behind a trusted proxy in both log
// formats: the request line has its duration (a Go duration in text,
// seconds in JSON), the client address from X-Forwarded-For and the user
// agent; and not the cookie the client sent.
func TestServeRequestLog(t *testing.T) {
	const (
		client    = "203.0.113.7"
		userAgent = "test agent/1.0 (\"quoted\")"
		secret    = "sk_session=a-cookie-value-that-is-secret"
	)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			s := startServeLog(t, false, "--log-format", format, "--trusted-proxies", "127.0.0.1/32")
			req, err := http.NewRequest("GET", s.base+"/session/profile", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Forwarded-For", "198.51.100.1, "+client)
			req.Header.Set("User-Agent", userAgent)
			req.Header.Set("Cookie", secret)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			log := s.log.String()
			if strings.Contains(log, "a-cookie-value-that-is-secret") {
				t.Errorf("the log holds the cookie:\n%s", log)
			}
			var line string
			sc := bufio.NewScanner(strings.NewReader(log))
			for sc.Scan() {
				if strings.Contains(sc.Text(), "GET /session/profile") {
					line = sc.Text()
				}
			}
			if line == "" {
				t.Fatalf("no request line:\n%s", log)
			}
			if format == "text" {
				want := regexp.MustCompile(`msg=request method=GET route="GET /session/profile" status=303 duration=[0-9.]+(ns|µs|ms|s) request_id=[0-9a-f]{16} client=` +
					regexp.QuoteMeta(client) + ` user_agent="test agent/1.0 \(\\"quoted\\"\)"$`)
				if !want.MatchString(line) {
					t.Errorf("request line %q, want it to match %s", line, want)
				}
				return
			}
			var rec map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			var d float64
			if err := json.Unmarshal(rec["duration"], &d); err != nil || d <= 0 || d > 30 {
				t.Errorf("duration %s: want seconds, as a number between 0 and 30", rec["duration"])
			}
			var got struct {
				Client    string `json:"client"`
				UserAgent string `json:"user_agent"`
				Status    int    `json:"status"`
			}
			if err := json.Unmarshal([]byte(line), &got); err != nil || got.Client != client || got.UserAgent != userAgent || got.Status != http.StatusSeeOther {
				t.Errorf("request line %s: client %q, user agent %q, status %d; want %q, %q, 303", line, got.Client, got.UserAgent, got.Status, client, userAgent)
			}
		})
	}
}
