package session_test

import (
	"bufio"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/session"
)

// TestNoLostUpdates is the reason for compare-and-swap: 200 concurrent
// increments of one session add exactly 200.
func TestNoLostUpdates(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	const n = 200
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() { codes[i] = f.serve(counter, token).StatusCode })
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d answered %d", i, c)
		}
	}
	if got := f.count(token); got != n+1 {
		t.Errorf("after 1 + %d concurrent increments the count is %d", n, got)
	}
}

// TestBurstOnOneSessionNeverConflicts: concurrent requests of one process
// on one session do not collide in the store: each reads the session once
// and saves it once, by a compare-and-swap that succeeds, as their saves
// take turns. Every increment counts.
func TestBurstOnOneSessionNeverConflicts(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	loads, saves := f.store.loads.Load(), f.store.saves.Load()
	const n = 100
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { f.serve(counter, token) })
	}
	wg.Wait()
	if got := f.store.conflicts.Load(); got != 0 {
		t.Errorf("%d concurrent increments lost %d compare-and-swaps, want none", n, got)
	}
	if got := f.store.saves.Load() - saves; got != n {
		t.Errorf("%d concurrent increments took %d saves, want %d", n, got, n)
	}
	if got := f.store.loads.Load() - loads; got != n {
		t.Errorf("%d concurrent increments took %d reads, want %d (no reloads after conflicts)", n, got, n)
	}
	if got := f.count(token); got != n+1 {
		t.Errorf("after 1 + %d concurrent increments the count is %d", n, got)
	}
}

// TestSaveByAnotherProcessStillCounts: a second manager on the same store
// (another server instance) saves between this manager's saves. This
// manager's memory of its last save is then outdated; its next save
// conflicts, reads the store again and keeps both increments.
func TestSaveByAnotherProcessStillCounts(t *testing.T) {
	f := newFixture(t, session.Options{})
	other := mustNew(t, f.store, session.Options{Now: f.clock.Now})
	token := mustToken(t, f.serve(counter, ""))
	serveOther := func() {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
		other.Handler(http.HandlerFunc(counter)).ServeHTTP(httptest.NewRecorder(), r)
	}
	// A request of this manager loads the session, then the other
	// instance saves twice before it saves.
	loaded, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		f.serve(func(w http.ResponseWriter, r *http.Request) {
			close(loaded)
			<-release
			counter(w, r)
		}, token)
	}()
	<-loaded
	f.serve(counter, token) // this manager remembers version 3
	serveOther()
	serveOther()
	close(release)
	<-done
	f.serve(counter, token)
	if got := f.count(token); got != 6 {
		t.Errorf("count = %d, want 6 (1 + 5 increments from two instances)", got)
	}
}

// Changes of different keys made by two overlapping requests are both kept,
// whichever saves first.
func TestOverlappingRequestsKeepBothChanges(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		session.Put(s, "a", "old")
		session.Put(s, "flash", "hello")
	}, ""))
	loaded, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.serve(func(w http.ResponseWriter, r *http.Request) {
			close(loaded)
			<-release
			session.Put(session.From(r), "a", "new")
		}, token)
	}()
	<-loaded
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		session.Pop[string](s, "flash")
		session.Put(s, "b", 2)
	}, token)
	close(release)
	<-done

	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if a, _ := session.Get[string](s, "a"); a != "new" {
			t.Errorf("a = %q, want new", a)
		}
		if b, _ := session.Get[int](s, "b"); b != 2 {
			t.Errorf("b = %d, want 2", b)
		}
		if s.Has("flash") {
			t.Error("the popped flash came back")
		}
	}, token)
}

// TestStreaming checks that the response is not buffered: the first chunk
// reaches the client, with the session cookie, while the handler is still
// running, and a change made after that is saved too.
func TestStreaming(t *testing.T) {
	f := newFixture(t, session.Options{})
	proceed := make(chan struct{})
	srv := httptest.NewServer(f.mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		session.Put(s, "before", true)
		io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		<-proceed
		session.Put(s, "after", true)
		io.WriteString(w, "second\n")
	})))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	token := mustToken(t, resp)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk = %q, %v", line, err)
	}
	close(proceed)
	rest, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(rest), "second") {
		t.Errorf("rest of the body = %q", rest)
	}
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if !s.Has("before") || !s.Has("after") {
			t.Errorf("saved values: before=%v after=%v; want both", s.Has("before"), s.Has("after"))
		}
	}, token)
}

// TestLateSaveFailureAbortsTheResponse: when a change made after the body
// started cannot be saved, the client sees a broken response, not a
// complete one that claims the change was kept.
func TestLateSaveFailureAbortsTheResponse(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	srv := httptest.NewServer(f.mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "started\n")
		http.NewResponseController(w).Flush()
		f.store.down.Store(true)
		session.From(r).Increment("n", 1)
	})))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the response completed although its change was not saved")
	}
	f.store.down.Store(false)
	if n := f.count(token); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}
