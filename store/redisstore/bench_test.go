package redisstore

import (
	"bytes"
	"context"
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
