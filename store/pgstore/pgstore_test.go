package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

func TestConformance(t *testing.T) {
	testenv.Postgres(t) // skip (or fail under CI) once, not in every subtest
	storetest.Run(t, func(t *testing.T) storetest.Store { return openFresh(t, Options{}) })
}

// TestConformanceSerializable runs the suite on connections whose
// transactions default to SERIALIZABLE, as some applications configure
// their pool: a save that loses a race must still be store.ErrConflict.
func TestConformanceSerializable(t *testing.T) {
	url := testenv.Postgres(t)
	storetest.Run(t, func(t *testing.T) storetest.Store {
		_, schema := testenv.PostgresSchema(t)
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "serializable"
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		var level string
		if err := pool.QueryRow(context.Background(), `SHOW transaction_isolation`).Scan(&level); err != nil || level != "serializable" {
			t.Fatalf("transaction isolation = %q, %v; want serializable", level, err)
		}
		s, err := New(context.Background(), pool, Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestStatementsPerCall checks that every call is one statement: one round
// trip to the database (after the first use of a connection, which also
// prepares it), and atomic on the server.
func TestStatementsPerCall(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	trace := &statements{}
	ctx := context.Background()
	s, err := New(ctx, newPool(t, url, trace), Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	now := time.Now()
	r := store.Record{ID: store.HashToken("counted"), User: "Alice", Data: []byte("d"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "ua"}
	expired := store.Record{ID: store.HashToken("expired"), Created: now, LastSeen: now, Expires: now.Add(-time.Hour)}
	if _, err := s.SaveSession(ctx, expired); err != nil {
		t.Fatal(err)
	}
	save := func(r store.Record) error { _, err := s.SaveSession(ctx, r); return err }
	at := func(r store.Record, v uint64) store.Record { r.Version = v; return r }
	alive := expired
	alive.Expires = now.Add(time.Hour)
	key := func(id string) store.Key {
		return store.Key{ID: id, Secret: []byte("s-" + id), Created: now, SignsFrom: now.Add(time.Minute)}
	}
	calls := []struct {
		name string
		call func() error
		want error // nil or the sentinel the call returns
	}{
		{"SaveSession create", func() error { return save(r) }, nil},
		{"SaveSession update", func() error { return save(at(r, 1)) }, nil},
		{"SaveSession conflict", func() error { return save(at(r, 1)) }, store.ErrConflict},
		{"SaveSession create over a live record", func() error { return save(r) }, store.ErrConflict},
		{"SaveSession create over an expired record", func() error { return save(alive) }, nil},
		{"Session", func() error { _, err := s.Session(ctx, r.ID); return err }, nil},
		{"Session missing", func() error { _, err := s.Session(ctx, store.HashToken("x")); return err }, store.ErrNotFound},
		{"UserSessions", func() error { _, err := s.UserSessions(ctx, "alice"); return err }, nil},
		{"DeleteUserSessions", func() error { _, err := s.DeleteUserSessions(ctx, "alice"); return err }, nil},
		{"DeleteSession", func() error { return s.DeleteSession(ctx, alive.ID) }, nil},
		{"CreateUser", func() error {
			return s.CreateUser(ctx, store.User{ID: "id-bob", Name: "Bob", PasswordHash: "h", Created: now, Updated: now})
		}, nil},
		{"CreateUser taken", func() error {
			return s.CreateUser(ctx, store.User{ID: "id-bob-2", Name: "bob", PasswordHash: "h", Created: now, Updated: now})
		}, store.ErrExists},
		{"User", func() error { _, err := s.User(ctx, "BOB"); return err }, nil},
		{"SetPasswordHash", func() error { return s.SetPasswordHash(ctx, "bob", "h2", now) }, nil},
		{"ListUsers", func() error { _, err := s.ListUsers(ctx); return err }, nil},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, "bob") }, nil},
		{"DeleteUser missing", func() error { return s.DeleteUser(ctx, "bob") }, store.ErrNotFound},
		{"AddKey", func() error { return s.AddKey(ctx, "p", store.Key{ID: "k", Secret: []byte("s"), Created: now}) }, nil},
		{"Keys", func() error { _, err := s.Keys(ctx, "p"); return err }, nil},
		{"DeleteKey", func() error { return s.DeleteKey(ctx, "p", "k") }, nil},
		// Documented exceptions: one transaction under the purpose's
		// advisory lock (BEGIN, the lock, the change, COMMIT).
		{"AddFirstKey", func() error { return s.AddFirstKey(ctx, "q", key("k1")) }, nil},
		{"AddFirstKey taken", func() error { return s.AddFirstKey(ctx, "q", key("k2")) }, store.ErrExists},
		{"RotateKey", func() error { return s.RotateKey(ctx, "q", key("k2"), now.Add(time.Hour)) }, nil},
		{"RotateKey taken", func() error { return s.RotateKey(ctx, "q", key("k1"), now.Add(time.Hour)) }, store.ErrExists},
		{"ReplaceKeySecret", func() error { return s.ReplaceKeySecret(ctx, "q", "k1", []byte("s-k1"), []byte("new")) }, nil},
		{"ReplaceKeySecret conflict", func() error {
			return s.ReplaceKeySecret(ctx, "q", "k1", []byte("s-k1"), []byte("newer"))
		}, store.ErrConflict},
		{"ReplaceKeySecret missing", func() error { return s.ReplaceKeySecret(ctx, "q", "k9", nil, nil) }, store.ErrNotFound},
		{"StoreTime", func() error { _, err := s.StoreTime(ctx); return err }, nil},
		{"Deny", func() error { return s.Deny(ctx, "jti", now.Add(time.Hour)) }, nil},
		{"Denied", func() error { _, err := s.Denied(ctx, "jti"); return err }, nil},
		{"AddCount new", func() error { _, _, err := s.AddCount(ctx, "c", 2, time.Hour); return err }, nil},
		{"AddCount live", func() error { _, _, err := s.AddCount(ctx, "c", -1, time.Hour); return err }, nil},
		{"Count", func() error { _, _, err := s.Count(ctx, "c"); return err }, nil},
		{"Count missing", func() error { _, _, err := s.Count(ctx, "missing"); return err }, nil},
		{"DeleteCount", func() error { return s.DeleteCount(ctx, "c") }, nil},
		// The documented exception: a counter brought to zero or below is
		// then deleted.
		{"AddCount to zero", func() error { _, _, err := s.AddCount(ctx, "z", -1, time.Hour); return err }, nil},
	}
	trace.take()
	for _, c := range calls {
		err := c.call()
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		want := 1
		switch c.name {
		case "AddCount to zero":
			want = 2
		case "AddFirstKey", "AddFirstKey taken", "RotateKey", "RotateKey taken":
			want = 4
		}
		if sql := trace.take(); len(sql) != want {
			t.Errorf("%s ran %d statements, want %d: %q", c.name, len(sql), want, sql)
		}
	}
}

// TestConcurrentMigration starts several stores on one empty schema at
// once, as instances of a server deployed together do: every one must
// succeed, and the schema must be migrated once.
func TestConcurrentMigration(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	const instances = 6
	pools := make([]*pgxpool.Pool, instances)
	for i := range pools {
		pools[i] = newPool(t, url, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := make(chan struct{})
	stores := make([]*Store, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = New(ctx, pools[i], Options{Schema: schema})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: New: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}

	rows, err := pools[0].Query(ctx, `SELECT version FROM `+quoteIdent(schema)+`.sessionkit_schema ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(migrations) || versions[len(versions)-1] != len(migrations) {
		t.Errorf("versions recorded = %v, want 1 to %d once each", versions, len(migrations))
	}

	// Every instance sees the same tables.
	now := time.Now()
	r := store.Record{ID: store.HashToken("shared"), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	for i, s := range stores {
		v, err := s.SaveSession(ctx, r)
		if err != nil {
			t.Fatalf("instance %d: SaveSession: %v", i, err)
		}
		r.Version = v
	}
	if r.Version != instances {
		t.Errorf("after one save by each instance the version is %d, want %d", r.Version, instances)
	}
}

// TestNewerSchema checks that a store refuses a schema written by a newer
// version of sessionkit instead of using tables it does not understand.
func TestNewerSchema(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()
	pool := newPool(t, url, nil)
	s, err := New(ctx, pool, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := pool.Exec(ctx, `INSERT INTO `+quoteIdent(schema)+`.sessionkit_schema (version) VALUES ($1)`,
		len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s, err = New(ctx, pool, Options{Schema: schema})
	if err == nil {
		s.Close()
		t.Fatal("New accepted a schema of a newer version")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("New of a newer schema: err = %v, want it to say the schema is newer", err)
	}
}

// TestSchemaNames checks that the schema name is used exactly as given,
// quoted, and that names PostgreSQL cannot take are refused before any
// statement is sent.
func TestSchemaNames(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()
	trace := &statements{}
	pool := newPool(t, url, trace)
	for _, name := range []string{
		strings.Repeat("x", 64),
		"bad\x00name",
		"bad\xffname",
	} {
		if s, err := New(ctx, pool, Options{Schema: name}); err == nil {
			s.Close()
			t.Errorf("New with schema %q succeeded", name)
		}
		if _, err := SchemaSQL(name); err == nil {
			t.Errorf("SchemaSQL(%q) succeeded", name)
		}
	}
	if sql := trace.take(); len(sql) != 0 {
		t.Errorf("refusing bad schema names sent statements: %q", sql)
	}

	// A name that must be quoted: mixed case, a space, a quote, a
	// semicolon.
	weird := schema + `_Mixed "Case"; x`
	testenv.DropSchemaAtEnd(t, url, weird)
	s, err := New(ctx, pool, Options{Schema: weird})
	if err != nil {
		t.Fatalf("New with schema %q: %v", weird, err)
	}
	defer s.Close()
	var tables int
	if err := pool.QueryRow(ctx,
		`SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, weird).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 7 {
		t.Errorf("schema %q holds %d tables, want 7", weird, tables)
	}
	now := time.Now()
	if _, err := s.SaveSession(ctx, store.Record{ID: store.HashToken("w"), Created: now, LastSeen: now,
		Expires: now.Add(time.Hour)}); err != nil {
		t.Errorf("SaveSession in schema %q: %v", weird, err)
	}
}

// TestSchemaSQL applies the script a DBA would, then checks that New finds
// the schema current, runs no DDL, and works.
func TestSchemaSQL(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()
	script, err := SchemaSQL(schema)
	if err != nil {
		t.Fatal(err)
	}
	trace := &statements{}
	pool := newPool(t, url, trace)
	if _, err := pool.Exec(ctx, script); err != nil {
		t.Fatalf("applying SchemaSQL: %v", err)
	}
	trace.take()
	s, err := New(ctx, pool, Options{Schema: schema})
	if err != nil {
		t.Fatalf("New after SchemaSQL: %v", err)
	}
	defer s.Close()
	for _, sql := range trace.take() {
		switch verb := strings.ToUpper(strings.Fields(sql)[0]); verb {
		case "BEGIN", "SELECT", "COMMIT":
		default:
			t.Errorf("New on a current schema ran %q, want only reads", sql)
		}
	}
	now := time.Now()
	if err := s.CreateUser(ctx, store.User{ID: "id-alice", Name: "alice", PasswordHash: "h", Created: now, Updated: now}); err != nil {
		t.Errorf("CreateUser after SchemaSQL: %v", err)
	}
	// Applying it again fails and changes nothing.
	if _, err := pool.Exec(ctx, script); err == nil {
		t.Error("applying SchemaSQL twice succeeded")
	}
	if _, err := s.User(ctx, "alice"); err != nil {
		t.Errorf("User after applying SchemaSQL again: %v", err)
	}

	t.Run("role without CREATE", func(t *testing.T) { testRestrictedRole(t, url, schema, pool) })
}

// testRestrictedRole checks what the package documentation promises a DBA:
// on a schema applied by hand, a role granted only USAGE on the schema and
// SELECT, INSERT, UPDATE, DELETE on the tables can run the store, cleanup
// included.
func testRestrictedRole(t *testing.T, url, schema string, admin *pgxpool.Pool) {
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	role := "sktest_role_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, `CREATE ROLE `+quoteIdent(role)+` NOLOGIN`); err != nil {
		t.Skipf("cannot create a role to test with (the test database's user needs CREATEROLE): %v", err)
	}
	t.Cleanup(func() {
		// This runs before the schema is dropped: DROP OWNED BY revokes
		// the role's grants, which DROP ROLE needs gone.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("dropping role %s: %v", role, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `DROP OWNED BY `+quoteIdent(role)+`; DROP ROLE `+quoteIdent(role)); err != nil {
			t.Errorf("dropping role %s: %v", role, err)
		}
	})
	q := quoteIdent(schema)
	if _, err := admin.Exec(ctx, `GRANT USAGE ON SCHEMA `+q+` TO `+quoteIdent(role)+`;
		GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA `+q+` TO `+quoteIdent(role)); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `SET ROLE `+quoteIdent(role))
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// The role really is restricted: it cannot migrate a schema itself.
	other := schema + "_other"
	testenv.DropSchemaAtEnd(t, url, other)
	if s, err := New(ctx, pool, Options{Schema: other}); err == nil {
		s.Close()
		t.Fatal("the restricted role created a schema; the test proves nothing")
	} else if !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("New of a new schema as the restricted role: err = %v, want permission denied", err)
	}

	now := time.Now()
	s, err := New(ctx, pool, Options{Schema: schema, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("New as a role without CREATE on a current schema: %v", err)
	}
	defer s.Close()
	r := store.Record{ID: store.HashToken("restricted"), User: "bob", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	steps := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error {
			return s.CreateUser(ctx, store.User{ID: "id-bob", Name: "bob", PasswordHash: "h", Created: now, Updated: now})
		}},
		{"SetPasswordHash", func() error { return s.SetPasswordHash(ctx, "bob", "h2", now) }},
		{"AddKey", func() error { return s.AddKey(ctx, "p", store.Key{ID: "k", Secret: []byte("s"), Created: now}) }},
		{"AddFirstKey", func() error {
			return s.AddFirstKey(ctx, "first", store.Key{ID: "k", Secret: []byte("s"), Created: now})
		}},
		{"RotateKey", func() error {
			return s.RotateKey(ctx, "p", store.Key{ID: "k2", Secret: []byte("s"), Created: now}, now.Add(time.Hour))
		}},
		{"ReplaceKeySecret", func() error { return s.ReplaceKeySecret(ctx, "p", "k", []byte("s"), []byte("t")) }},
		{"Keys", func() error { _, err := s.Keys(ctx, "p"); return err }},
		{"StoreTime", func() error { _, err := s.StoreTime(ctx); return err }},
		{"Deny", func() error { return s.Deny(ctx, "j", now.Add(-time.Minute)) }},
		{"SaveSession", func() error { v, err := s.SaveSession(ctx, r); r.Version = v; return err }},
		{"SaveSession update", func() error { _, err := s.SaveSession(ctx, r); return err }},
		{"UserSessions", func() error { _, err := s.UserSessions(ctx, "bob"); return err }},
		{"AddCount", func() error { _, _, err := s.AddCount(ctx, "c", 1, time.Minute); return err }},
		{"AddCount to zero", func() error { _, _, err := s.AddCount(ctx, "c", -1, time.Minute); return err }},
		{"Count", func() error { _, _, err := s.Count(ctx, "c"); return err }},
		{"DeleteCount", func() error { return s.DeleteCount(ctx, "c") }},
		{"removeExpired", func() error { _, err := s.removeExpired(ctx, now); return err }},
		{"DeleteUserSessions", func() error { _, err := s.DeleteUserSessions(ctx, "bob"); return err }},
		{"DeleteKey", func() error { return s.DeleteKey(ctx, "p", "k") }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, "bob") }},
	}
	for _, step := range steps {
		if err := step.call(); err != nil {
			t.Errorf("%s as the restricted role: %v", step.name, err)
		}
	}
}

