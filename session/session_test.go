package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

func TestEmptySessionIsNotStored(t *testing.T) {
	f := newFixture(t, session.Options{})
	resp := f.serve(reader, "")
	if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("a request that stored nothing set cookies %q", got)
	}
	if n := f.store.saves.Load(); n != 0 {
		t.Errorf("a request that stored nothing wrote %d times to the store", n)
	}
}

func TestSaveEmptyStoresEverySession(t *testing.T) {
	f := newFixture(t, session.Options{SaveEmpty: true})
	token := mustToken(t, f.serve(reader, ""))
	if _, err := f.mem.Session(context.Background(), store.HashToken(token)); err != nil {
		t.Errorf("with SaveEmpty, the empty session's record: %v", err)
	}
}

func TestValuesPersistAcrossRequests(t *testing.T) {
	f := newFixture(t, session.Options{})
	resp := f.serve(counter, "")
	token := mustToken(t, resp)
	for want := int64(2); want <= 4; want++ {
		resp := f.serve(counter, token)
		if c := sessionCookie(resp); c != nil {
			t.Errorf("request %d set the cookie again (%v); an existing session keeps its cookie", want, c)
		}
	}
	if n := f.count(token); n != 4 {
		t.Errorf("after 4 increments the count is %d", n)
	}
}

func TestCookieAttributes(t *testing.T) {
	f := newFixture(t, session.Options{Lifetime: 2 * time.Hour})
	c := sessionCookie(f.serve(counter, ""))
	if c == nil {
		t.Fatal("no cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie %v: want HttpOnly, SameSite=Lax, Path=/", c)
	}
	if c.MaxAge != 7200 {
		t.Errorf("cookie Max-Age = %d, want the lifetime, 7200", c.MaxAge)
	}
	if len(c.Value) != 43 {
		t.Errorf("token %q is %d characters, want 43 (256 bits, base64url)", c.Value, len(c.Value))
	}
	if strings.ContainsAny(c.Value, "+/=") {
		t.Errorf("token %q is not unpadded base64url", c.Value)
	}
}

func TestTokensAreNeverStored(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	if _, err := f.mem.Session(context.Background(), store.HashToken(token)); err != nil {
		t.Fatalf("record under the token's hash: %v", err)
	}
	var raw store.SessionID
	copy(raw[:], token)
	if _, err := f.mem.Session(context.Background(), raw); err == nil {
		t.Error("the store holds a record named by the token itself")
	}
}

func TestReadOnlyRequestsDoNotWrite(t *testing.T) {
	f := newFixture(t, session.Options{IdleTimeout: time.Hour, TouchInterval: time.Minute})
	token := mustToken(t, f.serve(counter, ""))
	before := f.store.saves.Load()
	for range 5 {
		f.clock.Advance(5 * time.Second)
		f.serve(reader, token)
	}
	if n := f.store.saves.Load() - before; n != 0 {
		t.Errorf("5 read-only requests within the touch interval wrote %d times", n)
	}
	f.clock.Advance(time.Minute)
	f.serve(reader, token)
	if n := f.store.saves.Load() - before; n != 1 {
		t.Errorf("a read-only request past the touch interval wrote %d times, want 1 (extending the idle deadline)", n)
	}
}

func TestIdleTimeout(t *testing.T) {
	f := newFixture(t, session.Options{IdleTimeout: 10 * time.Minute, TouchInterval: time.Minute, Lifetime: 24 * time.Hour})
	token := mustToken(t, f.serve(counter, ""))
	// Reading every 8 minutes keeps the session alive for well past the
	// idle timeout...
	for range 5 {
		f.clock.Advance(8 * time.Minute)
		if n := f.count(token); n != 1 {
			t.Fatalf("an active session was lost after %v (count %d)", 8*time.Minute, n)
		}
	}
	// ...and 11 idle minutes end it.
	f.clock.Advance(11 * time.Minute)
	resp := f.serve(reader, token)
	wantCookieRemoved(t, resp, "an idle session")
	if n := f.count(token); n != 0 {
		t.Errorf("a session idle past its timeout still holds count %d", n)
	}
}

