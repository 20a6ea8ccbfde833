package session_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// loginAs is a handler that logs a in: Renew, then SetAuth.
func loginAs(t *testing.T, a session.Auth) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil {
			t.Errorf("Renew: %v", err)
		}
		s.SetAuth(a)
	}
}

// storedRecord returns the record of token's session, failing the test
// when there is none.
func (f *fixture) storedRecord(token string) store.Record {
	f.t.Helper()
	rec, err := f.mem.Session(context.Background(), store.HashToken(token))
	if err != nil {
		f.t.Fatalf("the session's record: %v", err)
	}
	return rec
}

// TestSetAuthRoundTrip: whom a session belongs to is kept in the record's
// User, AccountID and AuthTime (with kind KindSession), not in its Data,
// and read back by the next request and by Load.
func TestSetAuthRoundTrip(t *testing.T) {
	proved := time.Date(2030, 1, 2, 3, 0, 0, 123_000_000, time.UTC)
	tests := []struct {
		name string
		set  func(s *session.Session)
		want func(now time.Time) session.Auth
	}{
		{"SetAuth with a time",
			func(s *session.Session) {
				s.SetAuth(session.Auth{User: "alice", AccountID: "acct-Zq3", Time: proved})
			},
			func(time.Time) session.Auth { return session.Auth{User: "alice", AccountID: "acct-Zq3", Time: proved} }},
		{"SetAuth with no time",
			func(s *session.Session) { s.SetAuth(session.Auth{User: "alice", AccountID: "acct-Zq3"}) },
			func(now time.Time) session.Auth { return session.Auth{User: "alice", AccountID: "acct-Zq3", Time: now} }},
		{"SetUser",
			func(s *session.Session) { s.SetUser("alice") },
			func(now time.Time) session.Auth { return session.Auth{User: "alice", Time: now} }},
		{"SetAuth of nobody",
			func(s *session.Session) {
				s.SetAuth(session.Auth{User: "alice", AccountID: "acct-Zq3", Time: proved})
				s.SetAuth(session.Auth{AccountID: "acct-Zq3", Time: proved})
				s.Increment("n", 1) // something to store
			},
			func(time.Time) session.Auth { return session.Auth{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, session.Options{})
			var inRequest session.Auth
			token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				tt.set(s)
				inRequest = s.Auth()
			}, ""))
			want := tt.want(f.clock.Now())
			if inRequest != want {
				t.Errorf("Auth() in the request = %+v, want %+v", inRequest, want)
			}
			rec := f.storedRecord(token)
			if rec.Kind != store.KindSession || rec.User != want.User || rec.AccountID != want.AccountID || !rec.AuthTime.Equal(want.Time) {
				t.Errorf("stored record: kind %q, user %q, account %q, auth time %v; want %q, %+v",
					rec.Kind, rec.User, rec.AccountID, rec.AuthTime, store.KindSession, want)
			}
			if want.AccountID != "" && bytes.Contains(rec.Data, []byte(want.AccountID)) {
				t.Errorf("the account ID is in the record's Data: %q", rec.Data)
			}

			f.clock.Advance(time.Minute)
			var next session.Auth
			f.serve(func(w http.ResponseWriter, r *http.Request) { next = session.From(r).Auth() }, token)
			if next != want {
				t.Errorf("Auth() in the next request = %+v, want %+v", next, want)
			}
			if next.User != "" {
				if age := next.Age(f.clock.Now()); age != f.clock.Now().Sub(want.Time) {
					t.Errorf("Age = %v, want %v", age, f.clock.Now().Sub(want.Time))
				}
			}
			s, err := f.mgr.Load(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Auth(); got != want || s.User() != want.User {
				t.Errorf("Load: Auth() = %+v, User() = %q; want %+v", got, s.User(), want)
			}
		})
	}
}

