package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
)

// spyBackend counts the store calls that were made with a span in their
// context: with tracing off there must be none.
type spyBackend struct {
	server.Backend
	calls, traced atomic.Int64
}

func (b *spyBackend) saw(ctx context.Context) {
	b.calls.Add(1)
	if trace.SpanContextFromContext(ctx).IsValid() {
		b.traced.Add(1)
	}
}

func (b *spyBackend) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	b.saw(ctx)
	return b.Backend.Session(ctx, id)
}

func (b *spyBackend) User(ctx context.Context, name string) (store.User, error) {
	b.saw(ctx)
	return b.Backend.User(ctx, name)
}

// tracedServer starts a server on a memory store that traces into an
// in-memory exporter.
func tracedServer(t *testing.T, cfg server.Config) (base string, spans *tracetest.InMemoryExporter, spy *spyBackend) {
	t.Helper()
	spans = tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	cfg.TracerProvider = tp
	spy = &spyBackend{Backend: newMem(t)}
	return newServer(t, spy, cfg).URL, spans, spy
}

// secretsSeen collects every secret a client saw, in the forms a span
// might hold it.
type secretsSeen map[string]string // form → what it is

func (s secretsSeen) add(what, v string) {
	if v == "" {
		return
	}
	s[v] = what
	s[url.QueryEscape(v)] = what + " (form-encoded)"
	if parts := strings.Split(v, "."); len(parts) == 3 { // a JWT: its claims and signature
		s[parts[1]] = what + " (claims)"
		s[parts[2]] = what + " (signature)"
	}
}

// addSession adds a session cookie's value and the store's id of it.
func (s secretsSeen) addSession(what, v string) {
	s.add(what, v)
	id := store.HashToken(v).String()
	s[id] = what + " (its session id)"
	s[id[:16]] = what + " (its session id, cut short)"
}

// recordCookies is a RoundTripper that adds every cookie the server sets
// to seen.
type recordCookies struct{ seen secretsSeen }

func (rc recordCookies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		for _, c := range resp.Cookies() {
			if strings.HasSuffix(c.Name, "sk_session") {
				rc.seen.addSession("cookie "+c.Name, c.Value)
			} else {
				rc.seen.add("cookie "+c.Name, c.Value)
			}
		}
	}
	return resp, err
}

// spanText is everything a span says, as an exporter would write it: its
// name, attributes, events, links, status and resource.
func spanText(s tracetest.SpanStub) string {
	var b strings.Builder
	kvs := func(attrs []attribute.KeyValue) {
		for _, kv := range attrs {
			b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
		}
	}
	b.WriteString(s.Name + "\n" + s.Status.Description + "\n")
	kvs(s.Attributes)
	for _, e := range s.Events {
		b.WriteString(e.Name + "\n")
		kvs(e.Attributes)
	}
	for _, l := range s.Links {
		kvs(l.Attributes)
	}
	if s.Resource != nil {
		kvs(s.Resource.Attributes())
	}
	return b.String()
}

func attr(s tracetest.SpanStub, key string) (string, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}

// traceTree indexes exported spans by id.
type traceTree map[trace.SpanID]tracetest.SpanStub

func newTraceTree(stubs tracetest.SpanStubs) traceTree {
	tree := traceTree{}
	for _, s := range stubs {
		tree[s.SpanContext.SpanID()] = s
	}
	return tree
}

// under reports whether s descends from the span named ancestor.
func (tree traceTree) under(s tracetest.SpanStub, ancestor trace.SpanID) bool {
	for p := s.Parent; p.IsValid(); p = tree[p.SpanID()].Parent {
		if p.SpanID() == ancestor {
			return true
		}
		if _, ok := tree[p.SpanID()]; !ok {
			return false
		}
	}
	return false
}

// serverSpan returns the one server span named name.
func serverSpan(t *testing.T, stubs tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range stubs {
		if s.SpanKind == trace.SpanKindServer && s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d server spans named %q, want 1", len(found), name)
	}
	return found[0]
}

// forbiddenAttrs are attributes of otelhttp's that the server must drop:
// the client's own words.
var forbiddenAttrs = []string{"url.path", "url.full", "url.query", "user_agent.original", "server.address",
	"http.request.method_original", "network.peer.address"}