// TestIdleTimeoutZeroAndNegative: a zero IdleTimeout is
// DefaultIdleTimeout, a negative one is none (only Lifetime, by default
// DefaultLifetime, ends the session).
func TestIdleTimeoutZeroAndNegative(t *testing.T) {
	t.Run("zero is the default", func(t *testing.T) {
		f := newFixture(t, session.Options{})
		token := mustToken(t, f.serve(counter, ""))
		f.clock.Advance(session.DefaultIdleTimeout - time.Minute)
		if n := f.count(token); n != 1 {
			t.Fatalf("idle for a minute less than %v: count %d, want 1", session.DefaultIdleTimeout, n)
		}
		f.clock.Advance(session.DefaultIdleTimeout + time.Minute)
		if n := f.count(token); n != 0 {
			t.Errorf("idle for a minute more than %v: count %d, want 0 (ended)", session.DefaultIdleTimeout, n)
		}
	})
	t.Run("negative is none", func(t *testing.T) {
		f := newFixture(t, session.Options{IdleTimeout: -1})
		token := mustToken(t, f.serve(counter, ""))
		f.clock.Advance(session.DefaultLifetime - time.Minute)
		if n := f.count(token); n != 1 {
			t.Fatalf("idle for %v with no idle timeout: count %d, want 1", session.DefaultLifetime-time.Minute, n)
		}
		f.clock.Advance(2 * time.Minute)
		if n := f.count(token); n != 0 {
			t.Errorf("past DefaultLifetime: count %d, want 0 (ended)", n)
		}
	})
}

func TestAbsoluteLifetime(t *testing.T) {
	f := newFixture(t, session.Options{IdleTimeout: 10 * time.Minute, Lifetime: time.Hour})
	token := mustToken(t, f.serve(counter, ""))
	for range 6 {
		f.clock.Advance(9 * time.Minute)
		f.serve(counter, token)
	}
	if n := f.count(token); n != 7 {
		t.Fatalf("count = %d before the lifetime ended, want 7", n)
	}
	f.clock.Advance(7 * time.Minute) // 61 minutes after creation
	if n := f.count(token); n != 0 {
		t.Errorf("a session past its absolute lifetime still holds count %d", n)
	}
}

func TestRenew(t *testing.T) {
	f := newFixture(t, session.Options{})
	old := mustToken(t, f.serve(counter, ""))
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil {
			t.Errorf("Renew: %v", err)
		}
		s.SetUser("alice")
	}, old)
	renewed := mustToken(t, resp)
	if renewed == old {
		t.Fatal("Renew kept the token")
	}
	if n := f.count(old); n != 0 {
		t.Errorf("the old token still reaches the session (count %d)", n)
	}
	if n := f.count(renewed); n != 1 {
		t.Errorf("the renewed session lost its values (count %d, want 1)", n)
	}
	var user string
	f.serve(func(w http.ResponseWriter, r *http.Request) { user = session.From(r).User() }, renewed)
	if user != "alice" {
		t.Errorf("User() = %q, want alice", user)
	}
}

func TestRenewAfterHeaderFails(t *testing.T) {
	f := newFixture(t, session.Options{})
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		if err := session.From(r).Renew(r.Context()); err != session.ErrHeaderWritten {
			t.Errorf("Renew after the header: %v, want ErrHeaderWritten", err)
		}
	}, "")
}

func TestDestroy(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Destroy(r.Context()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	}, token)
	wantCookieRemoved(t, resp, "a destroyed session")
	if n := f.count(token); n != 0 {
		t.Errorf("a destroyed session still holds count %d", n)
	}
}

func TestDestroyAll(t *testing.T) {
	f := newFixture(t, session.Options{})
	login := func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Renew(r.Context())
		s.SetUser("bob")
		s.Increment("n", 1)
	}
	a := mustToken(t, f.serve(login, ""))
	b := mustToken(t, f.serve(login, ""))
	other := mustToken(t, f.serve(counter, ""))
	recs, err := f.mgr.Sessions(context.Background(), "bob")
	if err != nil || len(recs) != 2 {
		t.Fatalf("Sessions(bob) = %d records, %v; want 2", len(recs), err)
	}
	if recs[0].UserAgent != "test-browser/1.0" {
		t.Errorf("listed user agent %q", recs[0].UserAgent)
	}
	n, err := f.mgr.DestroyAll(context.Background(), "bob")
	if err != nil || n != 2 {
		t.Fatalf("DestroyAll = %d, %v; want 2", n, err)
	}
	for _, tok := range []string{a, b} {
		if n := f.count(tok); n != 0 {
			t.Errorf("a session of bob survived DestroyAll (count %d)", n)
		}
	}
	if n := f.count(other); n != 1 {
		t.Errorf("DestroyAll(bob) ended an anonymous session (count %d)", n)
	}
}

