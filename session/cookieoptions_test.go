package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// setCookieOf returns the Set-Cookie lines of resp whose cookie name ends
// with the default session cookie name, parsed.
func setCookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, line := range resp.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if len(c.Name) >= len(session.DefaultCookieName) && c.Name[len(c.Name)-len(session.DefaultCookieName):] == session.DefaultCookieName {
			return c
		}
	}
	return nil
}

// The cookie carries the attributes of Options.Policy, with the prefix
// browsers allow for them.
func TestSessionCookiePolicy(t *testing.T) {
	cases := []struct {
		name     string
		policy   cookie.Policy
		wantName string
		check    func(c *http.Cookie) bool
	}{
		{"default", cookie.Policy{}, "sk_session",
			func(c *http.Cookie) bool {
				return c.SameSite == http.SameSiteLaxMode && c.Path == "/" && c.Domain == "" && !c.Secure
			}},
		{"strict, shared by subdomains", cookie.Policy{Secure: cookie.SecureAlways, Domain: "example.com", SameSite: http.SameSiteStrictMode}, "__Secure-sk_session",
			func(c *http.Cookie) bool {
				return c.SameSite == http.SameSiteStrictMode && c.Domain == "example.com" && c.Secure && c.Path == "/"
			}},
		{"secure host-only", cookie.Policy{Secure: cookie.SecureAlways}, "__Host-sk_session",
			func(c *http.Cookie) bool { return c.Secure && c.Domain == "" && c.Path == "/" }},
		{"path", cookie.Policy{Secure: cookie.SecureAlways, Path: "/app"}, "__Secure-sk_session",
			func(c *http.Cookie) bool { return c.Path == "/app" }},
		{"none, partitioned", cookie.Policy{Secure: cookie.SecureAlways, SameSite: http.SameSiteNoneMode, Partitioned: true}, "__Host-sk_session",
			func(c *http.Cookie) bool { return c.SameSite == http.SameSiteNoneMode && c.Partitioned && c.Secure }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, session.Options{Policy: tc.policy})
			c := setCookieOf(t, f.serve(counter, ""))
			if c == nil {
				t.Fatal("no session cookie set")
			}
			if c.Name != tc.wantName || !c.HttpOnly || !tc.check(c) {
				t.Errorf("cookie %s", c)
			}
			// The browser brings it back under that name.
			url := "http://app.example.com/app/x"
			if c.Secure {
				url = "https://app.example.com/app/x"
			}
			r := httptest.NewRequest("GET", url, nil)
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			w := httptest.NewRecorder()
			f.mgr.Handler(http.HandlerFunc(counter)).ServeHTTP(w, r)
			if w.Body.String() != "2" {
				t.Errorf("the second request counted %q, want 2", w.Body.String())
			}
		})
	}
}

// Combinations browsers reject are refused by New.
func TestNewRefusesBadOptions(t *testing.T) {
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	cases := map[string]session.Options{
		"SameSite=None without Secure":    {Policy: cookie.Policy{SameSite: http.SameSiteNoneMode}},
		"SameSite=None with Secure auto":  {Policy: cookie.Policy{SameSite: http.SameSiteNoneMode, Secure: cookie.SecureAuto}},
		"Partitioned without Secure":      {Policy: cookie.Policy{Partitioned: true}},
		"malformed domain":                {Policy: cookie.Policy{Domain: "exa mple.com"}},
		"relative path":                   {Policy: cookie.Policy{Path: "app"}},
		"name with a space":               {CookieName: "my session"},
		"name with a prefix of its own":   {CookieName: "__Host-sid"},
		"name with a separator character": {CookieName: "sid;x"},
	}
	for name, opts := range cases {
		if m, err := session.New(st, opts); !errors.Is(err, session.ErrOptions) || m != nil {
			t.Errorf("%s: New = %v, %v; want ErrOptions", name, m, err)
		}
	}
}

// BrowserSession cookies have no Max-Age; SetRememberMe at login chooses
// per session, and the choice outlives a later Renew.
func TestRememberMe(t *testing.T) {
	login := func(remember *bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			s.Renew(r.Context())
			s.SetUser("alice")
			if remember != nil {
				s.SetRememberMe(*remember)
			}
		}
	}
	yes, no := true, false
	cases := []struct {
		name           string
		browserSession bool
		remember       *bool
		wantPersist    bool
	}{
		{"default persists", false, nil, true},
		{"browser session", true, nil, false},
		{"browser session, remember me", true, &yes, true},
		{"persistent, do not remember", false, &no, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, session.Options{BrowserSession: tc.browserSession, Lifetime: time.Hour})
			c := setCookieOf(t, f.serve(login(tc.remember), ""))
			if c == nil {
				t.Fatal("login set no cookie")
			}
			if persists := c.MaxAge > 0 || !c.Expires.IsZero(); persists != tc.wantPersist {
				t.Fatalf("login cookie %s: persistent %v, want %v", c, persists, tc.wantPersist)
			}
			// A later renewal (a privilege change) keeps the choice.
			c2 := setCookieOf(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
				session.From(r).Renew(r.Context())
			}, c.Value))
			if c2 == nil || c2.Value == c.Value {
				t.Fatalf("renewal set %v, want a new token", c2)
			}
			if persists := c2.MaxAge > 0; persists != tc.wantPersist {
				t.Errorf("renewed cookie %s: persistent %v, want %v", c2, persists, tc.wantPersist)
			}
		})
	}
}

// Changing the choice on a stored session sends the cookie again, with the
// same token.
func TestRememberMeLaterResendsCookie(t *testing.T) {
	f := newFixture(t, session.Options{BrowserSession: true, Lifetime: time.Hour})
	c := setCookieOf(t, f.serve(counter, ""))
	if c == nil || c.MaxAge != 0 {
		t.Fatalf("first cookie %v, want a browser-session cookie", c)
	}
	c2 := setCookieOf(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).SetRememberMe(true)
	}, c.Value))
	if c2 == nil || c2.Value != c.Value || c2.MaxAge != 3600 {
		t.Errorf("after SetRememberMe(true) the cookie is %v; want the same token with Max-Age=3600", c2)
	}
	if c3 := setCookieOf(t, f.serve(counter, c.Value)); c3 != nil {
		t.Errorf("a later request set the cookie again: %v", c3)
	}
}
