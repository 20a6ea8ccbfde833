package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// The adversarial table attacks a running server (server.New on a memory
// store, behind httptest) the way a hostile client would, one row per
// attack and mode, each on a fresh server where the victim, alice, is
// logged in in every mode and through the API. Whatever the row does, every
// answer the attacker gets is checked for what must never happen:
//
//   - a 5xx, or a panic in the server's log;
//   - another user's data: alice's greeting ("welcome alice with the count"),
//     her user agent (shown in session listings) or any of her cookies and
//     tokens, anywhere in a body or a header;
//   - a login as someone else: every cookie the attacker was given is sent
//     to its mode's profile, which must not greet alice.
//
// Each row also says how the attack fails in a way a user would see (303
// to the login page, 401, 403, 413, 429 ...), and rows that must leave the
// victim alone check that she is still logged in everywhere afterwards.
//
// Header-size abuse needs the real http.Server settings (httptest applies
// no MaxHeaderBytes): cmd/sessionkit's TestServeLimits sends 33 KiB to 10 MB
// of headers, Cookie and Authorization included, and gets 431; the
// slow-client (slowloris) test is e2e's TestSlowloris, against the binary.

const (
	victim        = "alice"
	victimPass    = "alice's long password"
	victimUA      = "victim-browser/7.7"
	attacker      = "mallory"
	attackerPass  = "mallory's password"
	evilOrigin    = "https://evil.example"
	formType      = "application/x-www-form-urlencoded"
	jsonType      = "application/json"
	loginAttempts = 10 // auth.DefaultPerUserAddress
)

var allModes = []string{"cookie", "session", "jwt"}

// arena is one server with the victim logged in, and what the attacker
// received so far.
type arena struct {
	t      *testing.T
	url    string
	store  *memstore.Store
	clock  *fakeclock.Clock
	log    *syncBuffer
	victim *browser

	// The victim's credentials: her login cookie in each mode, her JWT
	// refresh cookie, and her API tokens.
	cookies     map[string]*http.Cookie
	refresh     string
	apiAccess   string
	apiRefresh  string
	secrets     []string
	mu          sync.Mutex
	answers     []response
	answerNotes []string
}

// syncBuffer collects the server's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// uaTransport sets the User-Agent of every request.
type uaTransport struct{ ua string }

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}

func newArena(t *testing.T, cfg server.Config) *arena {
	t.Helper()
	clk := newClock()
	st := memstore.New(memstore.Options{Now: clk.Now})
	t.Cleanup(func() { st.Close() })
	logs := &syncBuffer{}
	cfg.Now = clk.Now
	cfg.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), nil))
	ts := newServer(t, st, cfg)
	a := &arena{t: t, url: ts.URL, store: st, clock: clk, log: logs, cookies: map[string]*http.Cookie{}}

	a.victim = newBrowser(t, ts.URL)
	a.victim.c.Transport = uaTransport{victimUA}
	a.victim.register(victim, victimPass)
	newBrowser(t, ts.URL).register(attacker, attackerPass)
	for _, mode := range allModes {
		a.victim.login(mode, victim, victimPass)
		a.victim.profile(mode)
	}
	for mode, name := range cookieNames {
		a.cookies[mode] = &http.Cookie{Name: name, Value: a.victim.cookie(name)}
	}
	refreshURL, _ := url.Parse(ts.URL + "/jwt/refresh")
	for _, c := range a.victim.c.Jar.Cookies(refreshURL) {
		if c.Name == "sk_refresh" {
			a.refresh = c.Value
		}
	}
	a.apiAccess, a.apiRefresh = apiLogin(t, ts.URL, victim, victimPass)
	for _, c := range a.cookies {
		a.secrets = append(a.secrets, c.Value)
	}
	a.secrets = append(a.secrets, a.refresh, a.apiAccess, a.apiRefresh)
	for _, s := range a.secrets {
		if len(s) < 20 {
			t.Fatalf("the victim's credentials are not all set: %q", a.secrets)
		}
	}
	return a
}

// send sends req as the attacker (no cookie jar, no redirects followed)
// and records the answer for the checks every row gets.
func (a *arena) send(req *http.Request) response {
	a.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	r := response{resp.StatusCode, resp.Header.Get("Location"), string(body), resp.Header}
	a.record(req.Method+" "+req.URL.RequestURI(), r)
	return r
}

func (a *arena) record(what string, r response) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers = append(a.answers, r)
	a.answerNotes = append(a.answerNotes, what)
}