// A session ended elsewhere (logout in another tab) while a request was
// running is not brought back by that request's changes.
func TestSessionEndedDuringRequest(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		f.mem.DeleteSession(r.Context(), store.HashToken(token))
		session.From(r).Increment("n", 1)
	}, token)
	wantCookieRemoved(t, resp, "a session ended elsewhere")
	if n := f.count(token); n != 0 {
		t.Errorf("a request brought an ended session back (count %d)", n)
	}
}

// A token the store does not know is never adopted: the session that gets
// stored has a token of the server's choosing (no fixation).
func TestUnknownTokenIsNotAdopted(t *testing.T) {
	f := newFixture(t, session.Options{})
	planted := strings.Repeat("A", 43)
	token := mustToken(t, f.serve(counter, planted))
	if token == planted {
		t.Fatal("the server stored values under a token the browser made up")
	}
	if n := f.count(planted); n != 0 {
		t.Errorf("the planted token reaches a session (count %d)", n)
	}
}

func TestBadCookies(t *testing.T) {
	cases := []struct {
		name, value  string
		reachesStore bool
	}{
		{"empty", "", false},
		{"garbage", "not a token", false},
		{"too short", strings.Repeat("a", 42), false},
		{"too long", strings.Repeat("a", 44), false},
		{"oversized", strings.Repeat("a", 8000), false},
		{"non-canonical base64", strings.Repeat("A", 42) + "B", false},
		{"unknown", strings.Repeat("b", 42) + "A", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, session.Options{})
			r, _ := http.NewRequest("GET", "http://example.com/", nil)
			r.Header.Set("Cookie", session.DefaultCookieName+"="+c.value)
			w := httptest.NewRecorder()
			var user string
			f.mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				user = session.From(r).User()
			})).ServeHTTP(w, r)
			resp := w.Result()
			if resp.StatusCode != http.StatusOK || user != "" {
				t.Errorf("status %d, user %q; want 200 and an empty session", resp.StatusCode, user)
			}
			if got := f.store.loads.Load() > 0; got != c.reachesStore {
				t.Errorf("store consulted: %v, want %v", got, c.reachesStore)
			}
			wantCookieRemoved(t, resp, "a bad cookie")
		})
	}
}

func TestStoreDownAnswers503(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))

	f.store.down.Store(true)
	resp := f.serve(counter, token)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("loading from a down store: status %d, Retry-After %q; want 503 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if c := sessionCookie(resp); c != nil {
		t.Errorf("a down store removed the session cookie: %v", c)
	}
	f.store.down.Store(false)
	if n := f.count(token); n != 1 {
		t.Errorf("after the store came back the count is %d, want 1", n)
	}
}

func TestFailedSaveReplacesTheResponse(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Increment("n", 1)
		f.store.down.Store(true) // after the load, before the save
		http.Redirect(w, r, "/next", http.StatusSeeOther)
	}, token)
	f.store.down.Store(false)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a failed save answered %d, want 503", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("the 503 still redirects to %q", loc)
	}
	if n := f.count(token); n != 1 {
		t.Errorf("count = %d after a failed save, want 1 (unchanged)", n)
	}
}

// With Secure cookies the name carries the __Host- prefix, and the session
// is found under that name on the next request.
func TestSecureCookie(t *testing.T) {
	f := newFixture(t, session.Options{Policy: cookie.Policy{Secure: cookie.SecureAlways}})
	resp := f.serve(counter, "")
	var c *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-"+session.DefaultCookieName {
			c = ck
		}
	}
	if c == nil || !c.Secure || c.Path != "/" || c.Domain != "" {
		t.Fatalf("secure session cookie = %v; want __Host-%s, Secure, Path=/, no Domain", c, session.DefaultCookieName)
	}
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	f.mgr.Handler(http.HandlerFunc(counter)).ServeHTTP(w, r)
	if w.Body.String() != "2" {
		t.Errorf("second request under the __Host- name counted %q, want 2", w.Body.String())
	}
}
