package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestUpgrade opens a database written by a version of sessionkit from
// before sessions: Open must bring it up to date and keep what it held.
func TestUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigration(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx,
		`INSERT INTO users (name, password_hash, created, updated) VALUES ('alice', 'h', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	defer s.Close()
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("schema version after Open = %d, want %d", version, len(migrations))
	}
	if _, err := s.User(ctx, "alice"); err != nil {
		t.Errorf("account lost in the upgrade: %v", err)
	}
	now := time.Now()
	r := store.Record{ID: store.HashToken("t"), User: "alice", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if _, err := s.SaveSession(ctx, r); err != nil {
		t.Fatalf("SaveSession after the upgrade: %v", err)
	}
	if _, err := s.Session(ctx, r.ID); err != nil {
		t.Errorf("Session after the upgrade: %v", err)
	}
}

// TestUpgradeAccountIDs opens a database written before account ids, login
// kinds and counters (schema version 2): each account gets an id of its
// own, which stays, and a session reads back as it was, with no kind, no
// account id and the zero auth time.
func TestUpgradeAccountIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	const before = 2 // the schema version before account ids
	for v := range before {
		if err := applyMigration(ctx, db, v); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	id := store.HashToken("old session")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (name, password_hash, created, updated) VALUES ('Alice', 'ha', 1, 2), ('bob', 'hb', 3, 4)`, nil},
		{`INSERT INTO sessions (id, user, data, version, created, last_seen, expires, user_agent)
			VALUES (?, 'Alice', X'00ff', 3, ?, ?, ?, 'curl')`,
			[]any{id[:], now.UnixNano(), now.UnixNano(), now.Add(time.Hour).UnixNano()}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open of a version %d database: %v", before, err)
	}
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("schema version after Open = %d, want %d", version, len(migrations))
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 {
		t.Fatalf("ListUsers after the upgrade = %+v, want alice and bob", users)
	}
	ids := map[string]string{}
	for _, u := range users {
		if len(u.ID) != 32 || strings.Trim(u.ID, "0123456789abcdef") != "" {
			t.Errorf("%s's id after the upgrade = %q, want 32 random hex digits", u.Name, u.ID)
		}
		ids[u.Name] = u.ID
	}
	if ids["Alice"] == ids["bob"] {
		t.Errorf("alice and bob got the same id, %q", ids["Alice"])
	}
	if u, err := s.User(ctx, "alice"); err != nil || u.ID != ids["Alice"] || u.PasswordHash != "ha" ||
		u.Created.UnixNano() != 1 || u.Updated.UnixNano() != 2 {
		t.Errorf("User(alice) after the upgrade = %+v, %v; want id %q, hash ha, times 1 and 2", u, err, ids["Alice"])
	}

	want := store.Record{ID: id, User: "Alice", Data: []byte{0, 0xff}, Version: 3,
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "curl"}
	check := func(when string) {
		t.Helper()
		r, err := s.Session(ctx, id)
		if err != nil {
			t.Fatalf("Session %s: %v", when, err)
		}
		list, err := s.UserSessions(ctx, "alice")
		if err != nil || len(list) != 1 {
			t.Fatalf("UserSessions(alice) %s = %d records, %v; want 1", when, len(list), err)
		}
		for _, got := range []store.Record{r, list[0]} {
			if got.Kind != want.Kind || got.AccountID != want.AccountID || got.AuthTime.IsZero() != want.AuthTime.IsZero() ||
				(!want.AuthTime.IsZero() && !got.AuthTime.Equal(want.AuthTime)) ||
				got.User != want.User || string(got.Data) != string(want.Data) || got.Version != want.Version ||
				!got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) || got.UserAgent != want.UserAgent {
				t.Errorf("session %s = %+v, want %+v", when, got, want)
			}
		}
	}
	check("after the upgrade")

	// The old session takes a kind and an account at its next save.
	want.Kind, want.AccountID, want.AuthTime = store.KindSession, ids["Alice"], now.Add(time.Second)
	v, err := s.SaveSession(ctx, want)
	if err != nil {
		t.Fatalf("SaveSession of the old session: %v", err)
	}
	want.Version = v
	check("after a save with a kind")

	if n, _, err := s.AddCount(ctx, "throttle", 1, time.Minute); err != nil || n != 1 {
		t.Errorf("AddCount after the upgrade = %d, %v; want 1", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The ids were given once: opening again keeps them.
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, id := range ids {
		if u, err := s.User(ctx, name); err != nil || u.ID != id {
			t.Errorf("User(%s) after opening again = id %q, %v; want %q", name, u.ID, err, id)
		}
	}
	check("after opening again")
}

// TestCreateUserTakenID checks that an account id is unique, and that
// creating an account with a taken id is not reported as a taken name.
func TestCreateUserTakenID(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "ids.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CreateUser(ctx, store.User{ID: "same", Name: "alice", PasswordHash: "h", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	err = s.CreateUser(ctx, store.User{ID: "same", Name: "bob", PasswordHash: "h", Created: now, Updated: now})
	if err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser with a taken id: err = %v, want an error other than ErrExists", err)
	}
	if _, err := s.User(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("User(bob) after CreateUser with a taken id: err = %v, want ErrNotFound", err)
	}
	err = s.CreateUser(ctx, store.User{ID: "other", Name: "ALICE", PasswordHash: "h", Created: now, Updated: now})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser with a taken name: err = %v, want ErrExists", err)
	}
}

