package memstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// held returns how many deny-list entries, session records and per-user
// index entries s holds in memory, expired or not.
func held(s *Store) (deny, sessions, indexed int) {
	s.mu.RLock()
	deny = len(s.deny)
	s.mu.RUnlock()
	s.smu.RLock()
	defer s.smu.RUnlock()
	for _, ids := range s.byUser {
		indexed += len(ids)
	}
	return deny, len(s.sessions), indexed
}

// TestCleanup checks that the background cleanup forgets expired entries,
// sessions and their index entries, keeps live ones, and that Close stops
// it.
func TestCleanup(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{CleanupInterval: time.Millisecond, Now: clock})
	ctx := context.Background()
	if err := s.Deny(ctx, "a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Record{
		{ID: store.HashToken("short"), User: "Alice", Created: now, LastSeen: now, Expires: now.Add(time.Minute)},
		{ID: store.HashToken("anon"), Created: now, LastSeen: now, Expires: now.Add(time.Minute)},
		{ID: store.HashToken("long"), User: "bob", Created: now, LastSeen: now, Expires: now.Add(time.Hour)},
	} {
		if _, err := s.SaveSession(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		deny, sessions, indexed := held(s)
		if deny == 0 && sessions == 1 && indexed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s of 1ms cleanups: %d deny-list entries, %d sessions, %d index entries held; want 0, 1, 1",
				deny, sessions, indexed)
		}
		time.Sleep(time.Millisecond)
	}
	if list, err := s.UserSessions(ctx, "BOB"); err != nil || len(list) != 1 {
		t.Errorf("UserSessions(bob) after cleanup = %d records, %v; want the live one", len(list), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
