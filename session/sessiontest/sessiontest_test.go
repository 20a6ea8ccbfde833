package sessiontest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/session/sessiontest"
)

type item struct {
	Name string
	Qty  int
}

type profile struct {
	Name  string
	Admin bool
}

// token returns the fixture's current token, "" when it holds no session.
func token(t *testing.T, f *sessiontest.Fixture) string {
	t.Helper()
	if !f.HasSession() {
		return ""
	}
	return f.Session().Token()
}

// gone reports whether tok names no live session any more.
func gone(t *testing.T, f *sessiontest.Fixture, tok string) bool {
	t.Helper()
	_, err := f.Manager().Load(context.Background(), tok)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Load: %v", err)
	}
	return errors.Is(err, session.ErrNoSession)
}

func cartOf(t *testing.T, f *sessiontest.Fixture) []item {
	t.Helper()
	cart, ok := session.Get[[]item](f.Session(), "cart")
	if !ok {
		t.Fatalf("no cart in the session; keys %v", f.Session().Keys())
	}
	return cart
}

// TestHandlers runs handlers of each kind behind a fixture and checks what
// they saw (the response) and what they left in the session.
func TestHandlers(t *testing.T) {
	withAlice := func(f *sessiontest.Fixture) {
		f.Set(func(s *session.Session) error {
			s.SetUser("alice")
			return errors.Join(
				session.Put(s, "greeting", "hello"),
				session.Put(s, "cart", []item{{"apple", 2}}),
			)
		})
	}
	tests := []struct {
		name    string
		setup   func(f *sessiontest.Fixture) // nil: an anonymous browser
		method  string                       // "" means GET
		handler http.HandlerFunc
		code    int
		body    string
		check   func(t *testing.T, f *sessiontest.Fixture, before string)
	}{{
		name:  "reads values and user",
		setup: withAlice,
		handler: func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			greeting, _ := session.Get[string](s, "greeting")
			cart, _ := session.Get[[]item](s, "cart")
			fmt.Fprintf(w, "%s %s, %d in cart", greeting, s.User(), len(cart))
		},
		code: http.StatusOK,
		body: "hello alice, 1 in cart",
		check: func(t *testing.T, f *sessiontest.Fixture, before string) {
			if after := token(t, f); after != before {
				t.Errorf("a handler that only read changed the token")
			}
		},
	}, {
		name:  "puts a struct and appends with Update",
		setup: withAlice,
		handler: func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			if err := session.Put(s, "profile", profile{Name: "Alice A.", Admin: true}); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			cart, err := session.Update(s, "cart", func(c []item) []item {
				return append(c, item{"pear", 1})
			})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%d in cart", len(cart))
		},
		code: http.StatusOK,
		body: "2 in cart",
		check: func(t *testing.T, f *sessiontest.Fixture, _ string) {
			s := f.Session()
			if got, want := cartOf(t, f), []item{{"apple", 2}, {"pear", 1}}; !slices.Equal(got, want) {
				t.Errorf("cart = %v, want %v", got, want)
			}
			if p, ok := session.Get[profile](s, "profile"); !ok || p != (profile{"Alice A.", true}) {
				t.Errorf("profile = %+v, %v", p, ok)
			}
			if got, want := s.Keys(), []string{"cart", "greeting", "profile"}; !slices.Equal(got, want) {
				t.Errorf("keys = %v, want %v", got, want)
			}
			if s.User() != "alice" {
				t.Errorf("user = %q", s.User())
			}
		},
	}, {
		name:   "login renews and sets the user",
		method: http.MethodPost,
		setup: func(f *sessiontest.Fixture) {
			f.Set(func(s *session.Session) error { return session.Put(s, "cart", []item{{"fig", 3}}) })
		},
		handler: func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			if err := s.Renew(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			s.SetUser("bob")
			http.Redirect(w, r, "/profile", http.StatusSeeOther)
		},
		code: http.StatusSeeOther,
		check: func(t *testing.T, f *sessiontest.Fixture, before string) {
			after := token(t, f)
			if after == "" || after == before {
				t.Fatalf("the fixture did not follow the renewed token")
			}
			if !gone(t, f, before) {
				t.Errorf("the token from before login still works")
			}
			if u := f.Session().User(); u != "bob" {
				t.Errorf("user = %q, want bob", u)
			}
			if got := cartOf(t, f); !slices.Equal(got, []item{{"fig", 3}}) {
				t.Errorf("the cart did not survive login: %v", got)
			}
		},
	}, {
		name:   "logout destroys",
		method: http.MethodPost,
		setup:  withAlice,
		handler: func(w http.ResponseWriter, r *http.Request) {
			if err := session.From(r).Destroy(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		},
		code: http.StatusSeeOther,
		check: func(t *testing.T, f *sessiontest.Fixture, before string) {
			if f.HasSession() {
				t.Errorf("the fixture still holds a session after logout")
			}
			if !gone(t, f, before) {
				t.Errorf("the token from before logout still works")
			}
			// Like a browser, the fixture dropped the removed cookie.
			next := f.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, r.Header.Get("Cookie"))
			}), nil)
			if c := next.Body.String(); c != "" {
				t.Errorf("the request after logout carried Cookie %q", c)
			}
		},
	}, {
		name: "anonymous request sends no cookie",
		handler: func(w http.ResponseWriter, r *http.Request) {
			if c := r.Header.Get("Cookie"); c != "" {
				fmt.Fprintf(w, "cookie %q", c)
				return
			}
			s := session.From(r)
			fmt.Fprintf(w, "user %q, keys %v", s.User(), s.Keys())
		},
		code: http.StatusOK,
		body: `user "", keys []`,
		check: func(t *testing.T, f *sessiontest.Fixture, _ string) {
			if f.HasSession() {
				t.Errorf("an anonymous request that stored nothing left a session")
			}
		},
	}, {
		name: "anonymous request stores a first value",
		handler: func(w http.ResponseWriter, r *http.Request) {
			if err := session.Put(session.From(r), "lang", "fr"); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		},
		code: http.StatusOK,
		check: func(t *testing.T, f *sessiontest.Fixture, _ string) {
			if !f.HasSession() {
				t.Fatalf("the fixture did not follow the new session's cookie")
			}
			if lang, _ := session.Get[string](f.Session(), "lang"); lang != "fr" {
				t.Errorf("lang = %q", lang)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sessiontest.New(t, session.Options{})
			if tt.setup != nil {
				tt.setup(f)
			}
			before := token(t, f)
			if (tt.setup != nil) != (before != "") {
				t.Fatalf("after setup: token %q", before)
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			resp := f.Serve(tt.handler, httptest.NewRequest(method, "/", nil))
			if resp.Code != tt.code || resp.Body.String() != tt.body {
				t.Errorf("response = %d %q, want %d %q", resp.Code, resp.Body.String(), tt.code, tt.body)
			}
			tt.check(t, f, before)
		})
	}
}

