package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sessionkit/store"
	"sessionkit/store/memstore"
)

// gatedStore is a memory store whose saves wait at a gate while it is
// closed, and which counts them.
type gatedStore struct {
	*memstore.Store
	saves  atomic.Int64
	closed atomic.Bool
	gate   chan struct{}
	inSave chan struct{}
}

func (g *gatedStore) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	g.saves.Add(1)
	if g.closed.Load() {
		g.inSave <- struct{}{}
		<-g.gate
	}
	return g.Store.SaveSession(ctx, r)
}

// TestQueuedSavesAreCombined: while one save of a session is in progress,
// three more requests on the session queue; when it is done they are
// saved by one write, and every increment counts.
func TestQueuedSavesAreCombined(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	t.Cleanup(func() { mem.Close() })
	gs := &gatedStore{Store: mem, gate: make(chan struct{}), inSave: make(chan struct{}, 1)}
	m := New(gs, Options{})
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r).Increment("n", 1)
	})
	serve := func(token string) *http.Response {
		r := httptest.NewRequest("GET", "/", nil)
		if token != "" {
			r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: token})
		}
		w := httptest.NewRecorder()
		m.Handler(count).ServeHTTP(w, r)
		return w.Result()
	}
	var token string
	for _, c := range serve("").Cookies() {
		token = c.Value
	}
	id := store.HashToken(token)
	lock := m.lockFor(id)

	gs.closed.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() { serve(token) })
	<-gs.inSave // the first request's save is in progress
	gs.closed.Store(false)
	const queued = 3
	for range queued {
		wg.Go(func() { serve(token) })
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		lock.qmu.Lock()
		n := len(lock.waiting)
		lock.qmu.Unlock()
		if n == queued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d saves queued, want %d", n, queued)
		}
		time.Sleep(time.Millisecond)
	}
	saves := gs.saves.Load()
	close(gs.gate)
	wg.Wait()
	if got := gs.saves.Load() - saves; got != 1 {
		t.Errorf("the %d queued saves took %d writes, want 1", queued, got)
	}
	rec, err := mem.Session(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	values, err := decode(rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	if n := values["n"]; n != int64(2+queued) {
		t.Errorf("count = %v, want %d", n, 2+queued)
	}
}
