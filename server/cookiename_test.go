package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
)

// cookieHeaderTokens are the credentials of two users, victim and
// mallory, as their browsers hold them: mallory plays the sibling site of
// the domain that plants its own cookies beside the victim's.
type cookieHeaderTokens struct {
	victimAccess, victimExpired, victimRefresh string
	victimEarlyRefresh                         string
	malloryAccess, malloryRefresh              string
	victimSession, mallorySession              string
}

// newCookieHeaderTokens logs victim and mallory in; victimExpired is an
// access token of an earlier login of the victim's, expired since, whose
// login still stands, with victimEarlyRefresh, that login's refresh
// token.
func newCookieHeaderTokens(t *testing.T, f *jwtFixture) cookieHeaderTokens {
	t.Helper()
	var tk cookieHeaderTokens
	early := newBrowser(t, f.url)
	early.register("victim", "victim's password")
	early.login("jwt", "victim", "victim's password")
	tk.victimExpired, tk.victimEarlyRefresh = early.cookie("sk_access"), early.refreshCookie()
	f.clock.Advance(16 * time.Minute)

	v := newBrowser(t, f.url)
	v.login("jwt", "victim", "victim's password")
	v.login("session", "victim", "victim's password")
	tk.victimAccess, tk.victimRefresh, tk.victimSession = v.cookie("sk_access"), v.refreshCookie(), v.cookie("sk_session")

	m := newBrowser(t, f.url)
	m.register("mallory", "mallory's password")
	m.login("jwt", "mallory", "mallory's password")
	m.login("session", "mallory", "mallory's password")
	tk.malloryAccess, tk.malloryRefresh, tk.mallorySession = m.cookie("sk_access"), m.refreshCookie(), m.cookie("sk_session")
	return tk
}

// sendCookies sends method path with exactly the Cookie header given.
func sendCookies(t *testing.T, base, method, path, cookieHeader string) response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookieHeader)
	return newBrowser(t, base).do(req)
}

