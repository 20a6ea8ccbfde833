package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
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
	m, err := New(gs, Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	values, _, err := decode(rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	if n := values["n"]; n != int64(2+queued) {
		t.Errorf("count = %v, want %d", n, 2+queued)
	}
}

// heldReadStore is a memory store whose reads, while held, take their
// answer and then wait to give it: a read in flight.
type heldReadStore struct {
	*memstore.Store
	reads   atomic.Int64
	held    atomic.Bool
	release chan struct{}
	inRead  chan struct{}
}

func (h *heldReadStore) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	h.reads.Add(1)
	rec, err := h.Store.Session(ctx, id)
	if h.held.Load() {
		h.inRead <- struct{}{}
		<-h.release
	}
	return rec, err
}

// TestReadsOfABurst: requests that arrive while a read of their session is
// in flight do not take its answer, which may predate them: after the
// session is destroyed, a request arriving during a read begun before
// finds no session. The requests that arrive during one read share the
// next.
func TestReadsOfABurst(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	t.Cleanup(func() { mem.Close() })
	hs := &heldReadStore{Store: mem, release: make(chan struct{}), inRead: make(chan struct{}, 1)}
	m, err := New(hs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.reads.avg.Store(int64(time.Second)) // a slow store: reads are made together
	serve := func(token string, h http.HandlerFunc) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: token})
		m.Handler(h).ServeHTTP(httptest.NewRecorder(), r)
	}
	var token string
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { From(r).SetUser("alice") })).ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		token = c.Value
	}
	id := store.HashToken(token)
	user := func(got *string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { *got = From(r).User() }
	}

	hs.held.Store(true)
	var first string
	var wg sync.WaitGroup
	wg.Go(func() { serve(token, user(&first)) })
	<-hs.inRead // the first request's read has its answer, not yet given
	hs.held.Store(false)
	if err := mem.DeleteSession(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	reads := hs.reads.Load()
	const late = 3
	users := make([]string, late)
	for i := range late {
		wg.Go(func() { serve(token, user(&users[i])) })
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		m.reads.mu.Lock()
		c := m.reads.calls[id]
		queued := 0
		if c != nil && c.next != nil {
			queued = c.next.waiters
		}
		m.reads.mu.Unlock()
		if queued == late {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d late requests queued for a read, want %d", queued, late)
		}
		time.Sleep(time.Millisecond)
	}
	close(hs.release)
	wg.Wait()
	if first != "alice" {
		t.Errorf("the request whose read began before the logout saw user %q", first)
	}
	for i, u := range users {
		if u != "" {
			t.Errorf("late request %d, arriving after the session was destroyed, saw user %q", i, u)
		}
	}
	if got := hs.reads.Load() - reads; got != 1 {
		t.Errorf("the %d late requests took %d reads, want 1", late, got)
	}
}
