package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// downWrites is a memory store whose session reads, writes and deletes,
// deny list and ping fail, as a store that went down would. Accounts and
// keys still answer, so that a request gets as far as the session store.
type downWrites struct{ failingSessions }

func (downWrites) SaveSession(context.Context, store.Record) (uint64, error) { return 0, errDown }
func (downWrites) DeleteSession(context.Context, store.SessionID) error      { return errDown }

// What a server whose store is down answers a page and an API request.
const (
	downPage    = "The server could not reach its storage in time. Nothing was changed; please try again in a moment."
	downProblem = "the server could not reach its storage in time; nothing was changed, try again"
)

// TestStoreDown sends the requests of each mode and of the API to a server
// whose store fails, as a user logged in everywhere, or logging in, would
// send them: once with the store's session reads, deny list and ping
// failing (failingSessions), once with its session writes failing too
// (downWrites). Each row says what the user gets: a 503 page or problem
// with Retry-After, or for the health checks what a load balancer sees
// (only /readyz fails: restarting would not mend the store). No answer
// sets a cookie, so the browser keeps the ones it has. Then, with the store
// back (a server on the same store), nothing was lost and nothing counted
// twice: each mode's profile shows the count 1, the API token works, the
// API refresh token and the JWT refresh cookie refresh (none was spent:
// the servers allow no grace for a spent one), and each mode's logout goes
// through, after which a copy of its cookie is refused.
func TestStoreDown(t *testing.T) {
	const (
		user = "erin"
		pass = "password five"
	)
	const (
		page    = iota // the 503 page
		problem        // the 503 problem details of the API
		text           // a health check's text
	)
	stores := []struct {
		name   string
		writes bool // session writes fail too
		down   func(*memstore.Store) server.Backend
	}{
		{"reads fail", false, func(m *memstore.Store) server.Backend { return failingSessions{failingStore{m}} }},
		{"reads and writes fail", true, func(m *memstore.Store) server.Backend { return downWrites{failingSessions{failingStore{m}}} }},
	}
	login := url.Values{"username": {user}, "password": {pass}}
	rows := []struct {
		mode, name   string
		method, path string
		form         url.Values // the form sent, if any
		json         string     // the JSON sent, if any; REFRESH stands for the API refresh token
		cookies      []string   // the user's cookies sent, by name
		bearer       bool       // the API access token is sent
		status       int
		answer       int    // page, problem or text
		body         string // for text: the body
		writesOnly   bool   // a login: it reads no session, so only a store whose writes fail refuses it
	}{
		{mode: "cookie", name: "profile", method: "GET", path: "/cookie/profile", cookies: []string{"sk_cookie"},
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "cookie", name: "login", method: "POST", path: "/cookie/login", form: login, writesOnly: true,
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "cookie", name: "logout", method: "POST", path: "/cookie/logout", cookies: []string{"sk_cookie"},
			status: http.StatusServiceUnavailable, answer: page},

		{mode: "session", name: "profile", method: "GET", path: "/session/profile", cookies: []string{"sk_session"},
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "session", name: "login", method: "POST", path: "/session/login", form: login, writesOnly: true,
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "session", name: "list of logins", method: "GET", path: "/session/sessions", cookies: []string{"sk_session"},
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "session", name: "logout", method: "POST", path: "/session/logout", cookies: []string{"sk_session"},
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "session", name: "logout everywhere", method: "POST", path: "/session/logout-all", cookies: []string{"sk_session"},
			status: http.StatusServiceUnavailable, answer: page},

		{mode: "jwt", name: "profile", method: "GET", path: "/jwt/profile", cookies: []string{"sk_access"},
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "jwt", name: "login", method: "POST", path: "/jwt/login", form: login, writesOnly: true,
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "jwt", name: "refresh", method: "GET", path: "/jwt/refresh", cookies: []string{"sk_refresh"},
			status: http.StatusServiceUnavailable, answer: page},
		{mode: "jwt", name: "logout", method: "POST", path: "/jwt/logout", cookies: []string{"sk_access", "sk_refresh"},
			status: http.StatusServiceUnavailable, answer: page},

		{mode: "api", name: "me", method: "GET", path: "/api/me", bearer: true,
			status: http.StatusServiceUnavailable, answer: problem},
		{mode: "api", name: "login", method: "POST", path: "/api/login", json: `{"username":"` + user + `","password":"` + pass + `"}`, writesOnly: true,
			status: http.StatusServiceUnavailable, answer: problem},
		{mode: "api", name: "refresh", method: "POST", path: "/api/refresh", json: `{"refresh_token":"REFRESH"}`,
			status: http.StatusServiceUnavailable, answer: problem},
		{mode: "api", name: "logout", method: "POST", path: "/api/logout", bearer: true,
			status: http.StatusServiceUnavailable, answer: problem},

		{mode: "health", name: "readiness", method: "GET", path: "/readyz",
			status: http.StatusServiceUnavailable, answer: text, body: "store unavailable\n"},
		{mode: "health", name: "health", method: "GET", path: "/healthz",
			status: http.StatusOK, answer: text, body: "ok\n"},
		{mode: "health", name: "liveness", method: "GET", path: "/livez",
			status: http.StatusOK, answer: text, body: "ok\n"},
	}
	for _, st := range stores {
		for _, c := range rows {
			if c.writesOnly && !st.writes {
				continue
			}
			t.Run(st.name+"/"+c.mode+"/"+c.name, func(t *testing.T) {
				// No grace for a spent refresh token: one spent during the
				// outage would be refused afterwards.
				cfg := server.Config{RefreshGrace: -1}
				mem := newMem(t)
				up := newServer(t, mem, cfg)
				down := newServer(t, st.down(mem), cfg)
				b := newBrowser(t, up.URL)
				b.register(user, pass)
				for _, mode := range allModes {
					b.login(mode, user, pass)
				}
				cookies := map[string]string{"sk_refresh": b.refreshCookie()}
				for _, name := range cookieNames {
					cookies[name] = b.cookie(name)
				}
				access, refresh := apiLogin(t, up.URL, user, pass)

				send := func(base string) response {
					t.Helper()
					body := c.form.Encode()
					if c.json != "" {
						body = strings.ReplaceAll(c.json, "REFRESH", refresh)
					}
					req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case c.form != nil:
						req.Header.Set("Content-Type", formType)
					case c.json != "":
						req.Header.Set("Content-Type", jsonType)
					}
					for _, name := range c.cookies {
						if cookies[name] == "" {
							t.Fatalf("the browser holds no %s", name)
						}
						req.AddCookie(&http.Cookie{Name: name, Value: cookies[name]})
					}
					if c.bearer {
						req.Header.Set("Authorization", "Bearer "+access)
					}
					return newBrowser(t, base).do(req) // a browser of its own: no cookie but those above
				}

				r := send(down.URL)
				if r.Status != c.status {
					t.Errorf("with the store down: %d %q %q, want %d", r.Status, r.Location, r.Body, c.status)
				}
				if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("with the store down, the answer sets cookies %q; want the browser's kept", sc)
				}
				if c.answer != text {
					if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s <= 0 {
						t.Errorf("Retry-After %q, want a number of seconds", r.Header.Get("Retry-After"))
					}
				}
				switch ct := r.Header.Get("Content-Type"); c.answer {
				case page:
					if !strings.HasPrefix(ct, "text/html") || !strings.Contains(r.Body, downPage) {
						t.Errorf("the page (%s) does not say the storage is unavailable: %q", ct, r.Body)
					}
				case problem:
					var p struct {
						Status int
						Detail string
					}
					if ct != "application/problem+json" || json.Unmarshal([]byte(r.Body), &p) != nil || p.Status != c.status || p.Detail != downProblem {
						t.Errorf("the answer (%s) is not the problem of an unavailable store: %q", ct, r.Body)
					}
				case text:
					if r.Body != c.body {
						t.Errorf("body %q, want %q", r.Body, c.body)
					}
					if r := send(up.URL); r.Status != http.StatusOK {
						t.Errorf("with the store up: %d, want 200", r.Status)
					}
				}

				// The store is back.
				for _, mode := range allModes {
					if got := b.profile(mode); got != "welcome "+user+" with the count: 1" {
						t.Errorf("%s profile with the store back: %q, want the count 1 (nothing lost, nothing counted twice)", mode, got)
					}
				}
				if me := api(t, up.URL, "GET", "/api/me", "", access); me.Status != http.StatusOK {
					t.Errorf("the API token with the store back: %d %s, want the login intact", me.Status, me.Body)
				}
				if r := apiRefresh(t, up.URL, refresh); r.Status != http.StatusOK {
					t.Errorf("the API refresh token with the store back: %d %s, want new tokens", r.Status, r.Body)
				}
				if r := b.get("/jwt/refresh"); r.Status != http.StatusSeeOther || r.Location != "/jwt/profile" {
					t.Errorf("the JWT refresh cookie with the store back: %d %q, want 303 to /jwt/profile", r.Status, r.Location)
				}
				for _, mode := range allModes {
					copied := cookieNames[mode] + "=" + b.cookie(cookieNames[mode])
					if r := b.post("/"+mode+"/logout", nil); r.Status != http.StatusSeeOther {
						t.Fatalf("%s logout with the store back: %d", mode, r.Status)
					}
					if r := withCookie(t, up.URL, "/"+mode+"/profile", copied); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/"+mode+"/login") {
						t.Errorf("a copy of the %s cookie after logout: %d %q, want 303 to the login page", mode, r.Status, r.Location)
					}
				}
			})
		}
	}
}
