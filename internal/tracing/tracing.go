// Package tracing starts the OpenTelemetry spans of sessionkit's packages
// (session, token, auth, server) through the OpenTelemetry trace API alone.
//
// A span is started only as the child of a span that is recording: the
// request's server span, or any span of the application's own. It goes to
// the TracerProvider that made its parent, so these packages install
// nothing and need no provider of their own. With no recording span in
// the context (no tracing configured, or the request not sampled), Start
// returns the context as it is and a span that does nothing, and the
// helpers below do nothing: the cost is one context lookup, with no
// allocation.
//
// What goes into a span is chosen by its caller, from a fixed list: names
// of operations, outcomes from a small set, counts and booleans. Never a
// token, a cookie, a password or its hash, a key, a session id (or its
// hash), a user name, nor the text of an error (which may quote any of
// those): a failure is described by a word of the caller's choosing in
// error.type.
package tracing

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of a package's spans: its import
// path.
type Scope string

// none is a span that does nothing, returned when there is no recording
// parent.
var none = trace.SpanFromContext(context.Background())

// Start starts a span named name, a child of the recording span in ctx,
// and returns a context that holds it. When ctx holds no recording span it
// returns ctx itself and a span that does nothing. The caller must End the
// span.
func (s Scope) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, none
	}
	return parent.TracerProvider().Tracer(string(s)).Start(ctx, name)
}

// Recording reports whether ctx holds a recording span, for callers that
// would otherwise compute attributes for nothing.
func Recording(ctx context.Context) bool {
	return trace.SpanFromContext(ctx).IsRecording()
}

// Set sets one attribute on span if it is recording.
func Set(span trace.Span, kv attribute.KeyValue) {
	if span.IsRecording() {
		span.SetAttributes(kv)
	}
}

// Event adds an event with one attribute to span if it is recording.
func Event(span trace.Span, name string, kv attribute.KeyValue) {
	if span.IsRecording() {
		span.AddEvent(name, trace.WithAttributes(kv))
	}
}

// ErrorType is the attribute that says why an operation failed.
const ErrorType = attribute.Key("error.type")

// Fail marks span as failed for the reason why: a word or two from a small
// set chosen by the caller ("timeout", "store", "conflict"), never an
// error's text.
func Fail(span trace.Span, why string) {
	if span.IsRecording() {
		span.SetStatus(codes.Error, why)
		span.SetAttributes(ErrorType.String(why))
	}
}

// Why is the reason to give Fail for err: "timeout" when a deadline
// passed, "canceled" when a context was canceled, other otherwise.
func Why(err error, other string) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return other
}