// TestPoolOwnership checks that a store made by Open closes its pool and
// one made by New leaves the caller's pool open.
func TestPoolOwnership(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()

	opened, err := Open(ctx, url, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := opened.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := opened.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := opened.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := opened.Pool().Ping(ctx); err == nil {
		t.Error("the pool Open made still answers after Close")
	}
	if err := opened.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}

	pool := newPool(t, url, nil)
	made, err := New(ctx, pool, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if made.Pool() != pool {
		t.Error("Pool does not return the pool given to New")
	}
	if err := made.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("Close closed the caller's pool: %v", err)
	}
	if _, err := New(ctx, nil, Options{}); err == nil {
		t.Error("New with a nil pool succeeded")
	}
}

// TestPoolConfig checks the connect timeout Open gives its pool, so that a
// database that is down fails fast.
func TestPoolConfig(t *testing.T) {
	for _, c := range []struct {
		url  string
		want time.Duration
	}{
		{"postgres://u@db.invalid/app", DefaultConnectTimeout},
		{"postgres://u@db.invalid/app?connect_timeout=2", 2 * time.Second},
		{"host=db.invalid user=u connect_timeout=30", 30 * time.Second},
	} {
		cfg, err := poolConfig(c.url)
		if err != nil {
			t.Errorf("poolConfig(%q): %v", c.url, err)
			continue
		}
		if got := cfg.ConnConfig.ConnectTimeout; got != c.want {
			t.Errorf("poolConfig(%q): connect timeout %v, want %v", c.url, got, c.want)
		}
	}
	for _, bad := range []string{"postgres://u@db.invalid/app?connect_timeout=soon", "mysql://x"} {
		if _, err := Open(context.Background(), bad, Options{}); err == nil || !strings.HasPrefix(err.Error(), "pgstore: ") {
			t.Errorf("Open(%q): err = %v, want a pgstore error", bad, err)
		}
	}
}

