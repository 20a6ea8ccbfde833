package pgstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionkit/sessionkit/store"
)

// TestUserQueriesUseUserIndex checks the plans of listing and ending a
// user's logins on a table bulk-loaded with 200,000 records of other users
// and never analyzed, as it is right after a migration or a restore: both
// must find the user's records on the per-user index alone. With no
// statistics, "expires > now" was estimated to keep a third of the table,
// and the listing ANDed the user index with a scan of the expires index
// over every live row (24 ms at a million records, against 0.05 ms once
// ANALYZE had run). Both the custom plans (the first executions of a
// prepared statement) and the generic plan (what pgx's cached statements
// switch to) are checked, before and after ANALYZE.
func TestUserQueriesUseUserIndex(t *testing.T) {
	s := openFresh(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	table := s.q.schema + ".sessionkit_sessions"
	// Autovacuum would analyze the table on its own after the load.
	if _, err := s.pool.Exec(ctx, `ALTER TABLE `+table+` SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	const others = 200_000
	now := time.Now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO `+table+`
		(id, user_key, user_name, data, version, created, last_seen, expires, user_agent)
		SELECT sha256(convert_to('other-' || g, 'UTF8')), 'user-' || g, 'user-' || g,
			'\x00'::bytea, 1, $1::bigint + g, $1::bigint + g, $2::bigint, 'bench'
		FROM generate_series(1, $3::int) g`,
		now.UnixNano(), now.Add(time.Hour).UnixNano(), others); err != nil {
		t.Fatalf("bulk load: %v", err)
	}
	for i := range 10 {
		r := store.Record{ID: store.HashToken(fmt.Sprintf("alice-%d", i)), User: "Alice", Data: []byte("x"),
			Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "bench"}
		if _, err := s.SaveSession(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var stats int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_stats
		WHERE schemaname = $1 AND tablename = 'sessionkit_sessions'`,
		strings.Trim(s.q.schema, `"`)).Scan(&stats); err != nil {
		t.Fatal(err)
	}
	if stats != 0 {
		t.Fatalf("the table has statistics (%d columns) before ANALYZE; the test needs a table without", stats)
	}

	queries := []struct{ name, sql string }{
		{"UserSessions", s.q.userSessions},
		{"DeleteUserSessions", s.q.deleteUserSessions},
	}
	check := func(when string) {
		for _, q := range queries {
			for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
				plan := explain(ctx, t, s, q.sql, mode, store.FoldName("Alice"), now.UnixNano())
				t.Logf("%s, %s, %s:\n%s", q.name, when, mode, plan)
				if !strings.Contains(plan, "sessionkit_sessions_user") ||
					strings.Contains(plan, "sessionkit_sessions_expires") ||
					strings.Contains(plan, "Seq Scan") {
					t.Errorf("%s, %s, %s: the plan does not find the user's records on the user index alone:\n%s",
						q.name, when, mode, plan)
				}
			}
		}
	}
	check("before ANALYZE")
	if _, err := s.pool.Exec(ctx, `ANALYZE `+table); err != nil {
		t.Fatal(err)
	}
	check("after ANALYZE")

	// And the queries answer as they should on that table.
	recs, err := s.UserSessions(ctx, "ALICE")
	if err != nil || len(recs) != 10 {
		t.Fatalf("UserSessions = %d records, %v; want 10", len(recs), err)
	}
	if n, err := s.DeleteUserSessions(ctx, "alice"); err != nil || n != 10 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 10", n, err)
	}
}

// explain returns the plan PostgreSQL makes for sql, a statement of the
// store with parameters $1 (a folded user name) and $2 (now, Unix
// nanoseconds), prepared as pgx prepares it, under plan_cache_mode mode.
// Nothing is executed: EXPLAIN without ANALYZE only plans.
func explain(ctx context.Context, t *testing.T, s *Store, sql, mode, user string, now int64) string {
	t.Helper()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// A prepared statement outlives the transaction: deallocate it.
	if _, err := tx.Exec(ctx, `PREPARE sk_plan (text, bigint) AS `+sql); err != nil {
		t.Fatalf("PREPARE: %v", err)
	}
	defer tx.Exec(ctx, `DEALLOCATE sk_plan`)
	if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = `+mode); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(`EXPLAIN (COSTS OFF) EXECUTE sk_plan (%s, %d)`,
		quoteLiteral(user), now))
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	return strings.Join(lines, "\n")
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
