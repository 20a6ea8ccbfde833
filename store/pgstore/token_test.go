package pgstore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/pgstore"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestTokensAreNeverStored runs a session.Manager on the store as browsers
// would use it (a visitor's session, a login that renews its session, a
// login in a new browser, a logout), then reads every row of every table
// in the store's schema, each column as PostgreSQL renders it as text
// (bytea in hex): no session token a browser was given appears there in
// any spelling, while each live session's id (the SHA-256 of its token, a
// bytea) and the values put in the sessions do, which shows the dump holds
// what the store wrote.
func TestTokensAreNeverStored(t *testing.T) {
	ctx := context.Background()
	url, schema := testenv.PostgresSchema(t)
	s, err := pgstore.Open(ctx, url, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m, err := session.New(s, session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "marker-value-7f3a"
	given, live := storetest.BrowseSessions(t, m, marker)
	if recs, err := m.Sessions(ctx, "alice"); err != nil || len(recs) != 2 {
		t.Fatalf("alice's sessions: %d, %v; want the 2 she logged in with", len(recs), err)
	}

	all, rows := dumpSchema(t, s.Pool(), schema)
	if n := rows["sessionkit_sessions"]; n != len(live) {
		t.Errorf("the dump has %d rows of sessionkit_sessions, want %d (the live sessions)", n, len(live))
	}
	// bytea is dumped in hex.
	storetest.CheckDump(t, all, given, live, func(id store.SessionID) string { return `\x` + id.String() },
		hex.EncodeToString([]byte(marker)))
}

// dumpSchema returns every row of every table in schema, each column cast
// to text (bytea in hex, whatever the server's bytea_output), one line per
// row, and how many rows each table has.
func dumpSchema(t *testing.T, pool *pgxpool.Pool, schema string) (string, map[string]int) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL bytea_output = 'hex'`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, schema)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	columns := map[string][]string{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		if len(columns[table]) == 0 {
			tables = append(tables, table)
		}
		columns[table] = append(columns[table], pgx.Identifier{column}.Sanitize()+"::text")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tables, "sessionkit_sessions") {
		t.Fatalf("schema %s has no sessionkit_sessions table (tables: %q)", schema, tables)
	}
	var dump strings.Builder
	counts := map[string]int{}
	for _, table := range tables {
		q := fmt.Sprintf(`SELECT %s FROM %s`, strings.Join(columns[table], ", "), pgx.Identifier{schema, table}.Sanitize())
		rows, err := tx.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		counts[table] = 0
		for rows.Next() {
			vals := make([]*string, len(columns[table]))
			dest := make([]any, len(vals))
			for i := range vals {
				dest[i] = &vals[i]
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(table + ":")
			for _, v := range vals {
				if v != nil {
					dump.WriteString(" " + *v)
				}
			}
			dump.WriteByte('\n')
			counts[table]++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return dump.String(), counts
}