// TestUnreachable checks that Open fails, and says so, when nothing listens
// at the address.
func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable", Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of an address where nothing listens succeeded")
	}
	if !strings.HasPrefix(err.Error(), "pgstore: ") {
		t.Errorf("err = %v, want it wrapped as a pgstore error", err)
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Errorf("err = %v, must not be ErrNotFound", err)
	}
}

// TestUnstorable checks strings PostgreSQL text cannot hold: writes refuse
// them with an error that is not a sentinel, lookups answer as for a
// missing record, and nothing reaches the database.
func TestUnstorable(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()
	trace := &statements{}
	s, err := New(ctx, newPool(t, url, trace), Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trace.take()
	now := time.Now()
	for _, bad := range []string{"nul\x00byte", "bad\xffutf8"} {
		writes := []struct {
			name string
			call func() error
		}{
			{"CreateUser name", func() error {
				return s.CreateUser(ctx, store.User{ID: "id", Name: bad, PasswordHash: "h", Created: now, Updated: now})
			}},
			{"CreateUser hash", func() error {
				return s.CreateUser(ctx, store.User{ID: "id", Name: "ok", PasswordHash: bad, Created: now, Updated: now})
			}},
			{"SetPasswordHash", func() error { return s.SetPasswordHash(ctx, "ok", bad, now) }},
			{"AddKey purpose", func() error { return s.AddKey(ctx, bad, store.Key{ID: "k", Created: now}) }},
			{"AddKey id", func() error { return s.AddKey(ctx, "p", store.Key{ID: bad, Created: now}) }},
			{"AddFirstKey purpose", func() error { return s.AddFirstKey(ctx, bad, store.Key{ID: "k", Created: now}) }},
			{"AddFirstKey id", func() error { return s.AddFirstKey(ctx, "p", store.Key{ID: bad, Created: now}) }},
			{"RotateKey purpose", func() error { return s.RotateKey(ctx, bad, store.Key{ID: "k", Created: now}, now) }},
			{"RotateKey id", func() error { return s.RotateKey(ctx, "p", store.Key{ID: bad, Created: now}, now) }},
			{"Deny", func() error { return s.Deny(ctx, bad, now.Add(time.Hour)) }},
			{"SaveSession user", func() error {
				_, err := s.SaveSession(ctx, store.Record{ID: store.HashToken("u"), User: bad,
					Created: now, LastSeen: now, Expires: now.Add(time.Hour)})
				return err
			}},
			{"SaveSession user agent", func() error {
				_, err := s.SaveSession(ctx, store.Record{ID: store.HashToken("a"), UserAgent: bad,
					Created: now, LastSeen: now, Expires: now.Add(time.Hour)})
				return err
			}},
			{"SaveSession kind", func() error {
				_, err := s.SaveSession(ctx, store.Record{ID: store.HashToken("k"), Kind: store.Kind(bad),
					Created: now, LastSeen: now, Expires: now.Add(time.Hour)})
				return err
			}},
			{"CreateUser id", func() error {
				return s.CreateUser(ctx, store.User{ID: bad, Name: "ok", PasswordHash: "h", Created: now, Updated: now})
			}},
		}
		for _, w := range writes {
			err := w.call()
			if err == nil || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) ||
				!strings.Contains(err.Error(), "UTF-8") {
				t.Errorf("%s with %q: err = %v, want an error about UTF-8 and NUL", w.name, bad, err)
			}
		}

		if _, err := s.User(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(%q): err = %v, want ErrNotFound", bad, err)
		}
		if err := s.SetPasswordHash(ctx, bad, "h", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetPasswordHash(%q): err = %v, want ErrNotFound", bad, err)
		}
		if err := s.DeleteUser(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteUser(%q): err = %v, want ErrNotFound", bad, err)
		}
		if err := s.DeleteKey(ctx, bad, "k"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteKey(%q, k): err = %v, want ErrNotFound", bad, err)
		}
		if err := s.DeleteKey(ctx, "p", bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteKey(p, %q): err = %v, want ErrNotFound", bad, err)
		}
		if err := s.ReplaceKeySecret(ctx, bad, "k", nil, []byte("s")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReplaceKeySecret(%q, k): err = %v, want ErrNotFound", bad, err)
		}
		if err := s.ReplaceKeySecret(ctx, "p", bad, nil, []byte("s")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReplaceKeySecret(p, %q): err = %v, want ErrNotFound", bad, err)
		}
		if keys, err := s.Keys(ctx, bad); err != nil || keys == nil || len(keys) != 0 {
			t.Errorf("Keys(%q) = %v, %v; want an empty slice", bad, keys, err)
		}
		if denied, err := s.Denied(ctx, bad); err != nil || denied {
			t.Errorf("Denied(%q) = %v, %v; want false", bad, denied, err)
		}
		if list, err := s.UserSessions(ctx, bad); err != nil || list == nil || len(list) != 0 {
			t.Errorf("UserSessions(%q) = %v, %v; want an empty slice", bad, list, err)
		}
		if n, err := s.DeleteUserSessions(ctx, bad); err != nil || n != 0 {
			t.Errorf("DeleteUserSessions(%q) = %d, %v; want 0", bad, n, err)
		}

		// A canceled context still fails, even where no query is needed.
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.User(canceled, bad); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(%q) with a canceled context: err = %v, want a context error", bad, err)
		}
		if _, err := s.Denied(canceled, bad); err == nil {
			t.Errorf("Denied(%q) with a canceled context succeeded", bad)
		}
		if err := s.ReplaceKeySecret(canceled, bad, "k", nil, nil); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReplaceKeySecret(%q) with a canceled context: err = %v, want a context error", bad, err)
		}
	}
	if sql := trace.take(); len(sql) != 0 {
		t.Errorf("calls with unstorable strings sent statements: %q", sql)
	}
	if users, err := s.ListUsers(ctx); err != nil || len(users) != 0 {
		t.Errorf("after refused writes, ListUsers = %v, %v; want none", users, err)
	}
}
