package memstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

func denyLen(s *Store) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.deny)
}

// TestCleanup checks that the background cleanup forgets expired entries
// and that Close stops it.
func TestCleanup(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{CleanupInterval: time.Millisecond, Now: clock})
	ctx := context.Background()
	if err := s.Deny(ctx, "a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for denyLen(s) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("expired entry still held after 10s of 1ms cleanups")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