// TestFixtureIsWhatPasses checks that the test above would catch a helper
// that did not pass the session: the same handler, served by the same
// Manager without the fixture's cookie, answers otherwise.
func TestFixtureIsWhatPasses(t *testing.T) {
	f := sessiontest.New(t, session.Options{})
	f.Set(func(s *session.Session) error { s.SetUser("alice"); return nil })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %q", session.From(r).User())
	})
	if got := f.Serve(h, nil).Body.String(); got != `user "alice"` {
		t.Errorf("through the fixture: %s", got)
	}
	w := httptest.NewRecorder()
	f.Manager().Handler(h).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := w.Body.String(); got != `user ""` {
		t.Errorf("without the fixture's cookie: %s", got)
	}
}

// TestRequests checks that each request carries the session under the name
// the Manager reads for it (prefixed when Secure), whatever the scheme of the
// request Set used, keeps the request's other cookies, and replaces a
// session cookie of the request's own.
func TestRequests(t *testing.T) {
	tests := []struct {
		name   string
		opts   session.Options
		target string
		cookie string // the session cookie's name the handler must see
	}{
		{"default", session.Options{}, "/", "sk_session"},
		{"https", session.Options{}, "https://example.com/", "__Host-sk_session"},
		{"always secure", session.Options{Policy: cookie.Policy{Secure: cookie.SecureAlways}}, "/", "__Host-sk_session"},
		{"secure with domain", session.Options{Policy: cookie.Policy{Secure: cookie.SecureAlways, Domain: "example.com"}}, "/", "__Secure-sk_session"},
		{"never secure over https", session.Options{Policy: cookie.Policy{Secure: cookie.SecureNever}}, "https://example.com/", "sk_session"},
		{"own name", session.Options{CookieName: "sid"}, "https://example.com/", "__Host-sid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sessiontest.New(t, tt.opts)
			f.Set(func(s *session.Session) error { s.SetUser("alice"); return nil })
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var names []string
				for _, c := range r.Cookies() {
					names = append(names, c.Name)
				}
				s := session.From(r)
				n := s.Increment("views", 1)
				if r.URL.Query().Has("login") {
					if err := s.Renew(r.Context()); err != nil {
						http.Error(w, err.Error(), http.StatusServiceUnavailable)
						return
					}
				}
				fmt.Fprintf(w, "%s %d %v", s.User(), n, names)
			})
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
			r.AddCookie(&http.Cookie{Name: tt.cookie, Value: "stale"})
			want := fmt.Sprintf("alice 1 [theme %s]", tt.cookie)
			if got := f.Serve(h, r).Body.String(); got != want {
				t.Errorf("first request: %q, want %q", got, want)
			}
			if got := r.Header.Get("Cookie"); got != "theme=dark; "+tt.cookie+"=stale" {
				t.Errorf("Serve changed the caller's request: Cookie %q", got)
			}
			before := token(t, f)
			login := httptest.NewRequest(http.MethodPost, tt.target+"?login", nil)
			want = fmt.Sprintf("alice 2 [%s]", tt.cookie)
			if got := f.Serve(h, login).Body.String(); got != want {
				t.Errorf("login: %q, want %q", got, want)
			}
			if after := token(t, f); after == before || !gone(t, f, before) {
				t.Errorf("the fixture did not follow the renewal")
			}
			if got := f.Serve(h, httptest.NewRequest(http.MethodGet, tt.target, nil)).Body.String(); !strings.HasPrefix(got, "alice 3 ") {
				t.Errorf("after login: %q", got)
			}
		})
	}
}

