package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
)

// recordedLog is a slog.Handler that keeps every record, with the context
// it was handled with.
type recordedLog struct {
	mu      sync.Mutex
	records []slog.Record
	ctxs    []context.Context
}

func (l *recordedLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordedLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordedLog) WithGroup(string) slog.Handler            { return l }

func (l *recordedLog) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	l.ctxs = append(l.ctxs, ctx)
	return nil
}

// requestLines returns the "request" records and their contexts.
func (l *recordedLog) requestLines() ([]map[string]slog.Value, []context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []map[string]slog.Value
	var ctxs []context.Context
	for i, r := range l.records {
		if r.Message != "request" {
			continue
		}
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value
			return true
		})
		lines = append(lines, attrs)
		ctxs = append(ctxs, l.ctxs[i])
	}
	return lines, ctxs
}

type ctxMark struct{}

// TestRequestLogLine: the request line carries the duration as a duration
// (the handler formats it), the client address as clientAddr resolves it
// through trusted proxies, and the user agent bounded and valid UTF-8; it
// is handled with the request's context; and it holds no cookie or
// Authorization header.
func TestRequestLogLine(t *testing.T) {
	proxies := cookie.Policy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	long := strings.Repeat("é", 300) // 600 bytes
	cases := []struct {
		name       string
		policy     cookie.Policy
		remote     string
		forwarded  string // X-Forwarded-For
		userAgent  string
		wantClient string
		wantUA     string
	}{
		{"direct", cookie.Policy{}, "192.0.2.1:5555", "", "curl/8.5.0", "192.0.2.1", "curl/8.5.0"},
		{"direct, X-Forwarded-For ignored", cookie.Policy{}, "192.0.2.1:5555", "203.0.113.9", "curl/8.5.0", "192.0.2.1", "curl/8.5.0"},
		{"through a trusted proxy", proxies, "10.1.2.3:5555", "203.0.113.9", "Firefox/140.0", "203.0.113.9", "Firefox/140.0"},
		{"through two trusted proxies", proxies, "10.1.2.3:5555", "198.51.100.1, 203.0.113.9, 10.9.9.9", "x", "203.0.113.9", "x"},
		{"an untrusted proxy's X-Forwarded-For", proxies, "192.0.2.1:5555", "203.0.113.9", "x", "192.0.2.1", "x"},
		{"IPv6", cookie.Policy{}, "[2001:db8::1]:5555", "", "x", "2001:db8::1", "x"},
		{"no user agent", cookie.Policy{}, "192.0.2.1:5555", "", "", "192.0.2.1", ""},
		{"a long user agent", cookie.Policy{}, "192.0.2.1:5555", "", long, "192.0.2.1", long[:store.MaxUserAgent]},
		{"invalid UTF-8", cookie.Policy{}, "192.0.2.1:5555", "", "bad\xff\xfeagent", "192.0.2.1", "badagent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := &recordedLog{}
			srv, err := server.New(context.Background(), newMem(t), server.Config{
				Cookies: c.policy, PasswordParams: cheapParams, Logger: slog.New(log),
			})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/cookie/profile", nil)
			req.RemoteAddr = c.remote
			if c.forwarded != "" {
				req.Header.Set("X-Forwarded-For", c.forwarded)
			}
			if c.userAgent != "" {
				req.Header.Set("User-Agent", c.userAgent)
			} else {
				req.Header.Del("User-Agent")
			}
			req.Header.Set("Cookie", "sk_cookie=secret-cookie-value")
			req.Header.Set("Authorization", "Bearer secret-token-value")
			req = req.WithContext(context.WithValue(req.Context(), ctxMark{}, "mark"))
			srv.ServeHTTP(httptest.NewRecorder(), req)

			lines, ctxs := log.requestLines()
			if len(lines) != 1 {
				t.Fatalf("%d request lines, want 1", len(lines))
			}
			line := lines[0]
			if d, ok := line["duration"]; !ok || d.Kind() != slog.KindDuration || d.Duration() <= 0 {
				t.Errorf("duration = %v (kind %v), want a positive slog duration", d, d.Kind())
			}
			if got := line["client"].String(); got != c.wantClient {
				t.Errorf("client = %q, want %q", got, c.wantClient)
			}
			ua, ok := line["user_agent"]
			if !ok {
				t.Fatal("no user_agent")
			}
			if got := ua.String(); got != c.wantUA || !utf8.ValidString(got) || len(got) > store.MaxUserAgent {
				t.Errorf("user_agent = %q (%d bytes), want %q", got, len(got), c.wantUA)
			}
			for _, key := range []string{"method", "route", "status", "request_id"} {
				if _, ok := line[key]; !ok {
					t.Errorf("no %s", key)
				}
			}
			for key, v := range line {
				if s := v.String(); strings.Contains(s, "secret-cookie-value") || strings.Contains(s, "secret-token-value") {
					t.Errorf("%s holds a secret: %q", key, s)
				}
			}
			if ctxs[0].Value(ctxMark{}) != "mark" {
				t.Error("the request line was not handled with the request's context")
			}
		})
	}
}

// TestMetricsRoute: GET /metrics is on the server's handler unless
// OmitMetricsRoute is set (then it answers 404 there); MetricsHandler
// serves the metrics either way.
func TestMetricsRoute(t *testing.T) {
	for _, c := range []struct {
		name   string
		omit   bool
		public int
	}{
		{"served", false, http.StatusOK},
		{"omitted", true, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, err := server.New(context.Background(), newMem(t), server.Config{
				PasswordParams: cheapParams, OmitMetricsRoute: c.omit, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			get := func(h http.Handler, path string) *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				return rec
			}
			get(srv, "/livez")
			if rec := get(srv, "/metrics"); rec.Code != c.public {
				t.Errorf("the server's GET /metrics: %d, want %d", rec.Code, c.public)
			} else if c.public == http.StatusOK && !strings.Contains(rec.Body.String(), "sessionkit_http_requests_total") {
				t.Errorf("the server's GET /metrics has no request counter:\n%s", rec.Body)
			}
			rec := get(srv.MetricsHandler(), "/metrics")
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `sessionkit_http_requests_total{code="200",method="GET",route="GET /livez"}`) {
				t.Errorf("MetricsHandler: %d, without the /livez request:\n%s", rec.Code, rec.Body)
			}
		})
	}
}
