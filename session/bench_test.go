package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"sessionkit/session"
	"sessionkit/store"
	"sessionkit/store/memstore"
	"sessionkit/store/sqlitestore"
)

// BenchmarkRequest measures one request through the middleware on a
// logged-in session: load, increment a count, save by compare-and-swap.
func BenchmarkRequest(b *testing.B) {
	b.Run("memstore", func(b *testing.B) {
		mem := memstore.New(memstore.Options{})
		b.Cleanup(func() { mem.Close() })
		benchmarkRequest(b, mem)
	})
	b.Run("sqlitestore", func(b *testing.B) {
		db, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlitestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchmarkRequest(b, db)
	})
}

func benchmarkRequest(b *testing.B, st store.Sessions) {
	mgr := session.New(st, session.Options{})
	h := mgr.Handler(http.HandlerFunc(counter))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	token := mustToken(b, w.Result())
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
