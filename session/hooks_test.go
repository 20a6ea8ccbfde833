package session_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/session"
)

// TestOnRetry: a save that loses a compare-and-swap to an overlapping
// request is tried again, and OnRetry hears of each retry and of nothing
// else.
func TestOnRetry(t *testing.T) {
	var retries atomic.Int64
	f := newFixture(t, session.Options{OnRetry: func() { retries.Add(1) }})
	token := mustToken(t, f.serve(counter, ""))
	f.serve(counter, token)
	if n := retries.Load(); n != 0 {
		t.Fatalf("OnRetry called %d times without a conflict", n)
	}

	// The first request loads the session, then waits while another
	// instance on the same store (a second Manager) loads and saves it: the
	// first one's save conflicts once. (Within one Manager, overlapping
	// saves of a session take turns and never conflict.)
	other := mustNew(t, f.store, session.Options{Now: f.clock.Now})
	loaded, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		f.serve(func(w http.ResponseWriter, r *http.Request) {
			close(loaded)
			<-release
			session.From(r).Increment("n", 1)
		}, token)
	}()
	<-loaded
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	other.Handler(http.HandlerFunc(counter)).ServeHTTP(httptest.NewRecorder(), r)
	close(release)
	<-done
	if got := f.count(token); got != 4 {
		t.Errorf("count %d after four increments, want 4", got)
	}
	if n := retries.Load(); n != 1 {
		t.Errorf("OnRetry called %d times for one conflict, want 1", n)
	}
}

// TestOnExpired: a session whose cookie comes back after its deadline
// (here: the deadline was shortened after it was stored, so the store still
// has it) is ended, and OnExpired hears of it; a live one is not reported.
func TestOnExpired(t *testing.T) {
	var expired atomic.Int64
	f := newFixture(t, session.Options{IdleTimeout: time.Hour})
	token := mustToken(t, f.serve(counter, ""))

	strict := mustNew(t, f.store, session.Options{
		IdleTimeout: 10 * time.Minute,
		Now:         f.clock.Now,
		OnExpired:   func() { expired.Add(1) },
	})
	f.mgr = strict
	if got := f.count(token); got != 1 || expired.Load() != 0 {
		t.Fatalf("live session: count %d, OnExpired called %d times; want 1 and 0", got, expired.Load())
	}
	f.clock.Advance(20 * time.Minute)
	resp := f.serve(reader, token)
	wantCookieRemoved(t, resp, "an expired session")
	if n := expired.Load(); n != 1 {
		t.Errorf("OnExpired called %d times for one expired session, want 1", n)
	}
}
