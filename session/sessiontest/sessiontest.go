// Package sessiontest tests handlers that use sessions, with no server or
// cookie copying: [New] makes a Fixture, [Fixture.Set] fills its session,
// [Fixture.Serve] runs the handler and [Fixture.Session] reads what it stored.
package sessiontest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// Fixture plays one browser of a handler test: a Manager on an in-memory
// store, and the session cookie that browser holds, if any. Each Serve sends
// that cookie and keeps whatever cookie the response sets, as a browser
// would: a new token after Renew, none after Destroy. Its methods are safe
// for concurrent use.
type Fixture struct {
	t    testing.TB
	mgr  *session.Manager
	opts session.Options // as given, with CookieName defaulted

	mu    sync.Mutex
	token string // the session cookie's value; "" when the browser holds none
}

// New returns a Fixture whose Manager is session.New(store, opts) on a new
// in-memory store, closed by t.Cleanup. The zero Options are the defaults;
// opts.Now, if set, is the clock of both the Manager and the store. It fails
// the test when session.New refuses opts.
func New(t testing.TB, opts session.Options) *Fixture {
	t.Helper()
	st := memstore.New(memstore.Options{Now: opts.Now})
	t.Cleanup(func() { _ = st.Close() })
	mgr, err := session.New(st, opts)
	if err != nil {
		t.Fatalf("sessiontest.New: %v", err)
	}
	if opts.CookieName == "" {
		opts.CookieName = session.DefaultCookieName
	}
	return &Fixture{t: t, mgr: mgr, opts: opts}
}

// Manager returns the fixture's Manager, for code under test that needs one
// (Manager.Sessions, Manager.DestroyAll). Do not wrap the handler given to
// Serve in its middleware: Serve does that.
func (f *Fixture) Manager() *session.Manager { return f.mgr }

// Set runs fn on the fixture's session, as a handler would, and stores the
// result; the next Serve's handler finds it there. For example:
//
//	f.Set(func(s *session.Session) error {
//		s.SetUser("alice")
//		return session.Put(s, "cart", cart)
//	})
//
// Calls add up: fn sees what earlier calls and handlers stored. Set fails the
// test when fn returns an error or the session cannot be saved.
func (f *Fixture) Set(fn func(s *session.Session) error) {
	f.t.Helper()
	var fnErr error
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		fnErr = fn(session.From(r))
	})
	resp := f.serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
	if fnErr != nil {
		f.t.Fatalf("sessiontest: Set: %v", fnErr)
	}
	if resp.Code != http.StatusOK {
		f.t.Fatalf("sessiontest: Set: saving the session failed: %d %s",
			resp.Code, strings.TrimSpace(resp.Body.String()))
	}
}

// Serve runs h behind the Manager's middleware with r, a request made by
// httptest.NewRequest (nil means GET /), and returns the recorded response.
// When the fixture holds a session, r carries its cookie, under the name the
// Manager reads for r, in place of any session cookie r had. The fixture
// then holds the cookie the response set: a new token when h renewed the
// session or stored the first value of an anonymous one, none when h
// destroyed it. r itself is not changed.
func (f *Fixture) Serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	if r == nil {
		r = httptest.NewRequest(http.MethodGet, "/", nil)
	}
	return f.serve(h, r)
}

func (f *Fixture) serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	f.mu.Lock()
	token := f.token
	f.mu.Unlock()

	r = r.Clone(r.Context())
	if token != "" {
		var kept []string
		for _, c := range r.Cookies() {
			if !f.isSessionCookie(c.Name) {
				kept = append(kept, c.String())
			}
		}
		// The name the Manager reads for this request: it carries a
		// "__Host-" or "__Secure-" prefix when r is HTTPS, or when the
		// Policy makes every cookie Secure.
		name := f.opts.Policy.Name(f.opts.CookieName, r)
		kept = append(kept, (&http.Cookie{Name: name, Value: token}).String())
		r.Header.Set("Cookie", strings.Join(kept, "; "))
	}

	w := httptest.NewRecorder()
	f.mgr.Handler(h).ServeHTTP(w, r)

	for _, c := range w.Result().Cookies() {
		if !f.isSessionCookie(c.Name) {
			continue
		}
		f.mu.Lock()
		if c.MaxAge < 0 || c.Value == "" {
			f.token = "" // removed: the session ended, or was unknown
		} else {
			f.token = c.Value
		}
		f.mu.Unlock()
	}
	return w
}

// isSessionCookie reports whether name is the Manager's session cookie,
// with or without the prefix a Secure cookie gets.
func (f *Fixture) isSessionCookie(name string) bool {
	base := f.opts.CookieName
	return name == base || name == "__Host-"+base || name == "__Secure-"+base
}

// HasSession reports whether the fixture holds a live session: false while
// nothing was stored (an anonymous browser), and after a handler destroyed
// the session or it expired by opts.Now.
func (f *Fixture) HasSession() bool {
	f.t.Helper()
	_, ok := f.load()
	return ok
}

// Session returns the fixture's session as it is stored now, freshly
// loaded, for reading what the handler stored with session.Get, User and
// Keys. It is a copy: changing it changes nothing stored (use Set for
// that). Session fails the test when the fixture holds no live session;
// check HasSession first where that is an expected outcome (logout).
func (f *Fixture) Session() *session.Session {
	f.t.Helper()
	s, ok := f.load()
	if !ok {
		f.t.Fatalf("sessiontest: Session: the fixture holds no session " +
			"(nothing was stored, or the handler destroyed it, or it expired); use HasSession to test for that")
	}
	return s
}

// load loads the fixture's session, reporting false when there is none. A
// failing store fails the test.
func (f *Fixture) load() (*session.Session, bool) {
	f.t.Helper()
	f.mu.Lock()
	token := f.token
	f.mu.Unlock()
	if token == "" {
		return nil, false
	}
	s, err := f.mgr.Load(context.Background(), token)
	switch {
	case errors.Is(err, session.ErrNoSession):
		return nil, false
	case err != nil:
		f.t.Fatalf("sessiontest: loading the session: %v", err)
	}
	return s, true
}
