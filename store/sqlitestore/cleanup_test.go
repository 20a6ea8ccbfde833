package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// TestRemoveExpired checks that cleanup deletes every expired row of every
// table that expires, in more than one batch, and keeps the rest.
func TestRemoveExpired(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	session := func(token string, expires time.Time) error {
		_, err := s.SaveSession(ctx, store.Record{ID: store.HashToken(token), User: "alice",
			Created: now, LastSeen: now, Expires: expires})
		return err
	}
	tables := []struct {
		table   string
		expired int
		add     func(name string, until time.Time) error
	}{
		{"deny_list", cleanupBatch*2 + 7, func(id string, until time.Time) error { return s.Deny(ctx, id, until) }},
		{"counters", cleanupBatch + 1, func(key string, until time.Time) error {
			_, _, err := s.AddCount(ctx, key, 1, time.Until(until))
			return err
		}},
		{"sessions", cleanupBatch + 3, session},
	}
	if len(tables) != len(expiring) {
		t.Fatalf("the test covers %d tables, cleanup %d", len(tables), len(expiring))
	}
	want := 0
	for _, tb := range tables {
		for i := range tb.expired {
			if err := tb.add(fmt.Sprintf("old-%d", i), now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.add("live", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		want += tb.expired
	}
	n, err := s.removeExpired(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(want) {
		t.Errorf("removeExpired deleted %d rows, want %d", n, want)
	}
	for _, tb := range tables {
		var left int
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tb.table).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 1 {
			t.Errorf("%s: %d rows left, want the 1 live one", tb.table, left)
		}
	}
	if _, err := s.Session(ctx, store.HashToken("live")); err != nil {
		t.Errorf("the live session after cleanup: %v", err)
	}
	if n, _, err := s.Count(ctx, "live"); err != nil || n != 1 {
		t.Errorf("the live counter after cleanup = %d, %v; want 1", n, err)
	}
}
