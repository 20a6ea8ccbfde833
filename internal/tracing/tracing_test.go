package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
)

const scope tracing.Scope = "example.com/test"

// TestNoSpanWithoutARecordingParent: outside a recording span, Start
// returns the context as it is and a span that records nothing, and
// neither it nor the helpers allocate.
func TestNoSpanWithoutARecordingParent(t *testing.T) {
	exported := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exported), sdktrace.WithSampler(sdktrace.NeverSample()))
	defer tp.Shutdown(context.Background())
	unsampled, parent := tp.Tracer("test").Start(context.Background(), "unsampled")
	defer parent.End()
	for name, ctx := range map[string]context.Context{"no span": context.Background(), "an unsampled span": unsampled} {
		got, span := scope.Start(ctx, "op")
		if got != ctx || span.IsRecording() {
			t.Errorf("%s: Start gave a new context or a recording span", name)
		}
		allocs := testing.AllocsPerRun(100, func() {
			_, span := scope.Start(ctx, "op")
			tracing.Set(span, attribute.Bool("k", true))
			tracing.Event(span, "e", attribute.Int("n", 1))
			tracing.Fail(span, "store")
			span.End()
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per span, want 0", name, allocs)
		}
	}
	if n := len(exported.GetSpans()); n != 0 {
		t.Errorf("%d spans exported", n)
	}
}

// TestChildOfTheRecordingSpan: under a recording span, Start starts a
// child with the parent's provider, and the helpers record on it.
func TestChildOfTheRecordingSpan(t *testing.T) {
	exported := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exported))
	defer tp.Shutdown(context.Background())
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	cctx, span := scope.Start(ctx, "op")
	if trace.SpanFromContext(cctx) != span || !span.IsRecording() {
		t.Fatal("the child is not recording, or not in its context")
	}
	tracing.Set(span, attribute.Bool("k", true))
	tracing.Event(span, "e", attribute.Int("n", 1))
	tracing.Fail(span, "timeout")
	span.End()
	parent.End()
	var child tracetest.SpanStub
	for _, s := range exported.GetSpans() {
		if s.Name == "op" {
			child = s
		}
	}
	if child.Parent.SpanID() != parent.SpanContext().SpanID() || child.InstrumentationScope.Name != string(scope) {
		t.Fatalf("child %+v", child)
	}
	if child.Status.Code != codes.Error || child.Status.Description != "timeout" || len(child.Events) != 1 ||
		fmt.Sprint(child.Attributes) != fmt.Sprint([]attribute.KeyValue{attribute.Bool("k", true), tracing.ErrorType.String("timeout")}) {
		t.Errorf("status %v, events %v, attributes %v", child.Status, child.Events, child.Attributes)
	}
}

func TestWhy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for err, want := range map[error]string{
		context.DeadlineExceeded:                         "timeout",
		fmt.Errorf("load: %w", context.DeadlineExceeded): "timeout",
		ctx.Err():                        "canceled",
		errors.New("connection refused"): "store",
	} {
		if got := tracing.Why(err, "store"); got != want {
			t.Errorf("Why(%v) = %q, want %q", err, got, want)
		}
	}
}
