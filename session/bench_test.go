package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/pgstore"
	"github.com/sessionkit/sessionkit/store/redisstore"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// BenchmarkRequest measures one request through the middleware on a
// stored session: load, increment a count, save by compare-and-swap.
func BenchmarkRequest(b *testing.B) {
	forEachStore(b, func(b *testing.B, st store.Sessions) { benchmarkRequest(b, st, counter) })
}

// BenchmarkReadOnlyRequest measures a request that only reads the session:
// one load, no write.
func BenchmarkReadOnlyRequest(b *testing.B) {
	forEachStore(b, func(b *testing.B, st store.Sessions) { benchmarkRequest(b, st, reader) })
}

func forEachStore(b *testing.B, bench func(*testing.B, store.Sessions)) {
	b.Run("memstore", func(b *testing.B) {
		mem := memstore.New(memstore.Options{})
		b.Cleanup(func() { mem.Close() })
		bench(b, mem)
	})
	b.Run("sqlitestore", func(b *testing.B) {
		db, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlitestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		bench(b, db)
	})
	b.Run("redisstore", func(b *testing.B) {
		url, prefix := testenv.RedisPrefix(b)
		rs, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rs.Close() })
		bench(b, rs)
	})
	b.Run("pgstore", func(b *testing.B) {
		url, schema := testenv.PostgresSchema(b)
		pg, err := pgstore.Open(context.Background(), url, pgstore.Options{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pg.Close() })
		bench(b, pg)
	})
}

// benchmarkRequest creates a session with one counting request, then
// measures handler h on it.
//
// It reports the store round trips per request: a request that changes
// the session does one read and one compare-and-swap; a read-only one does
// one read (and a write at most once per TouchInterval).
func benchmarkRequest(b *testing.B, st store.Sessions, h http.HandlerFunc) {
	ws := &watchedStore{Sessions: st}
	mgr := mustNew(b, ws, session.Options{})
	create := mgr.Handler(http.HandlerFunc(counter))
	w := httptest.NewRecorder()
	create.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	token := mustToken(b, w.Result())
	handler := mgr.Handler(h)
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	loads, saves := ws.loads.Load(), ws.saves.Load()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		n++
	}
	b.ReportMetric(float64(ws.loads.Load()-loads)/float64(n), "reads/op")
	b.ReportMetric(float64(ws.saves.Load()-saves)/float64(n), "cas/op")
}

// BenchmarkHotSession measures requests on one session from 32 goroutines
// at once, as a load test on one login sends them (a user's tabs, at
// scale): every request counting ("write"), or nine in ten only reading
// ("read90"). It reports the store calls per request and the
// compare-and-swaps another request won.
func BenchmarkHotSession(b *testing.B) {
	forEachStore(b, func(b *testing.B, st store.Sessions) {
		for _, mix := range mixes {
			b.Run(mix.name, func(b *testing.B) { benchmarkParallel(b, st, 1, mix.writeEvery) })
		}
	})
}

// BenchmarkUsers is BenchmarkHotSession over 200 sessions, each request
// carrying the next one's cookie: many users, none of whose requests
// overlap much.
func BenchmarkUsers(b *testing.B) {
	forEachStore(b, func(b *testing.B, st store.Sessions) {
		for _, mix := range mixes {
			b.Run(mix.name, func(b *testing.B) { benchmarkParallel(b, st, 200, mix.writeEvery) })
		}
	})
}

// mixes are the request mixes of the parallel benchmarks: one request in
// writeEvery counts, the others only read.
var mixes = []struct {
	name       string
	writeEvery int
}{
	{"write", 1},
	{"read90", 10},
}

// benchmarkParallel creates sessions sessions, then serves requests on
// them from 32 goroutines (16 per CPU on the 2-CPU benchmark machine), in
// turn: one in writeEvery counts, the others read.
func benchmarkParallel(b *testing.B, st store.Sessions, sessions, writeEvery int) {
	ws := &watchedStore{Sessions: st}
	mgr := mustNew(b, ws, session.Options{})
	create := mgr.Handler(http.HandlerFunc(counter))
	reqs := make([]*http.Request, sessions)
	for i := range reqs {
		w := httptest.NewRecorder()
		create.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		reqs[i] = httptest.NewRequest("GET", "/", nil)
		reqs[i].AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: mustToken(b, w.Result())})
	}
	write, read := mgr.Handler(http.HandlerFunc(counter)), mgr.Handler(http.HandlerFunc(reader))
	var next atomic.Int64
	loads, saves, conflicts := ws.loads.Load(), ws.saves.Load(), ws.conflicts.Load()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			h := read
			if i%writeEvery == 0 {
				h = write
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, reqs[i%sessions])
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
	n := float64(b.N)
	b.ReportMetric(float64(ws.loads.Load()-loads)/n, "reads/op")
	b.ReportMetric(float64(ws.saves.Load()-saves)/n, "cas/op")
	b.ReportMetric(float64(ws.conflicts.Load()-conflicts)/n, "conflicts/op")
}

// BenchmarkBareHandler is the same counting page without sessions (the
// count is a global), to show what the middleware adds.
func BenchmarkBareHandler(b *testing.B) {
	var n int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Write([]byte{byte('0' + n%10)})
	})
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
}
