package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// gatedStore is a memory store whose saves wait at a gate while it is
// closed, and which counts its reads, saves and lost compare-and-swaps.
type gatedStore struct {
	*memstore.Store
	reads, saves, conflicts atomic.Int64
	closed                  atomic.Bool
	gate                    chan struct{}
	inSave                  chan struct{}
}

func (g *gatedStore) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	g.reads.Add(1)
	return g.Store.Session(ctx, id)
}

func (g *gatedStore) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	g.saves.Add(1)
	if g.closed.Load() {
		g.inSave <- struct{}{}
		<-g.gate
	}
	v, err := g.Store.SaveSession(ctx, r)
	if errors.Is(err, store.ErrConflict) {
		g.conflicts.Add(1)
	}
	return v, err
}

// TestSavesOfOneSessionTakeTurns: while one request's save of a session is
// in progress, three more requests load the same version and change it.
// They save after it, one at a time, each by a compare-and-swap of its own
// that starts from the record saved before it: none conflicts, and every
// increment counts.
func TestSavesOfOneSessionTakeTurns(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	t.Cleanup(func() { mem.Close() })
	gs := &gatedStore{Store: mem, gate: make(chan struct{}), inSave: make(chan struct{}, 1)}
	m, err := New(gs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	counted := make(chan struct{}, 8)
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r).Increment("n", 1)
		counted <- struct{}{}
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
	<-counted

	gs.closed.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() { serve(token) })
	<-counted
	<-gs.inSave // the first request's save is in progress
	gs.closed.Store(false)
	reads, saves := gs.reads.Load(), gs.saves.Load()
	const late = 3
	for range late {
		wg.Go(func() { serve(token) })
	}
	for range late {
		<-counted // loaded (the version the first request is replacing) and counted
	}
	close(gs.gate)
	wg.Wait()
	if got := gs.conflicts.Load(); got != 0 {
		t.Errorf("%d compare-and-swaps lost, want none", got)
	}
	if got := gs.saves.Load() - saves; got != late {
		t.Errorf("the %d late requests made %d saves, want %d", late, got, late)
	}
	if got := gs.reads.Load() - reads; got != late {
		t.Errorf("the %d late requests made %d reads, want %d (one each, none after a conflict)", late, got, late)
	}
	rec, err := mem.Session(context.Background(), store.HashToken(token))
	if err != nil {
		t.Fatal(err)
	}
	values, _, err := decode(rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	if n := values["n"]; n != int64(2+late) {
		t.Errorf("count = %v, want %d", n, 2+late)
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

// TestReadsAreEachRequestsOwn: requests that arrive while a read of their
// session is in flight neither wait for it nor take its answer, which may
// predate them: after the session is destroyed, they find no session at
// once, each by a read of its own, while the request whose read began
// before still sees the user.
func TestReadsAreEachRequestsOwn(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	t.Cleanup(func() { mem.Close() })
	hs := &heldReadStore{Store: mem, release: make(chan struct{}), inRead: make(chan struct{}, 1)}
	m, err := New(hs, Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	user := func(got *string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { *got = From(r).User() }
	}

	hs.held.Store(true)
	var first string
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(token, user(&first))
	}()
	<-hs.inRead // the first request's read has its answer, not yet given
	hs.held.Store(false)
	if err := mem.DeleteSession(context.Background(), store.HashToken(token)); err != nil {
		t.Fatal(err)
	}
	reads := hs.reads.Load()
	const late = 3
	users := make([]string, late)
	var wg sync.WaitGroup
	for i := range late {
		wg.Go(func() { serve(token, user(&users[i])) })
	}
	wg.Wait() // while the first read is still held
	close(hs.release)
	<-done
	if first != "alice" {
		t.Errorf("the request whose read began before the logout saw user %q", first)
	}
	for i, u := range users {
		if u != "" {
			t.Errorf("late request %d, arriving after the session was destroyed, saw user %q", i, u)
		}
	}
	if got := hs.reads.Load() - reads; got != late {
		t.Errorf("the %d late requests made %d reads, want one each", late, got)
	}
}
