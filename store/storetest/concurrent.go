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
// one must win, every loser must see ErrExists, and the account must be the
// winner's, ID and all.
func testUsersConcurrent(t *testing.T, s store.Users) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			now := time.Now()
			errs[i] = s.CreateUser(ctx, store.User{
				ID: fmt.Sprintf("id-%d", i), Name: "racer", PasswordHash: fmt.Sprintf("h%d", i), Created: now, Updated: now,
			})
		})
	}
	wg.Wait()
	won, winner := 0, -1
	for i, err := range errs {
		switch {
		case err == nil:
			won, winner = won+1, i
		case errors.Is(err, store.ErrExists):
		default:
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d goroutines created the same account, want exactly 1", won)
	}
	u, err := s.User(ctx, "racer")
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if want := fmt.Sprintf("id-%d", winner); u.ID != want || u.PasswordHash != fmt.Sprintf("h%d", winner) {
		t.Errorf("the account is ID %q with hash %q, want the winner's: ID %q with hash h%d", u.ID, u.PasswordHash, want, winner)
	}
}
