package session_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/session"
)

// serveCookies runs h behind the manager with one session cookie per
// value, in that order, as a browser holding several cookies of the name
// (one set for the whole domain by a sibling site) sends them.
func (f *fixture) serveCookies(h http.HandlerFunc, values ...string) *http.Response {
	f.t.Helper()
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	for _, v := range values {
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: v})
	}
	w := httptest.NewRecorder()
	f.mgr.Handler(h).ServeHTTP(w, r)
	return w.Result()
}

// TestSeveralSessionCookies sends the session cookie of a live session
// beside other cookies of the same name: the one naming a live session is
// adopted, whatever its place; two naming two live sessions are ambiguous,
// and then neither is adopted, neither is deleted and neither cookie is
// removed. Each row's reads show that garbage never reaches the store and
// that one cookie costs one read.
func TestSeveralSessionCookies(t *testing.T) {
	type sessions struct{ one, two, expired string }
	unknown := strings.Repeat("A", 43) // well formed, never issued
	wellFormed := func(c string) string { return strings.Repeat(c, 42) + "A" }
	cases := []struct {
		name    string
		cookies func(s sessions) []string
		want    byte  // what the reader sees: '1' session one, '2' session two, '0' none
		reads   int64 // store reads the request makes
	}{
		{"one cookie", func(s sessions) []string { return []string{s.one} }, '1', 1},
		{"garbage first", func(s sessions) []string { return []string{"garbage", s.one} }, '1', 1},
		{"garbage last", func(s sessions) []string { return []string{s.two, "garbage"} }, '2', 1},
		{"an unknown token first", func(s sessions) []string { return []string{unknown, s.two} }, '2', 2},
		{"an expired session first", func(s sessions) []string { return []string{s.expired, s.one} }, '1', 2},
		{"the same cookie twice", func(s sessions) []string { return []string{s.one, s.one} }, '1', 1},
		{"two live sessions", func(s sessions) []string { return []string{s.one, s.two} }, '0', 2},
		{"two live sessions, the other order", func(s sessions) []string { return []string{s.two, "garbage", s.one} }, '0', 2},
		{"more than four tokens", func(s sessions) []string {
			return []string{unknown, wellFormed("B"), wellFormed("C"), wellFormed("D"), s.one}
		}, '0', 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, session.Options{})
			var s sessions
			s.expired = mustToken(t, f.serve(counter, ""))
			f.clock.Advance(2 * session.DefaultIdleTimeout)
			s.one = mustToken(t, f.serve(counter, ""))
			s.two = mustToken(t, f.serve(counter, ""))
			f.serve(counter, s.two) // session two counts 2

			before := f.store.loads.Load()
			resp := f.serveCookies(reader, c.cookies(s)...)
			reads := f.store.loads.Load() - before
			body := make([]byte, 1)
			if _, err := resp.Body.Read(body); err != nil {
				t.Fatal(err)
			}
			if body[0] != c.want {
				t.Errorf("the handler saw count %c, want %c", body[0], c.want)
			}
			if reads != c.reads {
				t.Errorf("%d store reads, want %d", reads, c.reads)
			}
			if c.want == '0' {
				if set := resp.Header.Values("Set-Cookie"); len(set) != 0 {
					t.Errorf("an ambiguous request touched the browser's cookies: %q", set)
				}
			}
			// Nothing was deleted: each session is still there, alone.
			if n := f.count(s.one); n != 1 {
				t.Errorf("session one counts %d afterwards, want 1", n)
			}
			if n := f.count(s.two); n != 2 {
				t.Errorf("session two counts %d afterwards, want 2", n)
			}
		})
	}
}

// TestSeveralSessionCookiesWrite: a handler that writes to the session of
// an unambiguous request writes to the adopted session, and one of an
// ambiguous request starts a new session of its own, leaving both others
// as they were.
func TestSeveralSessionCookiesWrite(t *testing.T) {
	f := newFixture(t, session.Options{})
	one := mustToken(t, f.serve(counter, ""))
	two := mustToken(t, f.serve(counter, ""))

	resp := f.serveCookies(counter, "garbage", one)
	if c := sessionCookie(resp); c != nil {
		t.Errorf("writing to the adopted session set a cookie: %v", c)
	}
	if n := f.count(one); n != 2 {
		t.Errorf("the adopted session counts %d, want 2", n)
	}

	fresh := mustToken(t, f.serveCookies(counter, one, two))
	if fresh == one || fresh == two {
		t.Fatal("an ambiguous request wrote to one of the sessions it was given")
	}
	for name, want := range map[string]int64{one: 2, two: 1, fresh: 1} {
		if n := f.count(name); n != want {
			t.Errorf("a session counts %d, want %d", n, want)
		}
	}
}

// TestSeveralSessionCookiesStoreDown: when the store cannot be read, a
// request with several cookies answers through ErrorHandler, as one with
// a single cookie does: whether the others name live sessions cannot be
// told, so none is adopted and the user is not logged out either.
func TestSeveralSessionCookiesStoreDown(t *testing.T) {
	f := newFixture(t, session.Options{})
	one := mustToken(t, f.serve(counter, ""))
	f.clock.Advance(time.Second)
	f.store.down.Store(true)
	resp := f.serveCookies(reader, "garbage", one, strings.Repeat("A", 43))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d with the store down, want 503", resp.StatusCode)
	}
	if set := resp.Header.Values("Set-Cookie"); len(set) != 0 {
		t.Errorf("with the store down the cookies were touched: %q", set)
	}
	f.store.down.Store(false)
	if n := f.count(one); n != 1 {
		t.Errorf("after the outage the session counts %d, want 1", n)
	}
}
