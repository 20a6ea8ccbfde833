package pgstore_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/pgstore"
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
	given, live := browse(t, m, marker)
	if recs, err := m.Sessions(ctx, "alice"); err != nil || len(recs) != 2 {
		t.Fatalf("alice's sessions: %d, %v; want the 2 she logged in with", len(recs), err)
	}

	all, rows := dumpSchema(t, s.Pool(), schema)
	if n := rows["sessionkit_sessions"]; n != len(live) {
		t.Errorf("the dump has %d rows of sessionkit_sessions, want %d (the live sessions)", n, len(live))
	}
	for _, tok := range live {
		if id := `\x` + store.HashToken(tok).String(); !strings.Contains(all, id) {
			t.Errorf("the id of a live session (%s) is not in the database: the dump does not show what the store wrote", id)
		}
	}
	if h := hex.EncodeToString([]byte(marker)); !strings.Contains(all, h) {
		t.Errorf("the value put in the sessions (%q, in hex %s) is not in the database: the dump does not show the sessions' data", marker, h)
	}
	for i, tok := range given {
		for _, form := range spellings(t, tok) {
			if strings.Contains(all, form) {
				t.Errorf("the database holds token %d of %d (as %q)", i+1, len(given), form)
				break
			}
		}
	}
	if t.Failed() {
		t.Logf("every row of schema %s:\n%s", schema, all)
	}
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

// browse drives m through its HTTP middleware as browsers would, each
// session holding the value marker: a visitor's session; a session whose
// user logs in (Renew, then SetAuth) and views again; a login in a fresh
// browser; and a session that is ended (Destroy). It returns every token
// the browsers were given in a cookie, and the tokens of the sessions that
// are still live (the visitor's and alice's two logins).
func browse(t *testing.T, m *session.Manager, marker string) (given, live []string) {
	t.Helper()
	put := func(w http.ResponseWriter, r *http.Request) {
		if err := session.Put(session.From(r), "note", marker); err != nil {
			t.Errorf("Put: %v", err)
		}
	}
	login := func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil {
			t.Errorf("Renew: %v", err)
		}
		s.SetAuth(session.Auth{User: "alice", AccountID: "account-alice"})
		put(w, r)
	}
	view := func(w http.ResponseWriter, r *http.Request) { session.From(r).Increment("views", 1) }
	logout := func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Destroy(r.Context()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	}
	serve := func(h http.HandlerFunc, token string) string {
		t.Helper()
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		r.Header.Set("User-Agent", "test-browser/1.0")
		if token != "" {
			r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
		}
		w := httptest.NewRecorder()
		m.Handler(h).ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("the manager answered %d: %s", w.Code, w.Body)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == session.DefaultCookieName && c.Value != "" {
				if !slices.Contains(given, c.Value) {
					given = append(given, c.Value)
				}
				token = c.Value
			}
		}
		return token
	}

	visitor := serve(put, "")
	anonymous := serve(put, "")
	loggedIn := serve(login, anonymous)
	serve(view, loggedIn)
	second := serve(login, "")
	ended := serve(put, "")
	serve(logout, ended)

	if loggedIn == anonymous {
		t.Fatal("the login kept the visitor's token: Renew did not renew")
	}
	if len(given) != 5 {
		t.Fatalf("the browsers were given %d tokens, want 5 (one per session made or renewed): %q", len(given), given)
	}
	return given, []string{visitor, loggedIn, second}
}

// spellings returns the ways a token could be written into a store: its
// bytes (the 32 random ones the cookie's text encodes, and that text) raw,
// in hex of either case and in base64 of either alphabet, unpadded so that
// a padded copy is found too. The cookie's text is among them (raw text,
// and the random bytes in base64url).
func spellings(t *testing.T, tok string) []string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q is not 32 bytes in unpadded base64url (%d bytes, %v)", tok, len(raw), err)
	}
	var forms []string
	for _, b := range [][]byte{raw, []byte(tok)} {
		h := hex.EncodeToString(b)
		forms = append(forms, string(b), h, strings.ToUpper(h),
			base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}
