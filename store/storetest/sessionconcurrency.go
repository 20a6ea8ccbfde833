package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testSessionsConcurrent checks compare-and-swap under contention: no save
// is lost and no two saves naming the same version both succeed.
func testSessionsConcurrent(t *testing.T, open func(t *testing.T) store.Sessions) {
	t.Run("Increments", func(t *testing.T) { testSessionIncrements(t, open(t)) })
	t.Run("SameVersion", func(t *testing.T) { testSessionSameVersion(t, open(t)) })
}

// testSessionIncrements has many goroutines add one to a counter kept in a
// record, each by read, save, and retry on conflict: the way the session
// package updates a session. If two saves of one version both succeeded, an
// increment would be lost.
func testSessionIncrements(t *testing.T, s store.Sessions) {
	const workers, each = 32, 8
	ctx := context.Background()
	now := time.Now()
	id := store.HashToken("counter")
	mustSave(t, s, store.Record{ID: id, Data: []byte("0"), Created: now, LastSeen: now, Expires: now.Add(time.Hour)})

	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() { errs[i] = increment(ctx, s, id, each, workers*each) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	r := mustSession(t, s, id)
	if want := strconv.Itoa(workers * each); string(r.Data) != want {
		t.Errorf("counter = %q after %d increments, want %s", r.Data, workers*each, want)
	}
	if want := uint64(workers*each + 1); r.Version != want {
		t.Errorf("version = %d after creation and %d saves, want %d", r.Version, workers*each, want)
	}
}

// increment adds one to the counter in record id n times, retrying each on
// conflict. Versions only grow, so each conflict means another save
// succeeded: it gives up after more conflicts than there are saves in all.
func increment(ctx context.Context, s store.Sessions, id store.SessionID, n, saves int) error {
	conflicts := 0
	for done := 0; done < n; {
		r, err := s.Session(ctx, id)
		if err != nil {
			return err
		}
		count, err := strconv.Atoi(string(r.Data))
		if err != nil {
			return fmt.Errorf("counter is %q, not a number", r.Data)
		}
		read := r.Version
		r.Data = []byte(strconv.Itoa(count + 1))
		r.LastSeen = time.Now()
		v, err := s.SaveSession(ctx, r)
		switch {
		case errors.Is(err, store.ErrConflict):
			if conflicts++; conflicts > saves {
				return fmt.Errorf("%d conflicts, more than the %d saves of the whole test", conflicts, saves)
			}
			continue
		case err != nil:
			return err
		case v != read+1:
			return fmt.Errorf("SaveSession of version %d returned version %d", read, v)
		}
		done++
	}
	return nil
}

// testSessionSameVersion races many saves naming the same version, for a
// new record and for an existing one: exactly one must win, the others must
// see ErrConflict, and the record must hold what the winner saved.
func testSessionSameVersion(t *testing.T, s store.Sessions) {
	const racers = 32
	ctx := context.Background()
	now := time.Now()
	id := store.HashToken("raced")
	for _, version := range []uint64{0, 1} { // create, then save
		var wg sync.WaitGroup
		versions := make([]uint64, racers)
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				versions[i], errs[i] = s.SaveSession(ctx, store.Record{
					ID: id, Version: version, Data: []byte(fmt.Sprintf("racer %d", i)),
					Created: now, LastSeen: now, Expires: now.Add(time.Hour),
				})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("saving version %d: racers %d and %d both succeeded", version, winner, i)
			case err == nil:
				winner = i
				if versions[i] != version+1 {
					t.Errorf("saving version %d: the winner got version %d, want %d", version, versions[i], version+1)
				}
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("saving version %d: racer %d: err = %v, want nil or ErrConflict", version, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("saving version %d: no racer succeeded", version)
		}
		r := mustSession(t, s, id)
		if want := fmt.Sprintf("racer %d", winner); string(r.Data) != want || r.Version != version+1 {
			t.Errorf("saving version %d: stored record is %q at version %d, want %q at version %d",
				version, r.Data, r.Version, want, version+1)
		}
	}
}