// TestSetAddsUp checks that Set sees what earlier calls and handlers stored.
func TestSetAddsUp(t *testing.T) {
	f := sessiontest.New(t, session.Options{})
	f.Set(func(s *session.Session) error { return session.Put(s, "a", 1) })
	f.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.Put(session.From(r), "b", 2)
	}), nil)
	var seen []string
	f.Set(func(s *session.Session) error {
		seen = s.Keys()
		return session.Put(s, "c", 3)
	})
	if !slices.Equal(seen, []string{"a", "b"}) {
		t.Errorf("Set saw keys %v, want [a b]", seen)
	}
	if got := f.Session().Keys(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("keys = %v", got)
	}
}

// TestSessionIsACopy checks that changing what Session returns stores nothing.
func TestSessionIsACopy(t *testing.T) {
	f := sessiontest.New(t, session.Options{})
	f.Set(func(s *session.Session) error { return session.Put(s, "n", 1) })
	if err := session.Put(f.Session(), "n", 2); err != nil {
		t.Fatal(err)
	}
	if n, _ := session.Get[int](f.Session(), "n"); n != 1 {
		t.Errorf("n = %d, want 1", n)
	}
}

// TestClock checks that opts.Now is the clock of the Manager and the store:
// a session idle past IdleTimeout is over.
func TestClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	f := sessiontest.New(t, session.Options{Now: clock, IdleTimeout: 10 * time.Minute})
	f.Set(func(s *session.Session) error { s.SetUser("alice"); return nil })
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, session.From(r).User())
	})
	advance(9 * time.Minute)
	if got := f.Serve(who, nil).Body.String(); got != "alice" {
		t.Errorf("after 9 minutes: %q", got)
	}
	advance(9 * time.Minute) // the last request extended the idle deadline
	if !f.HasSession() {
		t.Fatalf("the session ended though it was used 9 minutes ago")
	}
	advance(11 * time.Minute)
	if f.HasSession() {
		t.Errorf("the session outlived its idle timeout")
	}
	if got := f.Serve(who, nil).Body.String(); got != "" {
		t.Errorf("an expired session still served user %q", got)
	}
}

