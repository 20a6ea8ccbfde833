package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/server"
)

// headerCase is one request to one route, in the state (logged in or not)
// that shows what the route can show.
type headerCase struct {
	// pattern is the route as registered on the mux; "" for answers that
	// come from outside any route (404, 405, a refused cross-origin POST).
	pattern string
	name    string
	send    func(w *headerWalk) response
	status  int
	// html: the answer is a page, which must work under the CSP.
	html bool
	// public: the answer holds nothing of any user's and may be cached.
	public bool
}

// headerWalk is a server with a user logged in in every mode and through
// the API.
type headerWalk struct {
	t                    *testing.T
	url                  string
	anon, user           *browser
	access, refresh      string
	spareAccess, spareRT string
}

// walkerIntrospectionSecret enables POST /api/introspect on the walk's
// server.
const walkerIntrospectionSecret = "walker's introspection secret"

// headerCases lists every route of the server (TestEveryRouteIsListed
// keeps the list complete) and a few answers from outside the routes.
func headerCases() []headerCase {
	get := func(b func(*headerWalk) *browser, path string) func(*headerWalk) response {
		return func(w *headerWalk) response { return b(w).get(path) }
	}
	post := func(b func(*headerWalk) *browser, path string, form func(*headerWalk) string) func(*headerWalk) response {
		return func(w *headerWalk) response { return b(w).postRaw(path, form(w)) }
	}
	anon := func(w *headerWalk) *browser { return w.anon }
	user := func(w *headerWalk) *browser { return w.user }
	// fresh is a new browser logged in as someone else, for routes that
	// end the login they are given ("log out everywhere" ends every login
	// of its user, in every mode).
	fresh := func(mode string) func(w *headerWalk) *browser {
		return func(w *headerWalk) *browser {
			b := newBrowser(w.t, w.url)
			b.login(mode, "leaver", "leaver's password")
			return b
		}
	}
	// throwaway is a new browser, for a login that must not change what
	// anon or user hold.
	throwaway := func(w *headerWalk) *browser { return newBrowser(w.t, w.url) }
	noForm := func(*headerWalk) string { return "" }
	right := func(*headerWalk) string { return creds("walker", "walker's password").Encode() }
	apiCall := func(method, path string, body func(*headerWalk) string, bearer func(*headerWalk) string) func(*headerWalk) response {
		return func(w *headerWalk) response {
			b := ""
			if body != nil {
				b = body(w)
			}
			tok := ""
			if bearer != nil {
				tok = bearer(w)
			}
			return api(w.t, w.url, method, path, b, tok).response
		}
	}
	cases := []headerCase{
		{pattern: "GET /{$}", name: "start page", send: get(anon, "/"), status: 200, html: true},
		{pattern: "GET /static/style.css", name: "style sheet", send: get(anon, "/static/style.css"), status: 200, public: true},
		{pattern: "GET /register", name: "register form", send: get(anon, "/register"), status: 200, html: true},
		{pattern: "POST /register", name: "register, taken", send: post(anon, "/register", right), status: 409, html: true},
		{pattern: "GET /.well-known/jwks.json", name: "JWKS", send: get(anon, "/.well-known/jwks.json"), status: 200, public: true},
		{pattern: "GET /healthz", name: "healthz", send: get(anon, "/healthz"), status: 200},
		{pattern: "GET /readyz", name: "readyz", send: get(anon, "/readyz"), status: 200},
		{pattern: "GET /livez", name: "livez", send: get(anon, "/livez"), status: 200},
		{pattern: "GET /metrics", name: "metrics", send: get(anon, "/metrics"), status: 200},
		{pattern: "POST /api/login", name: "API login (tokens)", status: 200,
			send: apiCall("POST", "/api/login", func(*headerWalk) string { return `{"username":"walker","password":"walker's password"}` }, nil)},
		{pattern: "POST /api/login", name: "API login, wrong password", status: 401,
			send: apiCall("POST", "/api/login", func(*headerWalk) string { return `{"username":"walker","password":"wrong password"}` }, nil)},
		{pattern: "POST /api/refresh", name: "API refresh (tokens)", status: 200,
			send: apiCall("POST", "/api/refresh", func(w *headerWalk) string { return `{"refresh_token":"` + w.refresh + `"}` }, nil)},
		{pattern: "GET /api/me", name: "API me", status: 200, send: apiCall("GET", "/api/me", nil, func(w *headerWalk) string { return w.access })},
		{pattern: "GET /api/me", name: "API me without a token", status: 401, send: apiCall("GET", "/api/me", nil, nil)},
		{pattern: "POST /api/logout", name: "API logout", status: 204, send: apiCall("POST", "/api/logout", nil, func(w *headerWalk) string { return w.spareAccess })},
		{pattern: "POST /api/introspect", name: "token introspection", status: 200, send: func(w *headerWalk) response {
			req, _ := http.NewRequest("POST", w.url+"/api/introspect", strings.NewReader("token="+w.access))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("walker-service", walkerIntrospectionSecret)
			return w.anon.do(req)
		}},
		{pattern: "POST /session/logout-all", name: "log out everywhere", status: 303, send: post(fresh("session"), "/session/logout-all", noForm)},
		{pattern: "GET /jwt/refresh", name: "JWT refresh", status: 303, send: get(user, "/jwt/refresh")},
		{name: "unknown page", send: get(anon, "/no/such/page"), status: 404},
		{name: "method not allowed", send: post(anon, "/cookie/profile", noForm), status: 405},
		{name: "cross-origin POST refused", status: 403, html: true, send: func(w *headerWalk) response {
			req, _ := http.NewRequest("POST", w.url+"/cookie/login", strings.NewReader(right(w)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			return w.anon.do(req)
		}},
		{name: "body too large", status: 413, html: true, send: post(anon, "/cookie/login", func(*headerWalk) string {
			return "username=walker&password=" + strings.Repeat("x", 70<<10)
		})},
	}
	// Passkeys: the ceremonies' starts answer options; their finishes,
	// given no valid challenge, answer 400 (TestPasskey* walk them whole).
	postJSON := func(b func(*headerWalk) *browser, path, body string) func(*headerWalk) response {
		return func(w *headerWalk) response { return b(w).postJSON(path, json.RawMessage(body)) }
	}
	bearer := func(w *headerWalk) string { return w.access }
	jsonBody := func(body string) func(*headerWalk) string { return func(*headerWalk) string { return body } }
	cases = append(cases,
		headerCase{pattern: "GET /static/passkey.js", name: "passkey script", send: get(anon, "/static/passkey.js"), status: 200, public: true},
		headerCase{pattern: "POST /passkey/login/begin", name: "passkey login begin", send: postJSON(anon, "/passkey/login/begin", `{}`), status: 200},
		headerCase{pattern: "POST /session/reauth/passkey", name: "passkey step-up, no challenge", send: postJSON(user, "/session/reauth/passkey", `{}`), status: 400},
		headerCase{pattern: "POST /session/passkeys/begin", name: "passkey registration begin", send: postJSON(user, "/session/passkeys/begin", `{}`), status: 200},
		headerCase{pattern: "POST /session/passkeys/finish", name: "passkey registration, bad answer", status: 400,
			send: postJSON(user, "/session/passkeys/finish", `{"name":"laptop","credential":{}}`)},
		headerCase{pattern: "POST /api/passkey/login/begin", name: "API passkey login begin", status: 200, send: apiCall("POST", "/api/passkey/login/begin", nil, nil)},
		headerCase{pattern: "POST /api/passkey/login/finish", name: "API passkey login, no challenge", status: 400,
			send: apiCall("POST", "/api/passkey/login/finish", jsonBody(`{"state":"x","credential":{}}`), nil)},
		headerCase{pattern: "POST /api/passkeys/begin", name: "API passkey registration begin", status: 200, send: apiCall("POST", "/api/passkeys/begin", nil, bearer)},
		headerCase{pattern: "POST /api/passkeys/finish", name: "API passkey registration, no challenge", status: 400,
			send: apiCall("POST", "/api/passkeys/finish", jsonBody(`{"state":"x","credential":{}}`), bearer)},
		headerCase{pattern: "GET /api/passkeys", name: "API passkey list", status: 200, send: apiCall("GET", "/api/passkeys", nil, bearer)},
		headerCase{pattern: "DELETE /api/passkeys/{id}", name: "API passkey removal, not one of yours", status: 404, send: apiCall("DELETE", "/api/passkeys/AAAA", nil, bearer)},
	)
	for _, mode := range []string{"cookie", "session", "jwt"} {
		cases = append(cases, headerCase{pattern: "POST /" + mode + "/passkey/login", name: mode + " passkey login, no challenge",
			send: postJSON(throwaway, "/"+mode+"/passkey/login", `{"id":"AAAA"}`), status: 400})
	}
	for _, mode := range []string{"cookie", "session", "jwt"} {
		login, profile, logout := "/"+mode+"/login", "/"+mode+"/profile", "/"+mode+"/logout"
		cases = append(cases,
			headerCase{pattern: "GET " + login, name: mode + " login form", send: get(anon, login), status: 200, html: true},
			headerCase{pattern: "GET " + login, name: mode + " login form, logged in", send: get(user, login), status: 303},
			headerCase{pattern: "POST " + login, name: mode + " login", send: post(throwaway, login, right), status: 303},
			headerCase{pattern: "POST " + login, name: mode + " login, wrong password", status: 401, html: true,
				send: post(anon, login, func(*headerWalk) string { return creds("walker", "wrong password").Encode() })},
			headerCase{pattern: "GET " + profile, name: mode + " profile", send: get(user, profile), status: 200, html: true},
			headerCase{pattern: "GET " + profile, name: mode + " profile, logged out", send: get(anon, profile), status: 303},
			headerCase{pattern: "GET " + logout, name: mode + " logout page", send: get(user, logout), status: 200, html: true},
			headerCase{pattern: "POST " + logout, name: mode + " logout", send: post(fresh(mode), logout, noForm), status: 303},
		)
	}
	// newcomer is a new account logged in in session mode, for the account
	// routes that change or end it.
	newcomers := 0
	newcomer := func(w *headerWalk) *browser {
		newcomers++
		b := newBrowser(w.t, w.url)
		name := fmt.Sprintf("newcomer%d", newcomers)
		b.register(name, "newcomer's password")
		b.login("session", name, "newcomer's password")
		return b
	}
	cases = append(cases,
		headerCase{pattern: "GET /session/sessions", name: "session list", send: get(user, "/session/sessions"), status: 200, html: true},
		headerCase{pattern: "GET /session/sessions", name: "session list, logged out", send: get(anon, "/session/sessions"), status: 303},
		headerCase{pattern: "GET /session/account", name: "account page", send: get(user, "/session/account"), status: 200, html: true},
		headerCase{pattern: "GET /session/account", name: "account page, logged out", send: get(anon, "/session/account"), status: 303},
		headerCase{pattern: "GET /session/reauth", name: "re-authentication form", send: get(user, "/session/reauth?next=/session/account"), status: 200, html: true},
		headerCase{pattern: "POST /session/reauth", name: "re-authentication, wrong password", status: 401, html: true,
			send: post(user, "/session/reauth", func(*headerWalk) string { return "password=wrong+password" })},
		headerCase{pattern: "POST /session/reauth", name: "re-authentication", status: 303,
			send: post(newcomer, "/session/reauth", func(*headerWalk) string { return "password=newcomer%27s+password" })},
		headerCase{pattern: "POST /session/password", name: "password change", status: 303,
			send: post(newcomer, "/session/password", func(*headerWalk) string {
				return "current_password=newcomer%27s+password&new_password=another+password"
			})},
		headerCase{pattern: "POST /session/password", name: "password change, wrong current", status: 401, html: true,
			send: post(user, "/session/password", func(*headerWalk) string { return "current_password=nope+nope+nope&new_password=another+password" })},
		headerCase{pattern: "POST /session/sessions/revoke", name: "revoke, bad id", status: 400, html: true,
			send: post(user, "/session/sessions/revoke", func(*headerWalk) string { return "id=nothex" })},
		headerCase{pattern: "POST /session/logout-others", name: "log out everywhere else", status: 303, send: post(newcomer, "/session/logout-others", noForm)},
		headerCase{pattern: "POST /session/account/delete", name: "delete account", status: 303, send: post(newcomer, "/session/account/delete", noForm)},
		headerCase{pattern: "POST /session/passkeys/rename", name: "rename a passkey, not one of yours", status: 404, html: true,
			send: post(user, "/session/passkeys/rename", func(*headerWalk) string { return "id=AAAA&name=laptop" })},
		headerCase{pattern: "POST /session/passkeys/remove", name: "remove a passkey, not one of yours", status: 404, html: true,
			send: post(user, "/session/passkeys/remove", func(*headerWalk) string { return "id=AAAA" })},
		headerCase{pattern: "DELETE /api/me", name: "API delete account", status: 204, send: func(w *headerWalk) response {
			newBrowser(w.t, w.url).register("apileaver", "apileaver's password")
			access, _ := apiLogin(w.t, w.url, "apileaver", "apileaver's password")
			return api(w.t, w.url, "DELETE", "/api/me", "", access).response
		}},
	)
	return cases
}

// TestSecurityHeaders requests every route and checks the headers of every
// answer: no MIME sniffing, no framing, a referrer policy, a CSP that
// allows no inline script, and Cache-Control: no-store on everything but
// the public files. Pages must also work under that CSP: no inline script,
// event handler or style.
func TestSecurityHeaders(t *testing.T) {
	ts := newServer(t, newMem(t), server.Config{IntrospectionSecret: walkerIntrospectionSecret})
	w := &headerWalk{t: t, url: ts.URL, anon: newBrowser(t, ts.URL), user: newBrowser(t, ts.URL)}
	w.user.register("walker", "walker's password")
	w.anon.register("leaver", "leaver's password")
	for _, mode := range []string{"cookie", "session", "jwt"} {
		w.user.login(mode, "walker", "walker's password")
	}
	w.access, w.refresh = apiLogin(t, ts.URL, "walker", "walker's password")
	w.spareAccess, w.spareRT = apiLogin(t, ts.URL, "walker", "walker's password")

	inline := regexp.MustCompile(`(?i)<script|<style|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	// The one script a page may load: the passkey ceremonies, from the
	// server's own origin, on the login, re-authentication and account
	// pages (TestPagesAndHeaders checks which).
	const passkeyScript = `<script src="/static/passkey.js" defer></script>`
	for _, c := range headerCases() {
		t.Run(c.name, func(t *testing.T) {
			r := c.send(w)
			if r.Status != c.status {
				t.Fatalf("status %d (Location %q), want %d: the case does not reach what it means to check", r.Status, r.Location, c.status)
			}
			checkSecurityHeaders(t, r.Header)
			cc := r.Header.Get("Cache-Control")
			if c.public {
				if !strings.Contains(cc, "public") || !strings.Contains(cc, "max-age=") {
					t.Errorf("Cache-Control %q on a public file, want public with a max-age", cc)
				}
			} else if !slices.Contains(strings.Split(strings.ReplaceAll(cc, " ", ""), ","), "no-store") {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if c.html {
				if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q, want text/html; charset=utf-8", ct)
				}
				if m := inline.FindString(strings.Replace(r.Body, passkeyScript, "", 1)); m != "" {
					t.Errorf("the page has %q, which its CSP blocks", m)
				}
			}
		})
	}
}

// checkSecurityHeaders checks the headers every answer carries.
func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q, want DENY", got)
	}
	switch got := h.Get("Referrer-Policy"); got {
	case "same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin":
	default:
		t.Errorf("Referrer-Policy %q, want one that sends no path to other sites", got)
	}
	csp := parseCSP(h.Get("Content-Security-Policy"))
	if fa := csp["frame-ancestors"]; len(fa) != 1 || fa[0] != "'none'" {
		t.Errorf("CSP frame-ancestors %q, want 'none'", fa)
	}
	scripts, ok := csp["script-src"]
	if !ok {
		scripts, ok = csp["default-src"]
	}
	if !ok {
		t.Errorf("CSP %q restricts no scripts", h.Get("Content-Security-Policy"))
	}
	for _, src := range scripts {
		switch src {
		case "'self'", "'none'":
		default:
			t.Errorf("CSP allows scripts from %s; want only 'self' (no 'unsafe-inline', no other hosts)", src)
		}
	}
	for _, d := range []string{"base-uri", "form-action"} {
		if _, ok := csp[d]; !ok {
			t.Errorf("CSP has no %s", d)
		}
	}
}

// parseCSP splits a Content-Security-Policy into its directives.
func parseCSP(policy string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

// TestEveryRouteIsListed reads the routes the server registers from its
// source, and checks that headerCases covers each of them, so that a new
// route cannot go without its headers checked.
func TestEveryRouteIsListed(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range headerCases() {
		covered[c.pattern] = true
	}
	srv, err := server.New(context.Background(), newMem(t), server.Config{
		PasswordParams: cheapParams, IntrospectionSecret: walkerIntrospectionSecret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	routes := server.RoutePatterns(srv)
	if len(routes) < 20 {
		t.Fatalf("the route table has only %d routes (%q)", len(routes), routes)
	}
	inTable := map[string]bool{}
	for _, r := range routes {
		if inTable[r] {
			t.Errorf("route %q is in the table twice", r)
		}
		inTable[r] = true
		if !covered[r] {
			t.Errorf("route %q is not in headerCases: add it, with the state that shows what it can show", r)
		}
	}
	for p := range covered {
		if p != "" && !inTable[p] {
			t.Errorf("headerCases has %q, which is not a route", p)
		}
	}
}
