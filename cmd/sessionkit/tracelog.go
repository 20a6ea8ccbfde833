package main

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// traceIDs is a slog.Handler that adds trace_id and span_id to a record
// logged with a context that holds a span (a traced request's), so that a
// log line leads to its trace. Without one it adds nothing, at the cost of
// a context lookup.
type traceIDs struct{ slog.Handler }

// withTraceIDs wraps h in traceIDs.
func withTraceIDs(h slog.Handler) slog.Handler { return traceIDs{h} }

func (h traceIDs) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		// The record may share its attributes with the caller's copy:
		// add to a clone.
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceIDs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceIDs{h.Handler.WithAttrs(attrs)}
}

func (h traceIDs) WithGroup(name string) slog.Handler {
	return traceIDs{h.Handler.WithGroup(name)}
}