// TestSeveralCookiesOfOneName sends the profile, refresh and logout routes
// the victim's cookies beside cookies of the same names: garbage, the
// victim's own expired token, and mallory's valid ones. A cookie that
// verifies wins over ones that do not; two valid ones are ambiguous and
// neither is used; two refresh cookies are never spent.
func TestSeveralCookiesOfOneName(t *testing.T) {
	type tokens = cookieHeaderTokens
	cases := []struct {
		name    string
		method  string
		path    string
		cookies func(tk tokens) string
		status  int
		// location is the redirect's prefix; greeting the profile's.
		location, greeting string
		// cleared: the answer expires the browser's access cookie.
		cleared bool
		// after checks what the request left behind.
		after func(t *testing.T, f *jwtFixture, tk tokens)
	}{
		{name: "jwt: the victim's token alone", method: "GET", path: "/jwt/profile", status: 200, greeting: "welcome victim",
			cookies: func(tk tokens) string { return "sk_access=" + tk.victimAccess }},
		{name: "jwt: garbage first", method: "GET", path: "/jwt/profile", status: 200, greeting: "welcome victim",
			cookies: func(tk tokens) string { return "sk_access=garbage; sk_access=" + tk.victimAccess }},
		{name: "jwt: garbage last", method: "GET", path: "/jwt/profile", status: 200, greeting: "welcome victim",
			cookies: func(tk tokens) string { return "sk_access=" + tk.victimAccess + "; sk_access=garbage" }},
		{name: "jwt: the same token twice", method: "GET", path: "/jwt/profile", status: 200, greeting: "welcome victim",
			cookies: func(tk tokens) string { return "sk_access=" + tk.victimAccess + "; sk_access=" + tk.victimAccess }},
		{name: "jwt: an expired token beside a valid one", method: "GET", path: "/jwt/profile", status: 200, greeting: "welcome mallory",
			cookies: func(tk tokens) string { return "sk_access=" + tk.victimExpired + "; sk_access=" + tk.malloryAccess }},
		{name: "jwt: an expired token beside garbage", method: "GET", path: "/jwt/profile", status: 303, location: "/jwt/refresh",
			cookies: func(tk tokens) string { return "sk_access=garbage; sk_access=" + tk.victimExpired }},
		{name: "jwt: two valid tokens", method: "GET", path: "/jwt/profile", status: 303, location: "/jwt/login", cleared: true,
			cookies: func(tk tokens) string { return "sk_access=" + tk.victimAccess + "; sk_access=" + tk.malloryAccess }},
		{name: "jwt: two valid tokens, the other order", method: "GET", path: "/jwt/profile", status: 303, location: "/jwt/login", cleared: true,
			cookies: func(tk tokens) string { return "sk_access=" + tk.malloryAccess + "; sk_access=" + tk.victimAccess }},
		{name: "jwt: too many tokens", method: "GET", path: "/jwt/profile", status: 303, location: "/jwt/login", cleared: true,
			cookies: func(tk tokens) string {
				return "sk_access=a; sk_access=b; sk_access=c; sk_access=d; sk_access=" + tk.victimAccess
			}},
		{name: "jwt: the login form with two valid tokens", method: "GET", path: "/jwt/login", status: 200,
			cookies: func(tk tokens) string { return "sk_access=" + tk.victimAccess + "; sk_access=" + tk.malloryAccess }},
		{name: "jwt: the login form with one valid token and garbage", method: "GET", path: "/jwt/login", status: 303, location: "/jwt/profile",
			cookies: func(tk tokens) string { return "sk_access=garbage; sk_access=" + tk.victimAccess }},
		{name: "refresh: the same token twice", method: "GET", path: "/jwt/refresh", status: 303, location: "/jwt/profile",
			cookies: func(tk tokens) string { return "sk_refresh=" + tk.victimRefresh + "; sk_refresh=" + tk.victimRefresh }},
		{name: "refresh: two tokens are not spent", method: "GET", path: "/jwt/refresh", status: 303, location: "/jwt/login", cleared: true,
			cookies: func(tk tokens) string { return "sk_refresh=" + tk.malloryRefresh + "; sk_refresh=" + tk.victimRefresh },
			after: func(t *testing.T, f *jwtFixture, tk tokens) {
				for who, refresh := range map[string]string{"victim": tk.victimRefresh, "mallory": tk.malloryRefresh} {
					if r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+refresh); r.Location != "/jwt/profile" {
						t.Errorf("%s's refresh token afterwards: %d %q, want it unspent (303 to the profile)", who, r.Status, r.Location)
					}
				}
			}},
		{name: "refresh: garbage beside the token", method: "GET", path: "/jwt/refresh", status: 303, location: "/jwt/login", cleared: true,
			cookies: func(tk tokens) string { return "sk_refresh=garbage; sk_refresh=" + tk.victimRefresh },
			after: func(t *testing.T, f *jwtFixture, tk tokens) {
				if r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+tk.victimRefresh); r.Location != "/jwt/profile" {
					t.Errorf("the refresh token afterwards: %d %q, want it unspent", r.Status, r.Location)
				}
			}},
		{name: "refresh: two tokens end the login the access cookie names", method: "GET", path: "/jwt/refresh", status: 303, location: "/jwt/login", cleared: true,
			cookies: func(tk tokens) string {
				return "sk_access=" + tk.victimAccess + "; sk_refresh=" + tk.malloryRefresh + "; sk_refresh=" + tk.victimRefresh
			},
			after: func(t *testing.T, f *jwtFixture, tk tokens) {
				if r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+tk.victimRefresh); !strings.HasPrefix(r.Location, "/jwt/login") {
					t.Errorf("the victim's refresh token afterwards: %d %q, want its login ended", r.Status, r.Location)
				}
				if r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+tk.malloryRefresh); r.Location != "/jwt/profile" {
					t.Errorf("mallory's refresh token afterwards: %d %q, want it unspent", r.Status, r.Location)
				}
			}},
		{name: "logout: every authentic token's login ends", method: "POST", path: "/jwt/logout", status: 303, location: "/jwt/login", cleared: true,
			cookies: func(tk tokens) string {
				return "sk_access=garbage; sk_access=" + tk.victimExpired + "; sk_access=" + tk.malloryAccess
			},
			after: func(t *testing.T, f *jwtFixture, tk tokens) {
				if r := api(t, f.url, "GET", "/api/me", "", tk.malloryAccess); r.Status != http.StatusUnauthorized {
					t.Errorf("mallory's token after logout: %d, want 401", r.Status)
				}
				if r := withCookie(t, f.url, "/jwt/refresh", "sk_refresh="+tk.victimEarlyRefresh); !strings.HasPrefix(r.Location, "/jwt/login") {
					t.Errorf("the refresh token of the expired token's login after logout: %d %q, want its login ended", r.Status, r.Location)
				}
				if r := withCookie(t, f.url, "/jwt/profile", "sk_access="+tk.victimAccess); r.Status != http.StatusOK {
					t.Errorf("the victim's other login, whose token was not sent: %d %q, want it untouched", r.Status, r.Location)
				}
			}},
		{name: "session: garbage beside the victim's", method: "GET", path: "/session/profile", status: 200, greeting: "welcome victim",
			cookies: func(tk tokens) string { return "sk_session=garbage; sk_session=" + tk.victimSession }},
		{name: "session: two live sessions", method: "GET", path: "/session/profile", status: 303, location: "/session/login",
			cookies: func(tk tokens) string { return "sk_session=" + tk.mallorySession + "; sk_session=" + tk.victimSession },
			after: func(t *testing.T, f *jwtFixture, tk tokens) {
				for who, c := range map[string]string{"victim": tk.victimSession, "mallory": tk.mallorySession} {
					if r := withCookie(t, f.url, "/session/profile", "sk_session="+c); r.Status != http.StatusOK {
						t.Errorf("%s's session alone afterwards: %d %q, want it kept", who, r.Status, r.Location)
					}
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newJWTFixture(t, server.Config{})
			tk := newCookieHeaderTokens(t, f)
			r := sendCookies(t, f.url, c.method, c.path, c.cookies(tk))
			if r.Status != c.status || !strings.HasPrefix(r.Location, c.location) {
				t.Fatalf("%d %q, want %d %q", r.Status, r.Location, c.status, c.location)
			}
			if c.greeting != "" && !strings.HasPrefix(greeting(t, r.Body), c.greeting) {
				t.Errorf("the page greets %q, want %q", greeting(t, r.Body), c.greeting)
			}
			cleared := false
			for _, set := range (&http.Response{Header: r.Header}).Cookies() {
				if set.Name == "sk_access" && set.MaxAge < 0 {
					cleared = true
				}
			}
			if cleared != c.cleared {
				t.Errorf("access cookie cleared: %v, want %v (Set-Cookie %q)", cleared, c.cleared, r.Header.Values("Set-Cookie"))
			}
			if c.after != nil {
				c.after(t, f, tk)
			}
		})
	}
}
