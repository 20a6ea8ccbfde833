package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// TestWaitAfterConflict: the pause returns, and a context that ends first
// ends it with the context's error.
func TestWaitAfterConflict(t *testing.T) {
	for attempt := range 20 {
		if err := store.WaitAfterConflict(context.Background(), attempt); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := store.WaitAfterConflict(ctx, 30); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := store.WaitAfterConflict(ctx, 30); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past deadline: %v, want context.DeadlineExceeded", err)
	}
}
