package storetest

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// BenchSaveSessions measures what every request of a logged-in user costs
// a store: load the user's session, then save it back with the version it
// read. There are 200 users, whose requests come from GOMAXPROCS, 16 and
// 200 goroutines at once (one sub-benchmark each); one op is one request.
// open returns a fresh, empty store for each sub-benchmark; the caller
// closes it (b.Cleanup).
func BenchSaveSessions(b *testing.B, open func(b *testing.B) store.Sessions) {
	const users = 200
	procs := runtime.GOMAXPROCS(0)
	for _, goroutines := range []int{procs, 16, users} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			benchSaveSessions(b, open(b), users, max(1, goroutines/procs))
		})
	}
}

// benchSaveSessions runs BenchSaveSessions on s with users records and
// parallelism times GOMAXPROCS goroutines.
func benchSaveSessions(b *testing.B, s store.Sessions, users, parallelism int) {
	goroutines := parallelism * runtime.GOMAXPROCS(0)
	if goroutines > users {
		b.Skipf("%d goroutines for %d users: some would share one", goroutines, users)
	}
	// A request's context can be canceled; the store must watch it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Now()
	ids := make([]store.SessionID, users)
	for i := range ids {
		ids[i] = store.HashToken("token-" + strconv.Itoa(i))
		_, err := s.SaveSession(ctx, store.Record{ID: ids[i], Kind: store.KindSession,
			User: "user-" + strconv.Itoa(i), AccountID: "account-" + strconv.Itoa(i), AuthTime: now,
			Data: []byte("csrf=0123456789abcdef&views=0"), Created: now, LastSeen: now,
			Expires: now.Add(time.Hour), UserAgent: "Mozilla/5.0 (bench)"})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Each goroutine serves users of its own, in turn, as a user's
	// browser sends one request at a time: no save conflicts.
	var started atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []store.SessionID
		for i := int(started.Add(1) - 1); i < len(ids); i += goroutines {
			mine = append(mine, ids[i])
		}
		for i := 0; pb.Next(); i++ {
			r, err := s.Session(ctx, mine[i%len(mine)])
			if err != nil {
				b.Error(err)
				return
			}
			r.LastSeen = time.Now()
			r.Expires = r.LastSeen.Add(time.Hour)
			if _, err := s.SaveSession(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