// TestSetAuthReauthenticate: proving again (SetAuth with a later time) on
// a stored session moves its auth time forward in the store, keeping its
// values; setting the same Auth again writes nothing.
func TestSetAuthReauthenticate(t *testing.T) {
	f := newFixture(t, session.Options{})
	first := f.clock.Now()
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.SetAuth(session.Auth{User: "alice", AccountID: "acct-Zq3"})
		s.Increment("n", 1)
	}, ""))
	f.clock.Advance(30 * time.Minute)
	f.serve(reader, token) // extends the idle deadline (a save of its own)
	saves := f.store.saves.Load()
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).SetAuth(session.Auth{User: "alice", AccountID: "acct-Zq3", Time: first})
	}, token)
	if n := f.store.saves.Load() - saves; n != 0 {
		t.Errorf("setting the same Auth again saved %d times", n)
	}
	second := f.clock.Now()
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).SetAuth(session.Auth{User: "alice", AccountID: "acct-Zq3", Time: second})
	}, token)
	rec := f.storedRecord(token)
	if !rec.AuthTime.Equal(second) || rec.AccountID != "acct-Zq3" || rec.Kind != store.KindSession {
		t.Errorf("after re-authenticating: kind %q, account %q, auth time %v; want auth time %v", rec.Kind, rec.AccountID, rec.AuthTime, second)
	}
	if n := f.count(token); n != 1 {
		t.Errorf("re-authenticating lost the session's values (count %d)", n)
	}
}

// checker is an Options.CheckAuth whose answer the test sets, recording
// what it was asked.
type checker struct {
	mu    sync.Mutex
	asked []session.Auth
	ok    bool
	err   error
}

func (c *checker) check(_ context.Context, a session.Auth) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, a)
	return c.ok, c.err
}

func (c *checker) set(ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ok, c.err, c.asked = ok, err, nil
}

func (c *checker) questions() []session.Auth {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]session.Auth(nil), c.asked...)
}

// TestCheckAuthEnded: when CheckAuth says a session's login no longer
// stands, the request's handler sees a session of nobody, the record is
// deleted from the store, and the response removes the cookie; a handler
// that stores something gets a new session, never the old one back.
func TestCheckAuthEnded(t *testing.T) {
	for _, writes := range []bool{false, true} {
		name := "handler reads"
		if writes {
			name = "handler writes"
		}
		t.Run(name, func(t *testing.T) {
			c := &checker{ok: true}
			f := newFixture(t, session.Options{CheckAuth: c.check})
			auth := session.Auth{User: "alice", AccountID: "acct-Zq3", Time: f.clock.Now()}
			token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
				loginAs(t, auth)(w, r)
				session.From(r).Increment("n", 1)
			}, ""))
			anon := mustToken(t, f.serve(counter, ""))

			c.set(false, nil)
			var sawUser string
			var sawAuth session.Auth
			var sawN int64
			resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				sawUser, sawAuth = s.User(), s.Auth()
				sawN, _ = session.Get[int64](s, "n")
				if writes {
					s.Increment("m", 1)
				}
			}, token)
			if q := c.questions(); len(q) != 1 || q[0] != auth {
				t.Errorf("CheckAuth was asked %+v, want once about %+v", q, auth)
			}
			if sawUser != "" || sawAuth != (session.Auth{}) || sawN != 0 {
				t.Errorf("the handler saw user %q, auth %+v, n %d; want an empty session", sawUser, sawAuth, sawN)
			}
			if _, err := f.mem.Session(context.Background(), store.HashToken(token)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the ended session's record: %v, want it deleted", err)
			}
			if !writes {
				wantCookieRemoved(t, resp, "a session whose login ended")
			} else if newToken := mustToken(t, resp); newToken == token {
				t.Errorf("the ended session's token was stored again")
			} else if rec := f.storedRecord(newToken); rec.User != "" {
				t.Errorf("the new session belongs to %q, want nobody", rec.User)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want the handler's 200", resp.StatusCode)
			}
			// Sessions of nobody are not asked about.
			c.set(false, nil)
			if n := f.count(anon); n != 1 {
				t.Errorf("an anonymous session was ended (count %d)", n)
			}
			if q := c.questions(); len(q) != 0 {
				t.Errorf("CheckAuth was asked about an anonymous session: %+v", q)
			}
		})
	}
}

