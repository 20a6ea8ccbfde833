package pgstore

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
)

// TestRemoveExpired checks that cleanup deletes every expired row of every
// table that expires, in batches of cleanupBatch rows, keeps live rows, and
// skips a row another transaction holds instead of waiting for it.
func TestRemoveExpired(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()
	now := time.Now()
	trace := &statements{}
	pool := newPool(t, url, trace)
	s, err := New(ctx, pool, Options{Schema: schema, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := quoteIdent(schema)
	past := now.Add(-time.Minute).UnixNano()

	tables := []struct {
		table   string
		expired int    // rows that expired, all deletable
		fill    string // inserts $2 rows that expired at $1
	}{
		{"sessionkit_deny_list", 2*cleanupBatch + 7,
			`INSERT INTO ` + q + `.sessionkit_deny_list (id, expires)
			 SELECT 'old-' || g, $1 FROM generate_series(1, $2) g`},
		{"sessionkit_sessions", cleanupBatch + 3,
			`INSERT INTO ` + q + `.sessionkit_sessions
			 (id, user_key, user_name, data, version, created, last_seen, expires, user_agent)
			 SELECT sha256(('old-' || g)::bytea), 'alice', 'Alice', '\x00', 1, $1, $1, $1, ''
			 FROM generate_series(1, $2) g`},
		{"sessionkit_counters", cleanupBatch + 1,
			`INSERT INTO ` + q + `.sessionkit_counters (key, count, expires)
			 SELECT ('old-' || g)::bytea, g, $1 FROM generate_series(1, $2) g`},
	}
	if len(tables) != len(s.q.expiring) {
		t.Fatalf("the test covers %d tables, cleanup %d", len(tables), len(s.q.expiring))
	}
	for _, tb := range tables {
		if _, err := pool.Exec(ctx, tb.fill, past, tb.expired); err != nil {
			t.Fatalf("filling %s: %v", tb.table, err)
		}
	}

	// Through the store: one live row per table, and a session that
	// expires exactly now, which is expired (and so deleted).
	session := func(token string, expires time.Time) {
		t.Helper()
		if _, err := s.SaveSession(ctx, store.Record{ID: store.HashToken(token), User: "alice",
			Created: now, LastSeen: now, Expires: expires}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Deny(ctx, "live", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	session("live", now.Add(time.Hour))
	session("now", now)
	tables[1].expired++
	if _, _, err := s.AddCount(ctx, "live", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddCount(ctx, "now", 1, 0); err != nil { // expires now
		t.Fatal(err)
	}
	tables[2].expired++

	// Another transaction holds one more expired session: cleanup must
	// skip it rather than wait.
	session("held", now.Add(-time.Hour))
	held, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(ctx)
	heldID := store.HashToken("held")
	if _, err := held.Exec(ctx, `SELECT 1 FROM `+q+`.sessionkit_sessions WHERE id = $1 FOR UPDATE`, heldID[:]); err != nil {
		t.Fatal(err)
	}

	trace.take()
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := s.removeExpired(waitCtx, now)
	if err != nil {
		t.Fatalf("removeExpired: %v", err)
	}
	want := 0
	for _, tb := range tables {
		want += tb.expired
	}
	if n != int64(want) {
		t.Errorf("removeExpired deleted %d rows, want %d", n, want)
	}
	sql := trace.take()
	for _, tb := range tables {
		batches := 0
		for _, stmt := range sql {
			if strings.HasPrefix(stmt, "DELETE FROM "+q+"."+tb.table+" ") {
				batches++
			}
		}
		// Full batches, then one that finds fewer rows and ends the loop.
		if wantBatches := tb.expired/cleanupBatch + 1; batches != wantBatches {
			t.Errorf("%s: %d rows deleted in %d statements, want %d of at most %d rows",
				tb.table, tb.expired, batches, wantBatches, cleanupBatch)
		}
	}
	count := func(table string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+q+`.`+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if left := count("sessionkit_deny_list"); left != 1 {
		t.Errorf("sessionkit_deny_list: %d rows left, want the live one", left)
	}
	if left := count("sessionkit_sessions"); left != 2 {
		t.Errorf("sessionkit_sessions: %d rows left, want the live one and the held one", left)
	}
	if left := count("sessionkit_counters"); left != 1 {
		t.Errorf("sessionkit_counters: %d rows left, want the live one", left)
	}
	if n, _, err := s.Count(ctx, "live"); err != nil || n != 1 {
		t.Errorf("the live counter after cleanup: %d, %v", n, err)
	}
	if _, err := s.Session(ctx, store.HashToken("live")); err != nil {
		t.Errorf("the live session after cleanup: %v", err)
	}
	if ok, err := s.Denied(ctx, "live"); err != nil || !ok {
		t.Errorf("the live deny-list entry after cleanup: %v, %v", ok, err)
	}

	// Once released, the held row goes at the next cleanup.
	if err := held.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.removeExpired(ctx, now); err != nil || n != 1 {
		t.Errorf("removeExpired after the row was released = %d, %v; want 1", n, err)
	}
	if left := count("sessionkit_sessions"); left != 1 {
		t.Errorf("sessionkit_sessions: %d rows left, want the live one", left)
	}
}

// TestCleanupRuns checks that the background goroutine deletes expired
// rows by the store's clock, and that Close stops it.
func TestCleanupRuns(t *testing.T) {
	var clock atomic.Int64
	start := time.Now()
	clock.Store(start.UnixNano())
	s := openFresh(t, Options{CleanupInterval: 10 * time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	ctx := context.Background()
	for token, expires := range map[string]time.Time{
		"soon":  start.Add(time.Minute),
		"later": start.Add(time.Hour),
	} {
		if _, err := s.SaveSession(ctx, store.Record{ID: store.HashToken(token), User: "alice",
			Created: start, LastSeen: start, Expires: expires}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Deny(ctx, "soon", start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddCount(ctx, "soon", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Store(start.Add(2 * time.Minute).UnixNano())

	// The goroutine runs every 10ms; give a loaded machine plenty of time.
	rows := func() (sessions, deny, counters int) {
		t.Helper()
		err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+s.q.schema+`.sessionkit_sessions),
			(SELECT count(*) FROM `+s.q.schema+`.sessionkit_deny_list),
			(SELECT count(*) FROM `+s.q.schema+`.sessionkit_counters)`).Scan(&sessions, &deny, &counters)
		if err != nil {
			t.Fatal(err)
		}
		return sessions, deny, counters
	}
	deadline := time.Now().Add(time.Minute)
	for {
		sessions, deny, counters := rows()
		if sessions == 1 && deny == 0 && counters == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute, %d sessions, %d deny-list entries and %d counters are left, want 1, 0 and 0",
				sessions, deny, counters)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Session(ctx, store.HashToken("later")); err != nil {
		t.Errorf("the live session after cleanup: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	default:
		t.Error("the cleanup goroutine still runs after Close")
	}
}