// fakeTB records the failure of the code it is given.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatal runs fn with a fakeTB and returns the message it failed with, ""
// when it did not fail.
func fatal(t *testing.T, fn func(tb testing.TB)) string {
	tb := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.msg
}

// TestFailures checks that misuse fails the test with a clear message.
func TestFailures(t *testing.T) {
	tests := []struct {
		name string
		fn   func(tb testing.TB)
		want string // in the message; "" when the test must not fail
	}{{
		name: "bad options",
		fn:   func(tb testing.TB) { sessiontest.New(tb, session.Options{CookieName: "a b"}) },
		want: "sessiontest.New: session: invalid options",
	}, {
		name: "Set's fn fails",
		fn: func(tb testing.TB) {
			f := sessiontest.New(tb, session.Options{})
			f.Set(func(s *session.Session) error { return session.Put(s, "ch", make(chan int)) })
		},
		want: "sessiontest: Set: session: put \"ch\"",
	}, {
		name: "Set cannot save",
		fn: func(tb testing.TB) {
			f := sessiontest.New(tb, session.Options{MaxDataBytes: 64})
			f.Set(func(s *session.Session) error {
				for i := range 10 {
					s.Increment(fmt.Sprint("counter", i), 1)
				}
				return nil
			})
		},
		want: "sessiontest: Set: saving the session failed: 500",
	}, {
		name: "Session when anonymous",
		fn:   func(tb testing.TB) { sessiontest.New(tb, session.Options{}).Session() },
		want: "the fixture holds no session",
	}, {
		name: "Session after logout",
		fn: func(tb testing.TB) {
			f := sessiontest.New(tb, session.Options{})
			f.Set(func(s *session.Session) error { s.SetUser("alice"); return nil })
			f.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				session.From(r).Destroy(r.Context())
			}), nil)
			f.Session()
		},
		want: "the fixture holds no session",
	}, {
		name: "Session after Set",
		fn: func(tb testing.TB) {
			f := sessiontest.New(tb, session.Options{})
			f.Set(func(s *session.Session) error { s.SetUser("alice"); return nil })
			if f.Session().User() != "alice" {
				tb.Fatalf("wrong user")
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := fatal(t, tt.fn)
			switch {
			case tt.want == "" && msg != "":
				t.Errorf("failed: %s", msg)
			case tt.want != "" && !strings.Contains(msg, tt.want):
				t.Errorf("failure %q, want one containing %q", msg, tt.want)
			}
		})
	}
}

// TestConcurrentServe checks that one fixture serves concurrent requests
// and that Update keeps every append.
func TestConcurrentServe(t *testing.T) {
	f := sessiontest.New(t, session.Options{})
	f.Set(func(s *session.Session) error { return session.Put(s, "cart", []item{}) })
	add := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := session.Update(session.From(r), "cart", func(c []item) []item {
			return append(c, item{r.URL.Query().Get("name"), 1})
		}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if resp := f.Serve(add, httptest.NewRequest(http.MethodPost, fmt.Sprintf("/?name=i%d", i), nil)); resp.Code != http.StatusOK {
				t.Errorf("%d %s", resp.Code, resp.Body)
			}
		})
	}
	wg.Wait()
	if n := len(cartOf(t, f)); n != 20 {
		t.Errorf("cart has %d items, want 20", n)
	}
}
