package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// errDown is what a store that is "down" answers.
var errDown = errors.New("store is down")

// watchedStore wraps a real store, counting the calls that reach it and
// failing them on demand, as a store that went down would.
type watchedStore struct {
	store.Sessions
	loads, saves, conflicts, deletes atomic.Int64
	down                             atomic.Bool
}

func (w *watchedStore) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	w.loads.Add(1)
	if w.down.Load() {
		return store.Record{}, errDown
	}
	return w.Sessions.Session(ctx, id)
}

func (w *watchedStore) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	w.saves.Add(1)
	if w.down.Load() {
		return 0, errDown
	}
	v, err := w.Sessions.SaveSession(ctx, r)
	if errors.Is(err, store.ErrConflict) {
		w.conflicts.Add(1)
	}
	return v, err
}

func (w *watchedStore) DeleteSession(ctx context.Context, id store.SessionID) error {
	w.deletes.Add(1)
	if w.down.Load() {
		return errDown
	}
	return w.Sessions.DeleteSession(ctx, id)
}

// fixture is a manager on a memory store, driven by a fake clock.
type fixture struct {
	t     *testing.T
	clock *fakeclock.Clock
	mem   *memstore.Store
	store *watchedStore
	mgr   *session.Manager
}

func newFixture(t *testing.T, opts session.Options) *fixture {
	t.Helper()
	c := newClock()
	mem := memstore.New(memstore.Options{Now: c.Now})
	t.Cleanup(func() { mem.Close() })
	ws := &watchedStore{Sessions: mem}
	opts.Now = c.Now
	return &fixture{t: t, clock: c, mem: mem, store: ws, mgr: mustNew(t, ws, opts)}
}

// serve runs h behind the manager with the given session cookie ("" for
// none) and returns the response.
func (f *fixture) serve(h http.HandlerFunc, token string) *http.Response {
	f.t.Helper()
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.Header.Set("User-Agent", "test-browser/1.0")
	if token != "" {
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	}
	w := httptest.NewRecorder()
	f.mgr.Handler(h).ServeHTTP(w, r)
	return w.Result()
}

// sessionCookie returns the session cookie a response sets, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == session.DefaultCookieName {
			return c
		}
	}
	return nil
}

// mustToken returns the token a response sets, failing the test if it sets
// none.
func mustToken(t testing.TB, resp *http.Response) string {
	t.Helper()
	c := sessionCookie(resp)
	if c == nil || c.Value == "" || c.MaxAge <= 0 {
		t.Fatalf("response set no session cookie (Set-Cookie: %q)", resp.Header.Values("Set-Cookie"))
	}
	return c.Value
}

// wantCookieRemoved fails the test unless resp tells the browser to drop
// its session cookie (the session of what is gone).
func wantCookieRemoved(t *testing.T, resp *http.Response, what string) {
	t.Helper()
	if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
		t.Errorf("the cookie of %s was not removed: %v", what, c)
	}
}

// counter is a handler that counts views in the session and writes the
// count.
func counter(w http.ResponseWriter, r *http.Request) {
	n := session.From(r).Increment("n", 1)
	w.Write([]byte{byte('0' + n%10)})
}

// reader is a handler that only reads the count.
func reader(w http.ResponseWriter, r *http.Request) {
	n, _ := session.Get[int64](session.From(r), "n")
	w.Write([]byte{byte('0' + n%10)})
}

// count returns the count a token's session holds, through a read-only
// request.
func (f *fixture) count(token string) int64 {
	f.t.Helper()
	var n int64
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		n, _ = session.Get[int64](session.From(r), "n")
	}, token)
	return n
}

// mustNew returns session.New's Manager, failing the test on an error.
func mustNew(t testing.TB, st store.Sessions, opts session.Options) *session.Manager {
	t.Helper()
	m, err := session.New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
