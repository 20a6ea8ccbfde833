package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
)

// Tracing (see docs/adr/018-opentelemetry-tracing.md). With
// Config.TracerProvider set, every request gets a server span from
// otelhttp, named by its route pattern ("GET /session/profile"), and every
// store call a child span (instrumentedBackend), as do the session,
// token and auth operations the request runs. Without it the server adds
// no middleware, and the child spans, which start only under a recording
// span, are never started.
//
// A request span carries the method, the scheme, the protocol version,
// the route pattern (http.route), the client address as clientAddr finds
// it (through trusted proxies only), the status code and the body sizes.
// Nothing else of the request: otelhttp also records the path, the Host
// header, the User-Agent and an X-Forwarded-For address anyone can write,
// and those are dropped before the span starts (requestTracer). No header,
// cookie, query or body is ever recorded.

const scope tracing.Scope = "github.com/sessionkit/sessionkit/server"

// traceRequests wraps next in otelhttp's server span, when the server
// traces at all. A trace context the request carries (traceparent) is
// continued only when the request comes from a trusted proxy; from anyone
// else the request starts a trace of its own, linked to the one it
// claimed, so that a client can neither join a trace nor decide whether
// its requests are sampled.
func (s *Server) traceRequests(next http.Handler) http.Handler {
	tp := s.cfg.TracerProvider
	if tp == nil {
		return next
	}
	routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		// The mux set r.Pattern on this very request (no middleware in
		// between copies it, as logRequests relies on too); otelhttp
		// names the span after it once this returns.
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			if route := routeOf(r.Pattern); route != "" {
				span.SetAttributes(semconv.HTTPRoute(route))
			}
			span.SetAttributes(semconv.ClientAddress(s.clientAddr(r)))
		}
	})
	return otelhttp.NewHandler(routed, "sessionkit",
		otelhttp.WithTracerProvider(requestAttrFilter{tp}),
		// Metrics are Prometheus's (metrics.go): none from otelhttp.
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithPublicEndpointFn(func(r *http.Request) bool {
			return !s.cfg.Cookies.Trusts(remoteIP(r.RemoteAddr))
		}),
	)
}

// routeOf is the path part of a mux pattern ("/session/profile" of "GET
// /session/profile"), or "" for a request no route matched.
func routeOf(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// keptRequestAttrs are the attributes of otelhttp's request span that are
// kept; it records others that are the client's own words (the path,
// which may hold anything; the Host header; the User-Agent; an
// X-Forwarded-For address from anyone) or that clientAddr says better.
var keptRequestAttrs = map[attribute.Key]bool{
	semconv.HTTPRequestMethodKey:      true,
	semconv.URLSchemeKey:              true,
	semconv.NetworkProtocolNameKey:    true,
	semconv.NetworkProtocolVersionKey: true,
}

// requestAttrFilter is the TracerProvider given to otelhttp: its tracers
// start spans with keptRequestAttrs only.
type requestAttrFilter struct{ trace.TracerProvider }

func (p requestAttrFilter) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return requestTracer{p.TracerProvider.Tracer(name, opts...)}
}

type requestTracer struct{ trace.Tracer }

func (t requestTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	attrs := cfg.Attributes()
	kept := make([]attribute.KeyValue, 0, len(keptRequestAttrs))
	for _, kv := range attrs {
		if keptRequestAttrs[kv.Key] {
			kept = append(kept, kv)
		}
	}
	o := []trace.SpanStartOption{trace.WithSpanKind(cfg.SpanKind()), trace.WithAttributes(kept...)}
	if links := cfg.Links(); len(links) > 0 {
		o = append(o, trace.WithLinks(links...))
	}
	if cfg.NewRoot() {
		o = append(o, trace.WithNewRoot())
	}
	if ts := cfg.Timestamp(); !ts.IsZero() {
		o = append(o, trace.WithTimestamp(ts))
	}
	return t.Tracer.Start(ctx, name, o...)
}

// Attributes of store spans.
const (
	attrStoreOp      = attribute.Key("sessionkit.store.operation")
	attrStoreResult  = attribute.Key("sessionkit.store.result")
	attrStoreBackend = attribute.Key("sessionkit.store.backend")
)

// storeSpanNames are the names of the store spans, by operation:
// "store.session_get" and so on.
var storeSpanNames = func() (names [numStoreOps]string) {
	for op := range numStoreOps {
		names[op] = "store." + op.String()
	}
	return names
}()

// backendName names the type of a store backend for its spans:
// "sqlitestore.Store", "redisstore.Store" and so on.
func backendName(b Backend) attribute.KeyValue {
	return attrStoreBackend.String(strings.TrimPrefix(fmt.Sprintf("%T", b), "*"))
}

// storeFailure is the error.type of a store call that failed: "timeout"
// when its deadline passed, "canceled", or "store". (Not found, conflict
// and exists are answers, in sessionkit.store.result, not failures.)
func storeFailure(err error) string { return tracing.Why(err, "store") }