// TestCheckAuthLoad: Load asks CheckAuth too: an ended login is
// ErrNoSession (and its record goes), an error is not.
func TestCheckAuthLoad(t *testing.T) {
	c := &checker{ok: true}
	f := newFixture(t, session.Options{CheckAuth: c.check})
	token := mustToken(t, f.serve(loginAs(t, session.Auth{User: "alice", AccountID: "acct-Zq3"}), ""))
	ctx := context.Background()
	if s, err := f.mgr.Load(ctx, token); err != nil || s.User() != "alice" {
		t.Fatalf("Load while the login stands: %v", err)
	}
	c.set(false, errDown)
	if _, err := f.mgr.Load(ctx, token); !errors.Is(err, errDown) || errors.Is(err, session.ErrNoSession) {
		t.Errorf("Load when CheckAuth fails = %v, want its error, not ErrNoSession", err)
	}
	f.storedRecord(token) // still there
	c.set(false, nil)
	if _, err := f.mgr.Load(ctx, token); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Load of an ended login = %v, want ErrNoSession", err)
	}
	if _, err := f.mem.Session(ctx, store.HashToken(token)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the ended session's record: %v, want it deleted", err)
	}
}

// TestCheckAuthError: when CheckAuth cannot answer, the request answers
// through ErrorHandler (503 by default), its handler does not run, and the
// session is kept for when the check works again.
func TestCheckAuthError(t *testing.T) {
	for _, custom := range []bool{false, true} {
		c := &checker{ok: true}
		var handled error
		opts := session.Options{CheckAuth: c.check}
		if custom {
			opts.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
				handled = err
				http.Error(w, "later", http.StatusServiceUnavailable)
			}
		}
		f := newFixture(t, opts)
		token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
			loginAs(t, session.Auth{User: "alice", AccountID: "acct-Zq3"})(w, r)
			session.From(r).Increment("n", 1)
		}, ""))
		c.set(true, errDown)
		ran := false
		resp := f.serve(func(w http.ResponseWriter, r *http.Request) { ran = true }, token)
		if resp.StatusCode != http.StatusServiceUnavailable || ran {
			t.Errorf("custom ErrorHandler %v: status %d, handler ran %v; want 503 and not run", custom, resp.StatusCode, ran)
		}
		if custom && !errors.Is(handled, errDown) {
			t.Errorf("ErrorHandler got %v, want CheckAuth's error", handled)
		}
		if c := sessionCookie(resp); c != nil {
			t.Errorf("a failed check touched the cookie: %v", c)
		}
		c.set(true, nil)
		if n := f.count(token); n != 1 {
			t.Errorf("after the check works again the session holds %d, want 1", n)
		}
	}
}

// recentAuthRequest serves one request, with token's session cookie (none
// when ""), through RequireRecentAuth(5m, reauthURL, returnTo), and
// reports whether the protected handler ran.
func recentAuthRequest(t *testing.T, f *fixture, token, method, target, reauthURL, returnTo string) (*httptest.ResponseRecorder, bool) {
	t.Helper()
	ran := false
	h := f.mgr.Handler(f.mgr.RequireRecentAuth(5*time.Minute, reauthURL, returnTo)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		w.Write([]byte("sensitive page"))
	})))
	r := httptest.NewRequest(method, target, nil)
	if token != "" {
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, ran
}

