package pgstore

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

// benchRecord is a typical record: a logged-in user, a few hundred bytes of
// values.
func benchRecord(token string) store.Record {
	now := time.Now()
	return store.Record{ID: store.HashToken(token), User: "alice", Data: make([]byte, 300),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "Mozilla/5.0 (bench)"}
}

// BenchmarkSession reads one live record: what every request with a
// session cookie costs.
func BenchmarkSession(b *testing.B) {
	s := openFresh(b, Options{})
	ctx := context.Background()
	r := benchRecord("bench-read")
	if _, err := s.SaveSession(ctx, r); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Session(ctx, r.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Session(ctx, r.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkSaveSession saves one record again and again by
// compare-and-swap: what a request that changes its session costs on top of
// the read.
func BenchmarkSaveSession(b *testing.B) {
	s := openFresh(b, Options{})
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		r := benchRecord("bench-save")
		v, err := s.SaveSession(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			r.Version = v
			if v, err = s.SaveSession(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		// Each goroutine its own session, as different browsers.
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			r := benchRecord(fmt.Sprintf("bench-save-%d-%d", b.N, n.Add(1)))
			v, err := s.SaveSession(ctx, r)
			if err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				r.Version = v
				if v, err = s.SaveSession(ctx, r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkSaveSessions measures what every request of a logged-in user
// costs the store: load the user's session, then save it back with the
// version it read. There are 200 users, whose requests come from 2 to 200
// goroutines at once; one op is one request. It is sqlitestore's
// benchmark of the same name, on PostgreSQL.
func BenchmarkSaveSessions(b *testing.B) {
	const users = 200
	procs := runtime.GOMAXPROCS(0)
	for _, goroutines := range []int{procs, 16, users} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			benchmarkSaveSessions(b, users, max(1, goroutines/procs))
		})
	}
}

// benchmarkSaveSessions runs BenchmarkSaveSessions with users records and
// parallelism times GOMAXPROCS goroutines.
func benchmarkSaveSessions(b *testing.B, users, parallelism int) {
	goroutines := parallelism * runtime.GOMAXPROCS(0)
	if goroutines > users {
		b.Skipf("%d goroutines for %d users: some would share one", goroutines, users)
	}
	// A request's context can be canceled; the store must watch it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openFresh(b, Options{})
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
