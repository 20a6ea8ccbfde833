package pgstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
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
// costs the store: 200 users' sessions loaded and saved back by 2 to 200
// goroutines at once (storetest.BenchSaveSessions).
func BenchmarkSaveSessions(b *testing.B) {
	storetest.BenchSaveSessions(b, func(b *testing.B) store.Sessions { return openFresh(b, Options{}) })
}