// TestRequireRecentAuth: the handler runs only for a user who proved who
// they are within maxAge; any other request goes (303) to the
// re-authentication page, told where to come back.
func TestRequireRecentAuth(t *testing.T) {
	const target = "/account/delete?confirm=yes&note=a%20b%26c"
	tests := []struct {
		name      string
		login     bool          // log in first
		age       time.Duration // then wait this long
		method    string
		reauthURL string
		returnTo  string
		wantNext  string // "" when the handler should run
		wantLoc   string // the whole Location, when wantNext is not enough
	}{
		{name: "recent", login: true, age: 2 * time.Minute, method: "GET"},
		{name: "exactly maxAge", login: true, age: 5 * time.Minute, method: "GET"},
		{name: "recent POST", login: true, age: time.Minute, method: "POST", returnTo: "/account"},
		{name: "old GET", login: true, age: 5*time.Minute + time.Second, method: "GET", reauthURL: "/reauth",
			wantNext: target},
		{name: "old HEAD", login: true, age: time.Hour, method: "HEAD", reauthURL: "/reauth",
			wantNext: target},
		{name: "old POST", login: true, age: time.Hour, method: "POST", reauthURL: "/reauth", returnTo: "/account",
			wantNext: "/account"},
		{name: "old POST, no returnTo", login: true, age: time.Hour, method: "POST", reauthURL: "/reauth",
			wantNext: "/", wantLoc: "/reauth?next=%2F"},
		{name: "no user", method: "GET", reauthURL: "/reauth", wantNext: target},
		{name: "no user POST", method: "DELETE", reauthURL: "/reauth", returnTo: "/account", wantNext: "/account"},
		{name: "reauthURL with a query", login: true, age: time.Hour, method: "GET", reauthURL: "/reauth?lang=en",
			wantNext: target, wantLoc: "/reauth?lang=en&next=" + url.QueryEscape(target)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, session.Options{})
			token := ""
			if tt.login {
				token = mustToken(t, f.serve(loginAs(t, session.Auth{User: "alice", AccountID: "acct-Zq3"}), ""))
			}
			f.clock.Advance(tt.age)
			w, ran := recentAuthRequest(t, f, token, tt.method, target, tt.reauthURL, tt.returnTo)
			if tt.wantNext == "" {
				if !ran || w.Code != http.StatusOK {
					t.Errorf("status %d, handler ran %v; want it to run", w.Code, ran)
				}
				return
			}
			if ran || w.Code != http.StatusSeeOther {
				t.Fatalf("status %d, handler ran %v; want 303 and not run", w.Code, ran)
			}
			loc := w.Header().Get("Location")
			want := tt.wantLoc
			if want == "" {
				want = tt.reauthURL + "?next=" + url.QueryEscape(tt.wantNext)
			}
			if loc != want {
				t.Errorf("Location %q, want %q", loc, want)
			}
			u, err := url.Parse(loc)
			if err != nil || u.Query().Get("next") != tt.wantNext {
				t.Errorf("Location %q gives next %q, want %q", loc, u.Query().Get("next"), tt.wantNext)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
		})
	}
}

// TestRequireRecentAuthAfterReauth: re-authenticating (SetAuth with the
// time of the new proof) lets the same session through again.
func TestRequireRecentAuthAfterReauth(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(loginAs(t, session.Auth{User: "alice", AccountID: "acct-Zq3"}), ""))
	f.clock.Advance(30 * time.Minute)
	if w, ran := recentAuthRequest(t, f, token, "GET", "/account/delete", "/reauth", ""); ran || w.Code != http.StatusSeeOther {
		t.Fatalf("half an hour after login: %d, ran %v; want 303", w.Code, ran)
	}
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		a := s.Auth()
		a.Time = time.Time{} // now
		if err := s.Renew(r.Context()); err != nil {
			t.Error(err)
		}
		s.SetAuth(a)
	}, token)
	renewed := mustToken(t, resp)
	if w, ran := recentAuthRequest(t, f, renewed, "GET", "/account/delete", "/reauth", ""); !ran || w.Code != http.StatusOK {
		t.Errorf("after re-authenticating: %d, ran %v; want the handler to run", w.Code, ran)
	}
	if w, ran := recentAuthRequest(t, f, token, "GET", "/account/delete", "/reauth", ""); ran || w.Code != http.StatusSeeOther {
		t.Errorf("the token from before Renew: %d, ran %v; want 303", w.Code, ran)
	}
	// Renew gave the session a new token; the old one is gone.
	recs, err := f.mgr.Sessions(context.Background(), "alice")
	if err != nil || len(recs) != 1 {
		t.Fatalf("alice has %d sessions, %v; want 1", len(recs), err)
	}
	if !recs[0].AuthTime.Equal(f.clock.Now()) {
		t.Errorf("auth time after re-authenticating %v, want %v", recs[0].AuthTime, f.clock.Now())
	}
}