// TestTracing logs in and views the profile in every mode and through the
// API (with a refresh, and a query string and a header holding secrets),
// traced into memory. Each request is a server span named by its route,
// with its store calls among its descendants and the session, token and
// password work as spans of their own; and no span holds the password, a
// cookie, a token, a session id, the query or the header.
func TestTracing(t *testing.T) {
	base, exported, spy := tracedServer(t, server.Config{})
	seen := secretsSeen{}
	b := newBrowser(t, base)
	b.c.Transport = recordCookies{seen}
	const user = "tracy"
	pass := "tr4cing " + randomToken()
	seen.add("the password", pass)

	b.register(user, pass)
	for _, mode := range []string{"cookie", "session", "jwt"} {
		b.login(mode, user, pass)
		if got := b.profile(mode); !strings.HasPrefix(got, "welcome "+user) {
			t.Fatalf("%s profile: %q", mode, got)
		}
	}
	if r := b.get("/jwt/refresh"); r.Status != http.StatusSeeOther {
		t.Fatalf("JWT refresh: status %d", r.Status)
	}
	query := "q" + randomToken()
	seen.add("a query parameter", query)
	if r := b.get("/session/profile?next=" + query); r.Status != http.StatusOK {
		t.Fatalf("profile with a query: status %d", r.Status)
	}
	spoofed := "203.0.113.9"
	req, _ := http.NewRequest("GET", base+"/session/profile", nil)
	header := "h" + randomToken()
	seen.add("a request header", header)
	req.Header.Set("X-Api-Key", header)
	req.Header.Set("X-Forwarded-For", spoofed)
	req.Header.Set("User-Agent", "agent-"+header)
	if r := b.do(req); r.Status != http.StatusOK {
		t.Fatalf("profile with headers: status %d", r.Status)
	}

	access, refresh := apiLogin(t, base, user, pass)
	seen.add("an API access token", access)
	seen.add("an API refresh token", refresh)
	if me := api(t, base, "GET", "/api/me", "", access); me.Status != http.StatusOK {
		t.Fatalf("me: %d", me.Status)
	}
	r := apiRefresh(t, base, refresh)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d", r.Status)
	}
	seen.add("a refreshed access token", r.JSON["access_token"].(string))
	seen.add("a refreshed refresh token", r.JSON["refresh_token"].(string))

	stubs := exported.GetSpans()
	tree := newTraceTree(stubs)
	names := map[string]int{}
	for _, s := range stubs {
		names[s.Name]++
	}

	// Each request is a server span named by its route, with its store
	// calls (and the session and password work) beneath it.
	for _, c := range []struct {
		route string
		under []string // spans that must descend from it
	}{
		{"POST /register", []string{"auth.password.hash", "store.user_create"}},
		{"POST /session/login", []string{"auth.password.verify", "store.user_get", "session.save", "store.session_save"}},
		{"POST /cookie/login", []string{"auth.password.verify", "store.user_get"}},
		{"POST /jwt/login", []string{"auth.password.verify", "store.session_save"}},
		{"GET /jwt/profile", []string{"token.verify", "store.denied"}},
		{"GET /jwt/refresh", []string{"token.refresh.rotate", "store.session_save"}},
		{"GET /api/me", []string{"token.verify"}},
		{"POST /api/refresh", []string{"token.refresh.rotate"}},
	} {
		srv := serverSpan(t, stubs, c.route)
		if got, _ := attr(srv, "http.route"); got != c.route[strings.Index(c.route, " ")+1:] {
			t.Errorf("%s: http.route %q", c.route, got)
		}
		for _, want := range c.under {
			found := false
			for _, s := range stubs {
				if s.Name == want && tree.under(s, srv.SpanContext.SpanID()) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s span under the %s span (spans: %v)", want, c.route, names)
			}
		}
	}
	// A profile view: the session's load is a child of the request, and
	// the store's read a child of the load.
	var profiles []tracetest.SpanStub
	for _, s := range stubs {
		if s.SpanKind == trace.SpanKindServer && s.Name == "GET /session/profile" {
			profiles = append(profiles, s)
		}
	}
	if len(profiles) != 3 {
		t.Fatalf("%d session profile spans, want 3", len(profiles))
	}
	for _, p := range profiles {
		var load, read bool
		for _, s := range stubs {
			if s.Name == "session.load" && s.Parent.SpanID() == p.SpanContext.SpanID() {
				load = true
				if got, _ := attr(s, "sessionkit.session.outcome"); got != "found" {
					t.Errorf("session.load outcome %q, want found", got)
				}
				for _, c := range stubs {
					if c.Name == "store.session_get" && c.Parent.SpanID() == s.SpanContext.SpanID() {
						read = true
					}
				}
			}
		}
		if !load || !read {
			t.Errorf("profile view: session.load child %v, store.session_get grandchild %v", load, read)
		}
		if got, _ := attr(p, "client.address"); got != "127.0.0.1" {
			t.Errorf("client.address %q, want the peer's (X-Forwarded-For from an untrusted peer is ignored)", got)
		}
		for _, key := range forbiddenAttrs {
			if v, ok := attr(p, key); ok {
				t.Errorf("the request span records %s=%q", key, v)
			}
		}
	}
	for _, s := range stubs {
		if s.Name == "token.verify" {
			if got, _ := attr(s, "sessionkit.token.outcome"); got != "valid" {
				t.Errorf("token.verify outcome %q, want valid", got)
			}
		}
	}

	// No span holds a secret, in any form.
	if len(seen) < 20 {
		t.Fatalf("only %d secret forms collected: the run saw too little", len(seen))
	}
	var all strings.Builder
	for _, s := range stubs {
		all.WriteString(spanText(s))
	}
	text := all.String()
	for form, what := range seen {
		if strings.Contains(text, form) {
			t.Errorf("a span holds %s (%q…)", what, form[:min(len(form), 12)])
		}
	}
	if strings.Contains(text, spoofed) {
		t.Error("a span holds the address the client wrote in X-Forwarded-For")
	}
	if n := spy.traced.Load(); n == 0 || n != spy.calls.Load() {
		t.Errorf("%d of %d store calls had a span in their context, want all", n, spy.calls.Load())
	}
	t.Logf("%d spans, %d secret forms looked for", len(stubs), len(seen))
}