// TestUpgradePasskeys opens a database written before passkeys (schema
// version 3): Open adds the table, the accounts stay, and deleting one
// deletes its passkeys.
func TestUpgradePasskeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	const before = 3 // the schema version before passkeys
	for v := range before {
		if err := applyMigration(ctx, db, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx,
		`INSERT INTO users (id, name, password_hash, created, updated) VALUES ('acct-alice', 'Alice', 'h', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open of a version %d database: %v", before, err)
	}
	defer s.Close()
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("schema version after Open = %d, want %d", version, len(migrations))
	}
	if u, err := s.User(ctx, "alice"); err != nil || u.ID != "acct-alice" {
		t.Fatalf("User(alice) after the upgrade = %+v, %v; want id acct-alice", u, err)
	}
	now := time.Now()
	p := store.Passkey{ID: []byte{0, 1, 0xff}, AccountID: "acct-alice", User: "Alice", Name: "laptop",
		PublicKey: []byte{0xa5}, AAGUID: make([]byte, 16), Transports: []string{"internal"}, SignCount: 1, Created: now}
	if err := s.AddPasskey(ctx, p); err != nil {
		t.Fatalf("AddPasskey after the upgrade: %v", err)
	}
	if got, err := s.Passkey(ctx, p.ID); err != nil || got.Name != p.Name || !got.Created.Equal(now) || !got.LastUsed.IsZero() {
		t.Errorf("Passkey after the upgrade = %+v, %v; want %+v", got, err, p)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatalf("DeleteUser after the upgrade: %v", err)
	}
	if _, err := s.Passkey(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Passkey after DeleteUser of its account: err = %v, want ErrNotFound", err)
	}
}

// TestUpgradeKeyTimes opens a database written before keys had SignsFrom
// and Retires (schema version 4): its keys read back as they were, in
// their order, with neither time, and the key lifecycle works on them.
func TestUpgradeKeyTimes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v4.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	const before = 4 // the schema version before key times
	for v := range before {
		if err := applyMigration(ctx, db, v); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC)
	// Added as that version did: seq orders them, not created.
	for i, k := range []struct {
		id     string
		offset time.Duration
	}{{"k2", time.Hour}, {"k1", 0}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO keys (purpose, id, secret, created, seq) VALUES ('cookie', ?, ?, ?, ?)`,
			k.id, []byte("secret of "+k.id), created.Add(k.offset).UnixNano(), i+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open of a version %d database: %v", before, err)
	}
	defer s.Close()
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("schema version after Open = %d, want %d", version, len(migrations))
	}
	storetest.EarlierKeys(t, s, "cookie", []store.Key{
		{ID: "k2", Secret: []byte("secret of k2"), Created: created.Add(time.Hour)},
		{ID: "k1", Secret: []byte("secret of k1"), Created: created},
	}, nil)
}