// foreignRecord is a login of user of another kind, in the store the
// manager uses.
func (f *fixture) foreignRecord(user string, kind store.Kind, token string) store.Record {
	f.t.Helper()
	now := f.clock.Now()
	rec := store.Record{
		ID: store.HashToken(token), Kind: kind, User: user, AccountID: "acct-" + user, AuthTime: now,
		Data: []byte("SKRF\x01 not a session"), Created: now.Add(-time.Hour), LastSeen: now, Expires: now.Add(time.Hour),
	}
	if _, err := f.mem.SaveSession(context.Background(), rec); err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// TestOtherKindsLeftAlone: DestroyAll and DestroySession end only
// sessions (kind KindSession, or no kind), and a cookie naming a record of
// another kind finds no session and leaves the record alone.
func TestOtherKindsLeftAlone(t *testing.T) {
	f := newFixture(t, session.Options{})
	ctx := context.Background()
	login := loginAs(t, session.Auth{User: "bob", AccountID: "acct-bob"})
	a := mustToken(t, f.serve(login, ""))
	b := mustToken(t, f.serve(login, ""))
	// A session of bob's written before kinds existed.
	legacy := mustToken(t, f.serve(login, ""))
	rec := f.storedRecord(legacy)
	rec.Kind = ""
	if _, err := f.mem.SaveSession(ctx, rec); err != nil {
		t.Fatal(err)
	}
	family := f.foreignRecord("bob", store.KindRefreshFamily, "family")
	cookieLogin := f.foreignRecord("bob", store.KindCookieLogin, "cookie login")
	appLogin := f.foreignRecord("bob", "app-login", "app login")
	foreign := []store.Record{family, cookieLogin, appLogin}

	for _, r := range foreign {
		if err := f.mgr.DestroySession(ctx, "bob", r.ID); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("DestroySession of a %q record = %v, want ErrNoSession", r.Kind, err)
		}
	}
	n, err := f.mgr.DestroyAll(ctx, "bob")
	if err != nil || n != 3 {
		t.Errorf("DestroyAll = %d, %v; want 3 (the sessions only)", n, err)
	}
	for _, tok := range []string{a, b, legacy} {
		if _, err := f.mem.Session(ctx, store.HashToken(tok)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a session survived DestroyAll: %v", err)
		}
	}
	for _, r := range foreign {
		got, err := f.mem.Session(ctx, r.ID)
		if err != nil || got.Kind != r.Kind || !bytes.Equal(got.Data, r.Data) {
			t.Errorf("bob's %q record: %+v, %v; want it untouched", r.Kind, got, err)
		}
	}
}

// TestOtherKindNotAdopted: a cookie that names a record of another kind
// (a refresh family, a cookie login) finds no session; the record is not
// the middleware's to change or delete.
func TestOtherKindNotAdopted(t *testing.T) {
	f := newFixture(t, session.Options{})
	ctx := context.Background()
	token := mustToken(t, f.serve(loginAs(t, session.Auth{User: "bob", AccountID: "acct-bob"}), ""))
	rec := f.storedRecord(token)
	rec.Kind = store.KindRefreshFamily
	if _, err := f.mem.SaveSession(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var user string
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) { user = session.From(r).User() }, token)
	if user != "" {
		t.Errorf("a cookie naming a refresh family gave a session of %q", user)
	}
	wantCookieRemoved(t, resp, "a record of another kind")
	if _, err := f.mgr.Load(ctx, token); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Load of a refresh family = %v, want ErrNoSession", err)
	}
	if got := f.storedRecord(token); got.Kind != store.KindRefreshFamily {
		t.Errorf("the record's kind became %q", got.Kind)
	}
}
