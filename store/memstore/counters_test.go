package memstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestCountersCleanup checks that the background cleanup forgets expired
// counters and keeps live ones.
func TestCountersCleanup(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{CleanupInterval: time.Millisecond, Now: clock})
	defer s.Close()
	ctx := context.Background()
	for key, window := range map[string]time.Duration{"short": time.Minute, "other": time.Minute, "long": time.Hour} {
		if _, _, err := s.AddCount(ctx, key, 2, window); err != nil {
			t.Fatal(err)
		}
	}
	held := func() (keys []string) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		for key := range s.counters {
			keys = append(keys, key)
		}
		return keys
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		keys := held()
		if len(keys) == 1 && keys[0] == "long" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s of 1ms cleanups: counters %q held, want only the live one, long", keys)
		}
		time.Sleep(time.Millisecond)
	}
	if n, _, err := s.Count(ctx, "long"); err != nil || n != 2 {
		t.Errorf("Count(long) after cleanup = %d, %v; want 2", n, err)
	}
}