// request builds an attacker's request: body sent as is, headers as given
// ("Cookie" included), cookies added.
func (a *arena) request(method, path, contentType, body string, header map[string]string, cookies ...*http.Cookie) *http.Request {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

func (a *arena) get(path string, cookies ...*http.Cookie) response {
	a.t.Helper()
	return a.send(a.request("GET", path, "", "", nil, cookies...))
}

func (a *arena) postForm(path string, form url.Values, cookies ...*http.Cookie) response {
	a.t.Helper()
	return a.send(a.request("POST", path, formType, form.Encode(), nil, cookies...))
}

func (a *arena) api(method, path, body, bearer string) response {
	a.t.Helper()
	h := map[string]string{}
	if bearer != "" {
		h["Authorization"] = "Bearer " + bearer
	}
	ct := ""
	if body != "" {
		ct = jsonType
	}
	return a.send(a.request(method, path, ct, body, h))
}

// raw sends bytes over a new connection, for requests net/http's client
// would not send, and records the answer.
func (a *arena) raw(request string) response {
	a.t.Helper()
	u, _ := url.Parse(a.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		a.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, strings.ReplaceAll(request, "HOST", u.Host)); err != nil {
		a.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := response{resp.StatusCode, resp.Header.Get("Location"), string(body), resp.Header}
	a.record(strings.SplitN(request, "\r\n", 2)[0], r)
	return r
}

// victimCookie returns a copy of the victim's login cookie of mode with
// its value replaced.
func (a *arena) victimCookie(mode, value string) *http.Cookie {
	return &http.Cookie{Name: a.cookies[mode].Name, Value: value}
}

// mallory logs the attacker in through mode with a browser of her own and
// returns that browser.
func (a *arena) mallory(mode string) *browser {
	a.t.Helper()
	b := newBrowser(a.t, a.url)
	b.login(mode, attacker, attackerPass)
	return b
}

// checkAnswers runs the checks every row gets over everything the attacker
// received.
func (a *arena) checkAnswers() {
	t := a.t
	t.Helper()
	a.mu.Lock()
	answers, notes := append([]response{}, a.answers...), append([]string{}, a.answerNotes...)
	a.mu.Unlock()
	if len(answers) == 0 {
		t.Fatal("the attack sent nothing: the row checks nothing")
	}
	var handed []*http.Cookie
	for i, r := range answers {
		what := notes[i]
		if r.Status >= 500 {
			t.Errorf("%s: status %d: %q", what, r.Status, truncate(r.Body, 300))
		}
		var all strings.Builder
		all.WriteString(r.Body)
		for k, vs := range r.Header {
			all.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
		text := all.String()
		for _, leak := range append([]string{"welcome " + victim, victimUA}, a.secrets...) {
			if strings.Contains(text, leak) {
				t.Errorf("%s: the answer shows the victim's %q", what, truncate(leak, 40))
			}
		}
		if loc := r.Location; loc != "" && !isLocal(loc) {
			t.Errorf("%s: redirect off the site: %q", what, loc)
		}
		handed = append(handed, (&http.Response{Header: r.Header}).Cookies()...)
	}
	if strings.Contains(a.log.String(), "panic") {
		t.Errorf("the server log shows a panic:\n%s", a.log.String())
	}
	// No cookie the attacker was handed logs in as the victim.
	byName := map[string]string{"sk_cookie": "cookie", "sk_session": "session", "sk_access": "jwt"}
	for _, c := range handed {
		mode, ok := byName[c.Name]
		if !ok || c.Value == "" {
			continue
		}
		r := withCookie(t, a.url, "/"+mode+"/profile", c.Name+"="+c.Value)
		if strings.Contains(r.Body, "welcome "+victim) {
			t.Errorf("a %s cookie handed to the attacker logs in as %s", c.Name, victim)
		}
	}
}

// checkVictimKept fails the test unless the victim is still logged in,
// in every mode and through the API.
func (a *arena) checkVictimKept() {
	t := a.t
	t.Helper()
	for _, mode := range allModes {
		r := a.victim.get("/" + mode + "/profile")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, "welcome "+victim) {
			t.Errorf("after the attack the victim's %s profile answers %d %q: she was logged out", mode, r.Status, r.Location)
		}
	}
	if r := api(t, a.url, "GET", "/api/me", "", a.apiAccess); r.Status != http.StatusOK {
		t.Errorf("after the attack the victim's API token answers %d", r.Status)
	}
}

// formAction finds the action of a page's form.
var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// isLocal reports whether a Location stays on this site: a path with one
// leading slash (not "//host" or "/\host").
func isLocal(loc string) bool {
	return strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, `/\`)
}

// attackRow is one attack. do carries it out through the arena's attacker
// methods (which record every answer) and checks the user-visible outcome.
type attackRow struct {
	name string
	// cfg is the server's configuration, when the row needs one.
	cfg server.Config
	// victimKept: the attack must leave the victim logged in everywhere.
	victimKept bool
	do         func(t *testing.T, a *arena)
}

// want fails t unless r has status and, for a redirect, a Location
// starting with location.
func want(t *testing.T, what string, r response, status int, location string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d (Location %q), want %d", what, r.Status, r.Location, status)
		return
	}
	if location != "" && !strings.HasPrefix(r.Location, location) {
		t.Errorf("%s: redirect to %q, want %s…", what, r.Location, location)
	}
}

// wantProblem fails t unless r is problem details with status.
func wantProblem(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.Status != status || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s: %d %q, want %d problem details", what, r.Status, r.Header.Get("Content-Type"), status)
	}
}

// flipAt changes the character of s at i.
func flipAt(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// forgeJWT signs claims for the victim with key under kid; a nil key
// makes an alg=none token.
func forgeJWT(t *testing.T, a *arena, kid string, key ed25519.PrivateKey, change func(jwt.MapClaims)) string {
	t.Helper()
	now := a.clock.Now()
	c := jwt.MapClaims{
		"sub": victim, "jti": "forged", "sid": "forged-sid", "iss": "sessionkit", "aud": []string{"sessionkit"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	if change != nil {
		change(c)
	}
	if key == nil {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"], tok.Header["typ"] = kid, "at+jwt"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAdversarial(t *testing.T) {
	var rows []attackRow
	rows = append(rows, tokenAttacks()...)
	rows = append(rows, fixationAttacks()...)
	rows = append(rows, csrfAttacks()...)
	rows = append(rows, redirectAttacks()...)
	rows = append(rows, sizeAttacks()...)
	rows = append(rows, bruteForceAttacks()...)
	rows = append(rows, enumerationAttacks()...)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			a := newArena(t, row.cfg)
			row.do(t, a)
			a.checkAnswers()
			if row.victimKept {
				a.checkVictimKept()
			}
		})
	}
}

// tokenAttacks: tampered, forged, expired and replayed cookies and tokens,
// in every mode. (TestTokenAttacks has the long list of JWT forgeries:
// algorithm confusion, foreign keys, header injection.)
func tokenAttacks() []attackRow {
	var rows []attackRow
	profileRefused := func(mode string) func(t *testing.T, a *arena, value string) {
		return func(t *testing.T, a *arena, value string) {
			r := a.get("/"+mode+"/profile", a.victimCookie(mode, value))
			want(t, mode+" profile", r, http.StatusSeeOther, "/"+mode+"/login")
		}
	}
	for _, mode := range allModes {
		refused := profileRefused(mode)
		rows = append(rows,
			attackRow{name: mode + "/tampered cookie, every position", victimKept: true, do: func(t *testing.T, a *arena) {
				v := a.cookies[mode].Value
				for i := 0; i < len(v); i += max(1, len(v)/24) {
					refused(t, a, flipAt(v, i))
				}
			}},
			attackRow{name: mode + "/truncated cookie", victimKept: true, do: func(t *testing.T, a *arena) {
				v := a.cookies[mode].Value
				refused(t, a, v[:len(v)-1])
				refused(t, a, v[:len(v)/2])
			}},
			attackRow{name: mode + "/cookie of another mode", victimKept: true, do: func(t *testing.T, a *arena) {
				for _, other := range allModes {
					if other != mode {
						refused(t, a, a.cookies[other].Value)
					}
				}
			}},
			attackRow{name: mode + "/replayed after logout", do: func(t *testing.T, a *arena) {
				stolen := a.cookies[mode].Value
				if r := a.victim.post("/"+mode+"/logout", nil); r.Status != http.StatusSeeOther {
					t.Fatalf("the victim's logout: %d", r.Status)
				}
				refused(t, a, stolen)
			}},
		)
	}
	rows = append(rows,
		attackRow{name: "cookie/forged with the attacker's own key", victimKept: true, do: func(t *testing.T, a *arena) {
			key, err := cookie.GenerateKey(a.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			ring, _ := cookie.NewKeyRing(key)
			plain := append(make([]byte, 16), append([]byte{1, 0}, victim...)...)
			v, err := ring.Seal("sk_cookie", plain, time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			profileRefused("cookie")(t, a, v)
		}},
		attackRow{name: "cookie/expired, sealed with the server's key", victimKept: true, do: func(t *testing.T, a *arena) {
			keys, err := a.store.Keys(context.Background(), "cookie")
			if err != nil || len(keys) == 0 {
				t.Fatalf("no cookie key: %v", err)
			}
			ring, _ := cookie.NewKeyRing(keys...)
			plain := append(make([]byte, 16), append([]byte{1, 0}, victim...)...)
			v, err := ring.Seal("sk_cookie", plain, time.Now().Add(-time.Second))
			if err != nil {
				t.Fatal(err)
			}
			profileRefused("cookie")(t, a, v)
		}},
		attackRow{name: "session/forged token of the right shape", victimKept: true, do: func(t *testing.T, a *arena) {
			for range 5 {
				profileRefused("session")(t, a, randomToken())
			}
		}},
		attackRow{name: "session/expired (idle timeout passed)", do: func(t *testing.T, a *arena) {
			a.clock.Advance(server.DefaultSessionIdle + time.Minute)
			profileRefused("session")(t, a, a.cookies["session"].Value)
		}},
		attackRow{name: "session/replayed after log out everywhere", do: func(t *testing.T, a *arena) {
			stolen := a.cookies["session"].Value
			if r := a.victim.post("/session/logout-all", nil); r.Status != http.StatusSeeOther {
				t.Fatalf("the victim's logout-all: %d", r.Status)
			}
			profileRefused("session")(t, a, stolen)
		}},
		attackRow{name: "jwt/forged alg none for the victim", victimKept: true, do: func(t *testing.T, a *arena) {
			profileRefused("jwt")(t, a, forgeJWT(t, a, "", nil, nil))
		}},
		attackRow{name: "jwt/forged with the attacker's key under the server's kid", victimKept: true, do: func(t *testing.T, a *arena) {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			profileRefused("jwt")(t, a, forgeJWT(t, a, signingKey(t, a.store).KeyID, k, nil))
		}},
		attackRow{name: "jwt/attacker's own token with the subject changed", victimKept: true, do: func(t *testing.T, a *arena) {
			tok := a.mallory("jwt").cookie("sk_access")
			parts := strings.Split(tok, ".")
			payload := string(mustB64(t, parts[1]))
			forged := strings.Replace(payload, `"sub":"`+attacker+`"`, `"sub":"`+victim+`"`, 1)
			if forged == payload {
				t.Fatalf("no subject to change in %s", payload)
			}
			profileRefused("jwt")(t, a, parts[0]+"."+b64(forged)+"."+parts[2])
		}},
		attackRow{name: "jwt/expired access token without the refresh token", victimKept: false, do: func(t *testing.T, a *arena) {
			a.clock.Advance(16 * time.Minute)
			r := a.get("/jwt/profile", a.cookies["jwt"])
			want(t, "profile", r, http.StatusSeeOther, "/jwt/refresh")
			want(t, "refresh", a.get(r.Location, a.cookies["jwt"]), http.StatusSeeOther, "/jwt/login")
		}},
		attackRow{name: "jwt/refresh token replayed after the victim refreshed", do: func(t *testing.T, a *arena) {
			a.clock.Advance(16 * time.Minute)
			if r := a.victim.get("/jwt/refresh"); r.Status != http.StatusSeeOther || r.Location != "/jwt/profile" {
				t.Fatalf("the victim's refresh: %d %q", r.Status, r.Location)
			}
			a.clock.Advance(token.DefaultRefreshGrace + time.Second)
			r := a.get("/jwt/refresh", &http.Cookie{Name: "sk_refresh", Value: a.refresh})
			want(t, "replayed refresh", r, http.StatusSeeOther, "/jwt/login")
			// The whole login ends: the victim must log in again too.
			want(t, "the victim after the replay", a.victim.get("/jwt/profile"), http.StatusSeeOther, "/jwt/login")
		}},
		attackRow{name: "api/tampered bearer token", victimKept: true, do: func(t *testing.T, a *arena) {
			for i := 0; i < len(a.apiAccess); i += len(a.apiAccess) / 12 {
				wantProblem(t, "me", a.api("GET", "/api/me", "", flipAt(a.apiAccess, i)), http.StatusUnauthorized)
			}
		}},
		attackRow{name: "api/forged bearer tokens", victimKept: true, do: func(t *testing.T, a *arena) {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			for _, tok := range []string{forgeJWT(t, a, "", nil, nil), forgeJWT(t, a, signingKey(t, a.store).KeyID, k, nil),
				a.cookies["cookie"].Value, a.cookies["session"].Value, a.apiRefresh} {
				wantProblem(t, "me", a.api("GET", "/api/me", "", tok), http.StatusUnauthorized)
				wantProblem(t, "logout", a.api("POST", "/api/logout", "", tok), http.StatusUnauthorized)
			}
		}},
		attackRow{name: "api/expired bearer token", do: func(t *testing.T, a *arena) {
			a.clock.Advance(16 * time.Minute)
			r := a.api("GET", "/api/me", "", a.apiAccess)
			wantProblem(t, "me", r, http.StatusUnauthorized)
			if !strings.Contains(r.Header.Get("WWW-Authenticate"), "expired") {
				t.Errorf("WWW-Authenticate %q does not say the token expired", r.Header.Get("WWW-Authenticate"))
			}
		}},
		attackRow{name: "api/bearer token replayed after logout", do: func(t *testing.T, a *arena) {
			if r := api(t, a.url, "POST", "/api/logout", "", a.apiAccess); r.Status != http.StatusNoContent {
				t.Fatalf("the victim's API logout: %d", r.Status)
			}
			wantProblem(t, "me", a.api("GET", "/api/me", "", a.apiAccess), http.StatusUnauthorized)
			wantProblem(t, "refresh", a.api("POST", "/api/refresh", `{"refresh_token":"`+a.apiRefresh+`"}`, ""), http.StatusUnauthorized)
		}},
		attackRow{name: "api/refresh token replayed after rotation", do: func(t *testing.T, a *arena) {
			if r := apiRefresh(t, a.url, a.apiRefresh); r.Status != http.StatusOK {
				t.Fatalf("the victim's refresh: %d", r.Status)
			}
			a.clock.Advance(token.DefaultRefreshGrace + time.Second)
			wantProblem(t, "replayed refresh", a.api("POST", "/api/refresh", `{"refresh_token":"`+a.apiRefresh+`"}`, ""), http.StatusUnauthorized)
		}},
		attackRow{name: "api/forged and malformed refresh tokens", victimKept: true, do: func(t *testing.T, a *arena) {
			for _, tok := range []string{flipAt(a.apiRefresh, 10), a.apiRefresh + "A",
				a.apiRefresh[:len(a.apiRefresh)-1], a.apiAccess, randomToken() + randomToken()} {
				wantProblem(t, "refresh", a.api("POST", "/api/refresh", `{"refresh_token":"`+tok+`"}`, ""), http.StatusUnauthorized)
			}
		}},
		// A refresh token of a live family with a secret that is not its
		// current one is what a thief's copy looks like after the owner
		// refreshed: the token package ends the whole login (RFC 9700's
		// reuse detection), and the owner logs in again. The family id is
		// the sid of the login's access tokens, so whoever can do this
		// holds one of them and could end the login through logout anyway.
		attackRow{name: "api/refresh token of the victim's family with a made-up secret", do: func(t *testing.T, a *arena) {
			wantProblem(t, "refresh", a.api("POST", "/api/refresh", `{"refresh_token":"`+flipAt(a.apiRefresh, 40)+`"}`, ""), http.StatusUnauthorized)
			if r := api(t, a.url, "GET", "/api/me", "", a.apiAccess); r.Status != http.StatusUnauthorized {
				t.Errorf("the victim's login after a forged refresh of its family: %d, want 401 (the family is revoked)", r.Status)
			}
		}},
	)
	return rows
}

// fixationAttacks plant a session identifier in the victim's browser
// before she logs in: after login her cookie is new, and the planted value
// is not logged in as her.
func fixationAttacks() []attackRow {
	plant := func(t *testing.T, a *arena, cookies ...*http.Cookie) *browser {
		t.Helper()
		b := newBrowser(t, a.url)
		u, _ := url.Parse(a.url)
		b.c.Jar.SetCookies(u, cookies)
		return b
	}
	newValue := func(t *testing.T, b *browser, name, planted string) {
		t.Helper()
		if got := b.cookie(name); got == "" || got == planted {
			t.Errorf("after login the %s cookie is %q: the planted value survived login", name, truncate(got, 20))
		}
	}
	return []attackRow{
		{name: "session/fixation with a made-up token", victimKept: true, do: func(t *testing.T, a *arena) {
			planted := randomToken()
			b := plant(t, a, &http.Cookie{Name: "sk_session", Value: planted})
			b.login("session", victim, victimPass)
			newValue(t, b, "sk_session", planted)
			want(t, "the planted token", a.get("/session/profile", a.victimCookie("session", planted)), http.StatusSeeOther, "/session/login")
		}},
		{name: "session/fixation with the attacker's own session", victimKept: true, do: func(t *testing.T, a *arena) {
			planted := a.mallory("session").cookie("sk_session")
			b := plant(t, a, &http.Cookie{Name: "sk_session", Value: planted})
			b.login("session", victim, victimPass)
			newValue(t, b, "sk_session", planted)
			// Login renewed the session: the planted record is gone.
			want(t, "the planted session", a.get("/session/profile", a.victimCookie("session", planted)), http.StatusSeeOther, "/session/login")
		}},
		{name: "cookie/fixation with the attacker's sealed cookie", victimKept: true, do: func(t *testing.T, a *arena) {
			planted := a.mallory("cookie").cookie("sk_cookie")
			b := plant(t, a, &http.Cookie{Name: "sk_cookie", Value: planted})
			b.login("cookie", victim, victimPass)
			newValue(t, b, "sk_cookie", planted)
			// Logging in ends the login of the cookie the browser had, so
			// the planted cookie is refused everywhere afterwards.
			want(t, "the planted cookie", a.get("/cookie/profile", a.victimCookie("cookie", planted)), http.StatusSeeOther, "/cookie/login")
		}},
		{name: "jwt/fixation with the attacker's tokens", victimKept: true, do: func(t *testing.T, a *arena) {
			m := a.mallory("jwt")
			access := m.cookie("sk_access")
			refreshURL, _ := url.Parse(a.url + "/jwt/refresh")
			var refresh string
			for _, c := range m.c.Jar.Cookies(refreshURL) {
				if c.Name == "sk_refresh" {
					refresh = c.Value
				}
			}
			b := plant(t, a, &http.Cookie{Name: "sk_access", Value: access})
			b.c.Jar.SetCookies(refreshURL, []*http.Cookie{{Name: "sk_refresh", Value: refresh, Path: "/jwt/refresh"}})
			b.login("jwt", victim, victimPass)
			newValue(t, b, "sk_access", access)
			// The login ended the planted one.
			want(t, "the planted access token", a.get("/jwt/profile", a.victimCookie("jwt", access)), http.StatusSeeOther, "/jwt/login")
			want(t, "the planted refresh token", a.get("/jwt/refresh", &http.Cookie{Name: "sk_refresh", Value: refresh}), http.StatusSeeOther, "/jwt/login")
		}},
	}
}

// csrfAttacks send every state-changing route a request as another site's
// page would, carrying the victim's cookies (as a browser that sent them
// would: SameSite=Lax already keeps them off cross-site POSTs).
//
// What Go's http.CrossOriginProtection does with each header set:
//
//   - Sec-Fetch-Site present: only "same-origin" and "none" (the user
//     typed it) pass; "cross-site" and "same-site" (a sibling subdomain)
//     are refused, whatever Origin says.
//   - No Sec-Fetch-Site but an Origin: it passes only when its host is the
//     request's Host; another host, and "null" (a sandboxed frame), are
//     refused.
//   - Neither header: it passes. Every browser since 2020 sends Origin on
//     a cross-origin POST (and Sec-Fetch-Site since 2023), so such a request
//     is not from another site's page in a browser: it is curl, or a
//     program, which holds no victim's cookies to abuse. Those rows send
//     no cookies (as SameSite=Lax would not), and the victim keeps her
//     logins.
//
// The JSON API is authenticated by a Bearer header, which a page on another
// site cannot make a browser attach, so it is not open to CSRF. It gets the
// same cross-origin refusal anyway (as problem details): no page on another
// site has any business calling it (there is no CORS), and programs, which
// send neither header, are not affected.
func csrfAttacks() []attackRow {
	// body is what a request sends; refused says whether it is a
	// cross-origin one (which carries the victim's credentials), not a
	// program's.
	type route struct {
		path, contentType string
		body              func(a *arena, refused bool) string
		bearer            bool
	}
	form := func(user, pass string) func(*arena, bool) string {
		return func(*arena, bool) string { return creds(user, pass).Encode() }
	}
	routes := []route{
		{"/register", formType, form("csrf_made", "password csrf"), false},
		{"/cookie/login", formType, form(attacker, attackerPass), false},
		{"/session/login", formType, form(attacker, attackerPass), false},
		{"/jwt/login", formType, form(attacker, attackerPass), false},
		{"/cookie/logout", formType, form("", ""), false},
		{"/session/logout", formType, form("", ""), false},
		{"/jwt/logout", formType, form("", ""), false},
		{"/session/logout-all", formType, form("", ""), false},
		{"/session/password", formType, func(*arena, bool) string {
			return url.Values{"current_password": {victimPass}, "new_password": {"csrf chose this"}}.Encode()
		}, false},
		{"/session/sessions/revoke", formType, func(*arena, bool) string { return "id=" + strings.Repeat("ab", 32) }, false},
		{"/session/logout-others", formType, form("", ""), false},
		{"/session/account/delete", formType, form("", ""), false},
		{"/session/reauth", formType, func(*arena, bool) string { return "password=" + url.QueryEscape(victimPass) }, false},
		{"/api/login", jsonType, func(*arena, bool) string {
			return `{"username":"` + attacker + `","password":"` + attackerPass + `"}`
		}, false},
		{"/api/refresh", jsonType, func(a *arena, refused bool) string {
			if !refused {
				return `{"refresh_token":"` + randomToken() + `"}`
			}
			return `{"refresh_token":"` + a.apiRefresh + `"}`
		}, false},
		{"/api/logout", "", func(*arena, bool) string { return "" }, true},
	}
	variants := []struct {
		name    string
		headers func(a *arena) map[string]string
		refused bool
	}{
		{"Origin of another site", func(*arena) map[string]string { return map[string]string{"Origin": evilOrigin} }, true},
		{"Origin null", func(*arena) map[string]string { return map[string]string{"Origin": "null"} }, true},
		{"Sec-Fetch-Site cross-site", func(*arena) map[string]string { return map[string]string{"Sec-Fetch-Site": "cross-site"} }, true},
		{"Sec-Fetch-Site same-site, sibling Origin", func(a *arena) map[string]string {
			return map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sibling.localhost"}
		}, true},
		{"Sec-Fetch-Site cross-site, our own Origin", func(a *arena) map[string]string {
			return map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": a.url}
		}, true},
		{"neither header, no cookies", func(*arena) map[string]string { return nil }, false},
	}
	var rows []attackRow
	for _, rt := range routes {
		for _, v := range variants {
			rows = append(rows, attackRow{name: "csrf" + rt.path + "/" + v.name, victimKept: true, do: func(t *testing.T, a *arena) {
				h := v.headers(a)
				if h == nil {
					h = map[string]string{}
				}
				var cookies []*http.Cookie
				if v.refused {
					for _, c := range a.cookies {
						cookies = append(cookies, c)
					}
					cookies = append(cookies, &http.Cookie{Name: "sk_refresh", Value: a.refresh})
				}
				if rt.bearer && v.refused {
					h["Authorization"] = "Bearer " + a.apiAccess
				}
				r := a.send(a.request("POST", rt.path, rt.contentType, rt.body(a, v.refused), h, cookies...))
				if !v.refused {
					if r.Status == http.StatusForbidden {
						t.Errorf("a request without browser headers was refused as cross-origin: %d", r.Status)
					}
					return
				}
				if strings.HasPrefix(rt.path, "/api/") {
					wantProblem(t, "cross-origin POST", r, http.StatusForbidden)
				} else {
					want(t, "cross-origin POST", r, http.StatusForbidden, "")
				}
				if len(r.Header.Values("Set-Cookie")) > 0 {
					t.Errorf("the refused request set cookies: %q", r.Header.Values("Set-Cookie"))
				}
			}})
		}
	}
	// The refusal is not a blanket one: the same request from the site
	// itself goes through.
	rows = append(rows, attackRow{name: "csrf/control: same-origin POST passes", victimKept: true, do: func(t *testing.T, a *arena) {
		r := a.send(a.request("POST", "/cookie/login", formType, creds(attacker, attackerPass).Encode(),
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": a.url}))
		want(t, "same-origin login", r, http.StatusSeeOther, "/cookie/profile")
	}})
	return rows
}

// redirectAttacks try to make the server send a browser to another site:
// through next, through Referer, through the request path.
func redirectAttacks() []attackRow {
	nexts := []string{
		"next=//evil.example", `next=/\evil.example`, "next=https://evil.example", "next=%2F%2Fevil.example",
		"next=%252F%252Fevil.example", "next=/%09/evil.example", "next=%2F%5Cevil.example", "next=http:evil.example",
		"next=/..//evil.example", "next=javascript:alert(1)", "next=%0D%0ALocation:%20https://evil.example",
		"next=//evil.example&next=/cookie/profile", "next=/cookie/profile&next=//evil.example",
	}
	var rows []attackRow
	for _, mode := range allModes {
		rows = append(rows, attackRow{name: mode + "/open redirect through next", victimKept: true, do: func(t *testing.T, a *arena) {
			for _, q := range nexts {
				r := a.postForm("/"+mode+"/login?"+q, creds(attacker, attackerPass))
				if r.Status != http.StatusSeeOther || !isLocal(r.Location) {
					t.Errorf("login with %s: %d to %q, want 303 on this site", q, r.Status, r.Location)
				}
				m := formAction.FindStringSubmatch(a.get("/" + mode + "/login?" + q).Body)
				if m == nil {
					t.Fatalf("no form on the login page")
				}
				action, err := url.Parse(html.UnescapeString(m[1]))
				if err != nil || action.Path != "/"+mode+"/login" || action.Host != "" ||
					(action.Query().Has("next") && !isLocal(action.Query().Get("next"))) {
					t.Errorf("login form for %s posts to %q", q, m[1])
				}
			}
		}})
	}
	rows = append(rows,
		attackRow{name: "jwt/open redirect through refresh's next", victimKept: true, do: func(t *testing.T, a *arena) {
			m := a.mallory("jwt")
			a.clock.Advance(16 * time.Minute)
			for _, q := range nexts {
				r := m.get("/jwt/refresh?" + q)
				a.record("GET /jwt/refresh?"+q, r)
				if r.Status != http.StatusSeeOther || !isLocal(r.Location) {
					t.Errorf("refresh with %s: %d to %q, want 303 on this site", q, r.Status, r.Location)
				}
			}
			a.clock.Set(a.clock.Now().Add(-16 * time.Minute))
		}},
		attackRow{name: "any/Referer of another site is never followed", victimKept: true, do: func(t *testing.T, a *arena) {
			h := map[string]string{"Referer": evilOrigin + "/phish"}
			for _, mode := range allModes {
				want(t, mode+" login", a.send(a.request("POST", "/"+mode+"/login", formType, creds(attacker, attackerPass).Encode(), h)),
					http.StatusSeeOther, "/"+mode+"/profile")
				want(t, mode+" profile", a.send(a.request("GET", "/"+mode+"/profile", "", "", h)), http.StatusSeeOther, "/"+mode+"/login")
				want(t, mode+" logout", a.send(a.request("POST", "/"+mode+"/logout", formType, "", h)), http.StatusSeeOther, "/"+mode+"/login")
			}
		}},
		attackRow{name: "any/paths that look like another host", victimKept: true, do: func(t *testing.T, a *arena) {
			for _, target := range []string{"//evil.example/", "//evil.example/cookie/profile", `/\evil.example/`, "/cookie/profile/..//evil.example", "/%2F%2Fevil.example"} {
				r := a.raw("GET " + target + " HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\n\r\n")
				if strings.HasPrefix(r.Location, "//") || strings.Contains(r.Location, "://") {
					t.Errorf("GET %s: redirect to %q", target, r.Location)
				}
			}
		}},
	)
	return rows
}

// sizeAttacks: bodies over 64 KiB on every route that reads one (413),
// bodies where none is read, and large but legal headers.
func sizeAttacks() []attackRow {
	big := "username=alice&password=" + strings.Repeat("x", 70<<10)
	bigJSON := `{"username":"alice","password":"` + strings.Repeat("x", 70<<10) + `"}`
	var rows []attackRow
	for _, path := range []string{"/register", "/cookie/login", "/session/login", "/jwt/login"} {
		rows = append(rows, attackRow{name: "body" + path + "/70 KiB form", victimKept: true, do: func(t *testing.T, a *arena) {
			want(t, "70 KiB form", a.send(a.request("POST", path, formType, big, nil)), http.StatusRequestEntityTooLarge, "")
			// Chunked, with no Content-Length to refuse it by.
			req := a.request("POST", path, formType, "", nil)
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader(big)), -1
			want(t, "70 KiB chunked form", a.send(req), http.StatusRequestEntityTooLarge, "")
		}})
	}
	for _, path := range []string{"/api/login", "/api/refresh"} {
		rows = append(rows, attackRow{name: "body" + path + "/70 KiB JSON", victimKept: true, do: func(t *testing.T, a *arena) {
			wantProblem(t, "70 KiB JSON", a.send(a.request("POST", path, jsonType, bigJSON, nil)), http.StatusRequestEntityTooLarge)
			req := a.request("POST", path, jsonType, "", nil)
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader(bigJSON)), -1
			wantProblem(t, "70 KiB chunked JSON", a.send(req), http.StatusRequestEntityTooLarge)
		}})
	}
	rows = append(rows,
		attackRow{name: "body/200 KiB on routes that read no body", victimKept: true, do: func(t *testing.T, a *arena) {
			// Under the 256 KiB net/http discards unread, so the
			// connection is kept and the client reads the answer.
			body := strings.Repeat("x", 200<<10)
			for _, path := range []string{"/cookie/logout", "/session/logout", "/jwt/logout", "/session/logout-all"} {
				want(t, path, a.send(a.request("POST", path, formType, body, nil)), http.StatusSeeOther, "/")
			}
			wantProblem(t, "/api/logout", a.send(a.request("POST", "/api/logout", jsonType, body, nil)), http.StatusUnauthorized)
		}},
		attackRow{name: "headers/30 KiB of cookie garbage in every mode", victimKept: true, do: func(t *testing.T, a *arena) {
			for _, mode := range allModes {
				v := strings.Repeat("A", 30<<10)
				want(t, mode, a.get("/"+mode+"/profile", a.victimCookie(mode, v)), http.StatusSeeOther, "/"+mode+"/login")
			}
			var many strings.Builder
			for i := range 2000 {
				fmt.Fprintf(&many, "c%d=v; ", i)
			}
			for _, mode := range allModes {
				r := a.send(a.request("GET", "/"+mode+"/profile", "", "", map[string]string{"Cookie": many.String() + "sk_session=" + randomToken()}))
				want(t, mode+" with 2000 cookies", r, http.StatusSeeOther, "/"+mode+"/login")
			}
		}},
		attackRow{name: "headers/30 KiB bearer token", victimKept: true, do: func(t *testing.T, a *arena) {
			wantProblem(t, "me", a.api("GET", "/api/me", "", strings.Repeat("A", 30<<10)), http.StatusUnauthorized)
		}},
	)
	return rows
}

// bruteForceAttacks guess passwords: after 10 failures for a username, or
// 50 from one address, logins answer 429 with Retry-After, the right
// password included; and at most MaxConcurrentLogins logins of one address
// are in flight at once.
func bruteForceAttacks() []attackRow {
	var rows []attackRow
	paths := []string{"/cookie/login", "/session/login", "/jwt/login", "/api/login"}
	try := func(a *arena, path, user, pass string) response {
		if path == "/api/login" {
			return a.api("POST", path, `{"username":"`+user+`","password":"`+pass+`"}`, "")
		}
		return a.postForm(path, creds(user, pass))
	}
	throttled := func(t *testing.T, what string, r response) {
		t.Helper()
		if r.Status != http.StatusTooManyRequests {
			t.Errorf("%s: %d, want 429", what, r.Status)
			return
		}
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s: Retry-After %q, want a number of seconds", what, r.Header.Get("Retry-After"))
		}
	}
	for _, path := range paths {
		rows = append(rows, attackRow{name: "brute force" + path + "/one username", do: func(t *testing.T, a *arena) {
			for i := range loginAttempts {
				if r := try(a, path, victim, fmt.Sprintf("guess number %d", i)); r.Status != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d, want 401", i+1, r.Status)
				}
			}
			throttled(t, "the right password after 10 guesses", try(a, path, victim, victimPass))
			// An unknown name is throttled the same way: the 429 tells
			// nothing about which names exist.
			for i := range loginAttempts {
				try(a, path, "nobody_here", fmt.Sprintf("guess number %d", i))
			}
			throttled(t, "an unknown user after 10 guesses", try(a, path, "nobody_here", "guess again"))
			// The victim can log in again once the window has passed.
			a.clock.Advance(auth.DefaultWindow + time.Second)
			if path == "/api/login" {
				apiLogin(t, a.url, victim, victimPass)
			} else {
				a.victim.login(strings.Split(path, "/")[1], victim, victimPass)
			}
		}})
	}
	rows = append(rows,
		attackRow{name: "brute force/one address, many usernames", victimKept: true, do: func(t *testing.T, a *arena) {
			// The arena registered two accounts from this address, and
			// registrations count against its 50 attempts too.
			const registered = 2
			for i := range 50 - registered {
				if r := try(a, "/cookie/login", fmt.Sprintf("user%02d", i), "some password"); r.Status != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d, want 401", i+1, r.Status)
				}
			}
			throttled(t, "the 51st attempt from one address", try(a, "/session/login", "user99", "some password"))
		}},
		attackRow{
			name: "brute force/concurrent logins from one address",
			cfg: server.Config{MaxConcurrentLogins: 3, Cookies: cookie.Policy{
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}}},
			victimKept: true,
			do:         concurrentLogins,
		},
	)
	return rows
}

// concurrentLogins holds three logins of one address in flight (their
// bodies half sent), and checks that a fourth from that address is refused
// at once with 429 on every login route, that another address is not, and
// that the address may log in again once its logins have finished.
func concurrentLogins(t *testing.T, a *arena) {
	u, _ := url.Parse(a.url)
	body := creds(attacker, attackerPass).Encode()
	type slowLogin struct {
		conn net.Conn
		resp *bufio.Reader
	}
	// dial starts a login whose body is half sent: it holds its place in
	// the gate until the rest comes.
	dial := func() slowLogin {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST /cookie/login HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n%s",
			u.Host, formType, len(body), body[:5])
		return slowLogin{conn, bufio.NewReader(conn)}
	}
	var slow []slowLogin
	for range 3 {
		slow = append(slow, dial())
	}
	// A probe below can take a place before the last slow login's handler
	// runs; that login is then refused (its 429 waits, unsent, for the
	// rest of its body), and the gate never fills. The log says so: each
	// refused slow login is replaced by a new one.
	refusedSlow := func() int {
		return strings.Count(a.log.String(), `msg="too many concurrent logins from one client" client=198.51.100.7 path=/cookie/login`)
	}
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
	// The three are in flight once a fourth is refused; wait for that, for
	// at most 10 seconds (the handlers start as soon as the server reads
	// their headers).
	deadline := time.Now().Add(10 * time.Second)
	var r response
	for {
		r = a.send(a.request("POST", "/session/login", formType, body, from("198.51.100.7")))
		if r.Status == http.StatusTooManyRequests || time.Now().After(deadline) {
			break
		}
		for len(slow) < 3+refusedSlow() {
			slow = append(slow, dial())
		}
		time.Sleep(20 * time.Millisecond)
	}
	refused := refusedSlow()
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a fourth login in flight from one address: %d (Retry-After %q), want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	for _, path := range []string{"/register", "/cookie/login", "/jwt/login"} {
		want(t, path+" from the busy address", a.send(a.request("POST", path, formType, body, from("198.51.100.7"))), http.StatusTooManyRequests, "")
	}
	wantProblem(t, "/api/login from the busy address", a.send(a.request("POST", "/api/login", jsonType,
		`{"username":"mallory","password":"x"}`, from("198.51.100.7"))), http.StatusTooManyRequests)
	// Pages that hash nothing are not limited.
	want(t, "login form from the busy address", a.send(a.request("GET", "/cookie/login", "", "", from("198.51.100.7"))), http.StatusOK, "")
	// Another address is not held up.
	want(t, "a login from another address", a.send(a.request("POST", "/cookie/login", formType, body, from("203.0.113.9"))),
		http.StatusSeeOther, "/cookie/profile")
	// The slow logins finish normally, and free their places; those the
	// gate refused get their 429.
	statuses := map[int]int{}
	for _, l := range slow {
		io.WriteString(l.conn, body[5:])
		resp, err := http.ReadResponse(l.resp, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		a.record("slow POST /cookie/login", response{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header})
		statuses[resp.StatusCode]++
	}
	if statuses[http.StatusSeeOther] != 3 || statuses[http.StatusTooManyRequests] != refused || len(statuses) > 2 {
		t.Errorf("the slow logins answered %v, want 3 × 303 and %d × 429 (those refused before the gate filled)", statuses, refused)
	}
	want(t, "a login after the slow ones finished", a.send(a.request("POST", "/cookie/login", formType, body, from("198.51.100.7"))),
		http.StatusSeeOther, "/cookie/profile")
}

// enumerationAttacks compare an unknown username with a known one and a
// wrong password: the same status and the same page (the username the
// form echoes aside), and the same work: one argon2id verification each.
// The work is measured as memory, not time: argon2id fills its whole
// memory parameter for every verification, so with 8 MiB of it the bytes a
// login allocates count the hashes it computed, without a clock.
func enumerationAttacks() []attackRow {
	const hashMemoryKiB = 8 << 10
	params := auth.Params{Memory: hashMemoryKiB, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	var rows []attackRow
	for _, path := range []string{"/cookie/login", "/session/login", "/jwt/login", "/api/login"} {
		rows = append(rows, attackRow{name: "enumeration" + path, cfg: server.Config{PasswordParams: params}, victimKept: true, do: func(t *testing.T, a *arena) {
			send := func(user, pass string) response {
				if path == "/api/login" {
					return a.api("POST", path, `{"username":"`+user+`","password":"`+pass+`"}`, "")
				}
				return a.postForm(path, creds(user, pass))
			}
			hashes := func(user, pass string) (response, float64) {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				r := send(user, pass)
				runtime.ReadMemStats(&after)
				return r, float64(after.TotalAlloc-before.TotalAlloc) / float64(hashMemoryKiB<<10)
			}
			unknown, unknownWork := hashes("nobody_here", "a wrong password")
			wrong, wrongWork := hashes(victim, "a wrong password")
			invalid, invalidWork := hashes("x", "a wrong password") // too short a name: refused before any hash
			if unknown.Status != http.StatusUnauthorized || wrong.Status != unknown.Status {
				t.Errorf("unknown user: %d, wrong password: %d; want 401 for both", unknown.Status, wrong.Status)
			}
			normalize := func(body, user string) string { return strings.ReplaceAll(body, user, "USER") }
			if normalize(unknown.Body, "nobody_here") != normalize(wrong.Body, victim) {
				t.Errorf("unknown user and wrong password give different bodies:\n%s\n---\n%s", unknown.Body, wrong.Body)
			}
			for _, h := range []string{"Content-Type", "WWW-Authenticate", "Cache-Control", "Retry-After"} {
				if unknown.Header.Get(h) != wrong.Header.Get(h) {
					t.Errorf("%s differs: %q for an unknown user, %q for a wrong password", h, unknown.Header.Get(h), wrong.Header.Get(h))
				}
			}
			if invalid.Status != http.StatusBadRequest || invalidWork >= 0.5 {
				t.Fatalf("control: an invalid name answered %d after %.2f hashes' worth of memory, want 400 and none: the measure cannot tell", invalid.Status, invalidWork)
			}
			for what, work := range map[string]float64{"unknown user": unknownWork, "wrong password": wrongWork} {
				if work < 0.9 || work >= 1.9 {
					t.Errorf("%s: %.2f hashes' worth of memory allocated, want exactly one argon2id verification", what, work)
				}
			}
		}})
	}
	return rows
}

func randomToken() string {
	return b64(string(randomBytes(32)))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
