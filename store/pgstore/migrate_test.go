package pgstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestMigrateFromVersion1 builds a schema as version 1 left it, with
// accounts and a session in it, and checks that New brings it up to date:
// every account gets an id of its own, which it keeps, and the session
// reads back as it was, with no kind, account id or auth time.
func TestMigrateFromVersion1(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()
	pool := newPool(t, url, nil)
	q := quoteIdent(schema)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE SCHEMA ` + q)
	exec(inSchema(schemaTable, q))
	exec(inSchema(migrations[0], q))
	exec(`INSERT INTO ` + q + `.sessionkit_schema (version) VALUES (1)`)

	created := time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC)
	for _, name := range []string{"Alice", "bob", "Carol"} {
		exec(`INSERT INTO `+q+`.sessionkit_users (name_key, name, password_hash, created, updated)
			VALUES ($1, $2, $3, $4, $4)`, store.FoldName(name), name, "hash-"+name, created.UnixNano())
	}
	id := store.HashToken("old session")
	expires := time.Now().Add(time.Hour)
	exec(`INSERT INTO `+q+`.sessionkit_sessions
		(id, user_key, user_name, data, version, created, last_seen, expires, user_agent)
		VALUES ($1, 'alice', 'Alice', '\x0102', 3, $2, $2, $3, 'old agent')`,
		id[:], created.UnixNano(), expires.UnixNano())

	s, err := New(ctx, pool, Options{Schema: schema})
	if err != nil {
		t.Fatalf("New on a version 1 schema: %v", err)
	}
	defer s.Close()
	var version int
	if err := pool.QueryRow(ctx, `SELECT max(version) FROM `+q+`.sessionkit_schema`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("schema version %d after New, want %d", version, len(migrations))
	}

	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users) != 3 {
		t.Fatalf("ListUsers = %+v, want the 3 accounts", users)
	}
	ids := map[string]bool{}
	for _, u := range users {
		if u.ID == "" {
			t.Errorf("account %q has no id after the migration", u.Name)
		}
		ids[u.ID] = true
		if u.PasswordHash != "hash-"+u.Name || !u.Created.Equal(created) || !u.Updated.Equal(created) {
			t.Errorf("account after the migration = %+v", u)
		}
	}
	if len(ids) != 3 {
		t.Errorf("the accounts share ids: %+v", users)
	}
	alice, err := s.User(ctx, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if alice.ID != users[0].ID {
		t.Errorf("User gives Alice the id %q, ListUsers %q", alice.ID, users[0].ID)
	}
	if err := s.SetPasswordHash(ctx, "alice", "new", created.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again, err := s.User(ctx, "alice"); err != nil || again.ID != alice.ID {
		t.Errorf("after SetPasswordHash: %+v, %v; want the id %q kept", again, err, alice.ID)
	}

	r, err := s.Session(ctx, id)
	if err != nil {
		t.Fatalf("the session after the migration: %v", err)
	}
	if r.Kind != "" || r.AccountID != "" || !r.AuthTime.IsZero() {
		t.Errorf("session after the migration: kind %q, account id %q, auth time %v; want none",
			r.Kind, r.AccountID, r.AuthTime)
	}
	if r.User != "Alice" || string(r.Data) != "\x01\x02" || r.Version != 3 || r.UserAgent != "old agent" ||
		!r.Created.Equal(created) || !r.LastSeen.Equal(created) || r.Expires.UnixNano() != expires.UnixNano() {
		t.Errorf("session after the migration = %+v", r)
	}
	// It saves with the new fields, and the owner still lists it.
	r.Kind, r.AccountID, r.AuthTime = store.KindSession, alice.ID, created
	if r.Version, err = s.SaveSession(ctx, r); err != nil {
		t.Fatal(err)
	}
	list, err := s.UserSessions(ctx, "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("UserSessions after the migration = %+v, %v", list, err)
	}
	if got := list[0]; got.Kind != store.KindSession || got.AccountID != alice.ID || !got.AuthTime.Equal(created) {
		t.Errorf("session saved after the migration reads back as %+v", got)
	}

	// An account an older sessionkit creates, without an id, gets one.
	exec(`INSERT INTO ` + q + `.sessionkit_users (name_key, name, password_hash, created, updated)
		VALUES ('dave', 'dave', 'h', 0, 0)`)
	if dave, err := s.User(ctx, "dave"); err != nil || dave.ID == "" || ids[dave.ID] {
		t.Errorf("account created without an id = %+v, %v; want a new id", dave, err)
	}
}

// TestAccountIDs checks what CreateUser does with account ids: it keeps
// them, refuses an empty one, and refuses one another account has without
// taking it for a taken name.
func TestAccountIDs(t *testing.T) {
	s := openFresh(t, Options{})
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateUser(ctx, store.User{ID: "id-1", Name: "alice", PasswordHash: "h", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, name string }{{"", "bob"}, {"id-1", "bob"}} {
		err := s.CreateUser(ctx, store.User{ID: c.id, Name: c.name, PasswordHash: "h", Created: now, Updated: now})
		if err == nil || errors.Is(err, store.ErrExists) || !strings.HasPrefix(err.Error(), "pgstore: ") {
			t.Errorf("CreateUser with the id %q: err = %v, want a pgstore error other than ErrExists", c.id, err)
		}
	}
	if _, err := s.User(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused account was created: err = %v", err)
	}
	// A taken name is ErrExists, whatever the id.
	for _, id := range []string{"id-1", "id-2"} {
		if err := s.CreateUser(ctx, store.User{ID: id, Name: "ALICE", PasswordHash: "h", Created: now, Updated: now}); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateUser of a taken name with the id %q: err = %v, want ErrExists", id, err)
		}
	}
}

// TestMigrateKeyTimes builds a schema as version 3 left it, before keys
// had SignsFrom and Retires, with keys in it, and checks that New brings
// it up to date: the keys read back as they were, in their order, with
// neither time, and the key lifecycle works on them.
func TestMigrateKeyTimes(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	ctx := context.Background()
	pool := newPool(t, url, nil)
	q := quoteIdent(schema)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	const before = 3 // the schema version before key times
	exec(`CREATE SCHEMA ` + q)
	exec(inSchema(schemaTable, q))
	for v := range before {
		exec(inSchema(migrations[v], q))
		exec(`INSERT INTO `+q+`.sessionkit_schema (version) VALUES ($1)`, v+1)
	}
	created := time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC)
	// Added as that version did; k2 first, though it is the newer.
	for _, k := range []struct {
		id     string
		offset time.Duration
	}{{"k2", time.Hour}, {"k1", 0}} {
		exec(`INSERT INTO `+q+`.sessionkit_keys (purpose, id, secret, created) VALUES ('cookie', $1, $2, $3)`,
			k.id, []byte("secret of "+k.id), created.Add(k.offset).UnixNano())
	}

	s, err := New(ctx, pool, Options{Schema: schema})
	if err != nil {
		t.Fatalf("New on a version %d schema: %v", before, err)
	}
	defer s.Close()
	var version int
	if err := pool.QueryRow(ctx, `SELECT max(version) FROM `+q+`.sessionkit_schema`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("schema version %d after New, want %d", version, len(migrations))
	}
	storetest.EarlierKeys(t, s, "cookie", []store.Key{
		{ID: "k2", Secret: []byte("secret of k2"), Created: created.Add(time.Hour)},
		{ID: "k1", Secret: []byte("secret of k1"), Created: created},
	}, nil)

	// A key an older sessionkit still running beside this one adds, with
	// no times, reads back with neither.
	exec(`INSERT INTO ` + q + `.sessionkit_keys (purpose, id, secret, created) VALUES ('other', 'k4', '\x04', 0)`)
	got, err := s.Keys(ctx, "other")
	if want := (store.Key{ID: "k4", Secret: []byte{4}, Created: time.Unix(0, 0)}); err != nil || len(got) != 1 ||
		got[0].ID != want.ID || string(got[0].Secret) != string(want.Secret) || !got[0].Created.Equal(want.Created) ||
		!got[0].SignsFrom.IsZero() || !got[0].Retires.IsZero() {
		t.Errorf("a key an older version added: %+v, %v; want %+v", got, err, want)
	}
}
