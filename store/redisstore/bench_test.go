package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// benchRecord saves and returns a typical record: an owner, a few hundred
// bytes of data.
func benchRecord(b *testing.B, s *Store) store.Record {
	now := time.Now()
	r := store.Record{ID: store.HashToken("bench"), User: "alice", Data: bytes.Repeat([]byte("x"), 300),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}
	v, err := s.SaveSession(context.Background(), r)
	if err != nil {
		b.Fatal(err)
	}
	r.Version = v
	return r
}

// BenchmarkSession reads a record: one HGETALL.
func BenchmarkSession(b *testing.B) {
	ctx := context.Background()
	s, _ := openTest(b, Options{})
	r := benchRecord(b, s)
	for b.Loop() {
		if _, err := s.Session(ctx, r.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveSession updates a record by compare-and-swap: the record
// script and the index script in one pipeline.
func BenchmarkSaveSession(b *testing.B) {
	ctx := context.Background()
	s, _ := openTest(b, Options{})
	r := benchRecord(b, s)
	for b.Loop() {
		v, err := s.SaveSession(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		r.Version = v
	}
}

// BenchmarkLoginManyLogins creates one record (a login) for a user who
// already has N live records (logins=N): what a login costs must not grow
// with the user's number of logins.
func BenchmarkLoginManyLogins(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("logins=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s, _ := openTest(b, Options{})
			now := time.Now()
			login := func(token string) store.Record {
				return store.Record{ID: store.HashToken(token), User: "alice", Kind: store.KindSession,
					Data: bytes.Repeat([]byte("x"), 300), Created: now, LastSeen: now,
					Expires: now.Add(time.Hour), UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}
			}
			fillLogins(b, s, n, func(i int) store.Record { return login(fmt.Sprintf("old-%d", i)) })
			i := 0
			for b.Loop() {
				if _, err := s.SaveSession(ctx, login(fmt.Sprintf("new-%d", i))); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// fillLogins saves the n records rec returns, from a few goroutines.
func fillLogins(b *testing.B, s *Store, n int, rec func(i int) store.Record) {
	b.Helper()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if _, err := s.SaveSession(context.Background(), rec(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
