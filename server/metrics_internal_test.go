package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

func newTestMetrics(t testing.TB) *metrics {
	t.Helper()
	m, err := newMetrics(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMetricsCostNoAllocation: once a route's series exist, counting a
// request, and counting and timing a store call, allocate nothing.
func TestMetricsCostNoAllocation(t *testing.T) {
	m := newTestMetrics(t)
	m.observeRequest("GET /api/me", "GET", 200, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() {
		m.observeRequest("GET /api/me", "GET", 200, time.Millisecond)
	}); n != 0 {
		t.Errorf("observeRequest allocates %v times per request", n)
	}
	mem := memstore.New(memstore.Options{})
	defer mem.Close()
	b := m.instrument(mem)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		b.Denied(ctx, "some id")
	}); n != 0 {
		t.Errorf("an instrumented Denied allocates %v times more than none", n)
	}
	_ = store.ErrNotFound
}

// BenchmarkObserveRequest is the metrics' share of every request.
func BenchmarkObserveRequest(b *testing.B) {
	m := newTestMetrics(b)
	b.ReportAllocs()
	for b.Loop() {
		m.observeRequest("GET /api/me", "GET", 200, time.Millisecond)
	}
}

// BenchmarkInstrumentedDenied is a deny-list check on a memory store
// through the instrumented backend; compare with BenchmarkDenied.
func BenchmarkInstrumentedDenied(b *testing.B) {
	mem := memstore.New(memstore.Options{})
	defer mem.Close()
	ib := newTestMetrics(b).instrument(mem)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ib.Denied(ctx, "some id")
	}
}

// BenchmarkDenied is the same check on the memory store alone.
func BenchmarkDenied(b *testing.B) {
	mem := memstore.New(memstore.Options{})
	defer mem.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		mem.Denied(ctx, "some id")
	}
}
