package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testUsersConcurrent races many goroutines to create the same account: exactly
// one must win, and every loser must see ErrExists.
func testUsersConcurrent(t *testing.T, s store.Users) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			now := time.Now()
			errs[i] = s.CreateUser(ctx, store.User{
				Name: "racer", PasswordHash: fmt.Sprintf("h%d", i), Created: now, Updated: now,
			})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrExists):
		default:
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d goroutines created the same account, want exactly 1", won)
	}
}
