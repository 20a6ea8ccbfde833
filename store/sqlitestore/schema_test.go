package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
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
