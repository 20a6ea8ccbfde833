package pgstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestCountersClocked runs the exact checks of counters, by a clock the
// test moves (Options.Now).
func TestCountersClocked(t *testing.T) {
	testenv.Postgres(t) // skip (or fail under CI) once, not in every subtest
	storetest.RunCountersClocked(t, func(t *testing.T, now func() time.Time) store.Counters {
		return openFresh(t, Options{Now: now})
	})
}

// TestCountersRemoved checks what pgstore adds to the contract, which
// RunCountersClocked leaves to each backend: AddCount returns the zero time
// for a counter it brings to zero or below and leaves no row of it, and a
// window too long for the store's times ends at the last of them.
func TestCountersRemoved(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC))
	s := openFresh(t, Options{Now: clock.Now})
	ctx := context.Background()
	add := func(key string, delta int64, window time.Duration, wantN int64, wantExp time.Time) {
		t.Helper()
		n, exp, err := s.AddCount(ctx, key, delta, window)
		if err != nil || n != wantN || !exp.Equal(wantExp) {
			t.Errorf("AddCount(%q, %d, %v) = %d, %v, %v; want %d, %v", key, delta, window, n, exp, err, wantN, wantExp)
		}
	}
	var never time.Time

	add("plain", 5, time.Minute, 5, clock.Now().Add(time.Minute))
	clock.Advance(10 * time.Second)
	add("plain", -5, time.Minute, 0, never)
	add("missing", -1, time.Minute, -1, never)
	var rows int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+s.q.schema+`.sessionkit_counters WHERE count <= 0`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("%d rows of counters at zero or below are left", rows)
	}

	add("long", 1, time.Duration(1<<63-1), 1, time.Unix(0, 1<<63-1))
}

// TestCountersSerializable adds to one counter from many goroutines on
// connections whose transactions default to SERIALIZABLE, where a
// statement that loses a race fails instead of waiting: every call must
// still count once and see its own result.
func TestCountersSerializable(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "serializable"
	cfg.MaxConns = 8
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := New(ctx, pool, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const goroutines, each = 8, 25
	seen := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				n, _, err := s.AddCount(ctx, "shared", 1, time.Hour)
				if err != nil {
					t.Errorf("AddCount: %v", err)
					return
				}
				seen[g] = append(seen[g], n)
			}
		})
	}
	wg.Wait()
	got := map[int64]bool{}
	for _, ns := range seen {
		for _, n := range ns {
			if got[n] {
				t.Errorf("two calls saw the count %d", n)
			}
			got[n] = true
		}
	}
	if n, _, err := s.Count(ctx, "shared"); err != nil || n != goroutines*each {
		t.Errorf("Count = %d, %v; want %d", n, err, goroutines*each)
	}
}
