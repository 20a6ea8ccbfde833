package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// consoleSpan is the part of a span as OTEL_TRACES_EXPORTER=console writes
// it (one JSON object per span on standard output) that the test reads.
type consoleSpan struct {
	Name        string
	SpanKind    int // 2 is a server span
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ TraceID, SpanID string }
	Attributes  []consoleAttr
	Resource    []consoleAttr
}

type consoleAttr struct {
	Key   string
	Value struct{ Value any }
}

func (s consoleSpan) attr(key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			v, _ := a.Value.Value.(string)
			return v
		}
	}
	return ""
}

const spanKindServer = 2

// TestTracingConsole runs "sessionkit serve" on SQLite with
// OTEL_TRACES_EXPORTER=console and does, as the logs test does, a full
// run: register, log in and view the profile in every mode, refresh, the
// API, a reused refresh token and a failed login. Once it has stopped
// (flushing its last spans), its standard output must hold a server span
// for the session login and for the profile view, named by route, each
// with a store call among its descendants; the request lines of its log
// must carry the trace ids of those spans; and neither may hold any
// secret the client saw.
func TestTracingConsole(t *testing.T) {
	stdout := &lockedWriter{}
	srv := startProcessWith(t, freeAddr(t), processOptions{
		env:    []string{"OTEL_TRACES_EXPORTER=console", "OTEL_SERVICE_NAME=sessionkit-e2e"},
		stdout: stdout,
	}, "--store", "sqlite:"+filepath.Join(t.TempDir(), "traced.db"), "--log-level", "info", "--refresh-grace", "-1s")
	base := "http://" + srv.addr
	seen := &seenSecrets{}
	fullRun(t, srv, base, randomName("traced_"), "secret words "+randomName("pw"), false, seen)
	stopProcess(t, srv)
	out, log := stdout.String(), srv.log.String()

	var spans []consoleSpan
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var s consoleSpan
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("standard output is not a stream of spans: %v\n%s", err, tail(out, 2000))
		}
		spans = append(spans, s)
	}
	if len(spans) == 0 {
		t.Fatalf("no span on standard output; the log:\n%s", tail(log, 3000))
	}
	byID := map[string]consoleSpan{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID] = s
	}
	under := func(s consoleSpan, ancestor string) bool {
		for p := s.Parent.SpanID; p != "" && p != "0000000000000000"; p = byID[p].Parent.SpanID {
			if p == ancestor {
				return true
			}
			if _, ok := byID[p]; !ok {
				return false
			}
		}
		return false
	}

	for _, route := range []string{"POST /session/login", "GET /session/profile", "POST /jwt/login", "GET /jwt/profile", "POST /api/refresh"} {
		var servers []consoleSpan
		for _, s := range spans {
			if s.SpanKind == spanKindServer && s.Name == route {
				servers = append(servers, s)
			}
		}
		if len(servers) == 0 {
			t.Errorf("no server span named %q", route)
			continue
		}
		// A profile view after logout has no login to look up: at least
		// one request of each route has a store call beneath it.
		stored := 0
		for _, srvSpan := range servers {
			if want := route[strings.Index(route, " ")+1:]; srvSpan.attr("http.route") != want {
				t.Errorf("%s: http.route %q, want %q", route, srvSpan.attr("http.route"), want)
			}
			for _, s := range spans {
				if strings.HasPrefix(s.Name, "store.") && under(s, srvSpan.SpanContext.SpanID) {
					stored++
					if b := s.attr("sessionkit.store.backend"); b != "sqlitestore.Store" {
						t.Errorf("%s: store span %s on backend %q, want sqlitestore.Store", route, s.Name, b)
					}
					break
				}
			}
			// The request's log line carries the span's trace id.
			line := regexp.MustCompile(`msg=request method=\S+ route="` + regexp.QuoteMeta(route) + `" .*trace_id=` + srvSpan.SpanContext.TraceID + ` span_id=` + srvSpan.SpanContext.SpanID)
			if !line.MatchString(log) {
				t.Errorf("%s: no request line with trace_id=%s span_id=%s", route, srvSpan.SpanContext.TraceID, srvSpan.SpanContext.SpanID)
			}
		}
		if stored == 0 {
			t.Errorf("none of the %d %s spans has a store span beneath it", len(servers), route)
		}
	}
	service := ""
	for _, a := range spans[0].Resource {
		if a.Key == "service.name" {
			service, _ = a.Value.Value.(string)
		}
	}
	if service != "sessionkit-e2e" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", service)
	}

	leaks := 0
	for _, s := range seen.list {
		for _, form := range s.forms() {
			for what, text := range map[string]string{"the spans": out, "the log": log} {
				if strings.Contains(text, form) {
					leaks++
					t.Errorf("%s hold %s (%q…)", what, s.name, form[:min(len(form), 12)])
				}
			}
		}
	}
	t.Logf("%d spans (%d bytes); looked for %d secrets", len(spans), len(out), len(seen.list))
	if leaks > 0 {
		t.Logf("spans:\n%s", out)
	}
}
