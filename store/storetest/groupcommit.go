package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// GroupCommit lets the tests of a store whose saves share transactions
// (sqlitestore, pgstore) watch its line of saves.
type GroupCommit struct {
	// Hold makes the store's saves wait, as behind a slow write (it holds
	// the writer's connection, say), until release is called.
	Hold func(t *testing.T) (release func())

	// Queued returns how many saves wait in the store's line.
	Queued func() int

	// Counts returns how many transactions of saves have committed, and
	// how many saves they held.
	Counts func() (batches, saves int)
}

// WaitQueued waits until n saves wait in the line gc watches; more than n
// fails the test.
func (gc GroupCommit) WaitQueued(t *testing.T, n int) {
	t.Helper()
	for {
		queued := gc.Queued()
		if queued == n {
			return
		}
		if queued > n {
			t.Fatalf("%d saves wait, want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// BatchesUnderLoad has 32 goroutines save records of their own 20 times
// each, as the requests of many users do, and checks that every save is
// made and counted once, and that transactions held more than one save.
// The first saves all wait for a held store; the rest come as they may.
func BatchesUnderLoad(t *testing.T, s store.Sessions, gc GroupCommit) {
	const goroutines, each = 32, 20
	ctx := context.Background()
	batches, batched := gc.Counts()
	now := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, goroutines)
	release := gc.Hold(t)
	for g := range goroutines {
		wg.Go(func() {
			r := store.Record{ID: store.HashToken(fmt.Sprint("user-", g)), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
			for range each {
				v, err := s.SaveSession(ctx, r)
				if err != nil {
					errs[g] = fmt.Errorf("save of version %d: %w", r.Version, err)
					return
				}
				r.Version = v
			}
		})
	}
	gc.WaitQueued(t, goroutines)
	release()
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
	b, n := gc.Counts()
	b, n = b-batches, n-batched
	if n != goroutines*each {
		t.Errorf("transactions committed %d saves, want %d", n, goroutines*each)
	}
	if b >= n {
		t.Errorf("%d saves took %d transactions: none was shared", n, b)
	}
	t.Logf("%d saves in %d transactions", n, b)
}