// TestTracingOff: without a TracerProvider no request and no store call
// has a span.
func TestTracingOff(t *testing.T) {
	spy := &spyBackend{Backend: newMem(t)}
	b := newBrowser(t, newServer(t, spy, server.Config{}).URL)
	b.register("untraced", "password one")
	b.login("session", "untraced", "password one")
	b.profile("session")
	if spy.calls.Load() == 0 || spy.traced.Load() != 0 {
		t.Errorf("%d of %d store calls had a span in their context, want none", spy.traced.Load(), spy.calls.Load())
	}
}

// TestTraceContextFromTrustedProxiesOnly: a traceparent header is
// continued when a trusted proxy sends it; from anyone else the request
// starts its own trace, linked to the one it claimed. The client address
// is X-Forwarded-For's only through a trusted proxy.
func TestTraceContextFromTrustedProxiesOnly(t *testing.T) {
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	for _, c := range []struct {
		name      string
		proxies   []netip.Prefix
		continued bool
		client    string
	}{
		{"untrusted", nil, false, "127.0.0.1"},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, true, "203.0.113.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, exported, _ := tracedServer(t, server.Config{Cookies: cookie.Policy{TrustedProxies: c.proxies}})
			req, _ := http.NewRequest("GET", base+"/livez", nil)
			req.Header.Set("traceparent", "00-"+traceID+"-"+spanID+"-01")
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			if r := newBrowser(t, base).do(req); r.Status != http.StatusOK {
				t.Fatalf("livez: %d", r.Status)
			}
			s := serverSpan(t, exported.GetSpans(), "GET /livez")
			continued := s.SpanContext.TraceID().String() == traceID && s.Parent.SpanID().String() == spanID
			if continued != c.continued {
				t.Errorf("trace %s, parent %s: continued %v, want %v", s.SpanContext.TraceID(), s.Parent.SpanID(), continued, c.continued)
			}
			if !c.continued && (len(s.Links) != 1 || s.Links[0].SpanContext.TraceID().String() != traceID) {
				t.Errorf("links %v, want one to the claimed trace", s.Links)
			}
			if got, _ := attr(s, "client.address"); got != c.client {
				t.Errorf("client.address %q, want %q", got, c.client)
			}
		})
	}
}

// discardSpans is an exporter that drops what it is given.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkProfileTraced is BenchmarkProfile's session and JWT cases with
// every request traced and sampled, its spans batched as in production
// and then dropped: what tracing costs when it is on (BenchmarkProfile is
// the same with it off). The "unsampled" case has tracing on and a
// sampler that keeps no trace: what an unsampled request costs.
func BenchmarkProfileTraced(b *testing.B) {
	for _, c := range []struct {
		name, mode string
		sampler    sdktrace.Sampler
	}{
		{"session", "session", sdktrace.AlwaysSample()},
		{"jwt", "jwt", sdktrace.AlwaysSample()},
		{"session-unsampled", "session", sdktrace.NeverSample()},
	} {
		b.Run(c.name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}), sdktrace.WithSampler(c.sampler))
			b.Cleanup(func() { tp.Shutdown(context.Background()) })
			srv, _ := newBenchServerConfig(b, server.Config{TracerProvider: tp})
			cookies := benchBrowserLogin(b, srv, c.mode)
			benchViews(b, srv, profileRequest("/"+c.mode+"/profile", cookies))
		})
	}
}
