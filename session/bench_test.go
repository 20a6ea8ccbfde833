package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
