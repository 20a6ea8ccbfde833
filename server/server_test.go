package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// cheapParams keep password hashing fast in tests that log in many times.
// (The default parameters are exercised by the auth package and the
// browser test.)
var cheapParams = auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// newServer starts the application on backend and returns its URL.
func newServer(t *testing.T, backend server.Backend, cfg server.Config) *httptest.Server {
	t.Helper()
	if cfg.PasswordParams == (auth.Params{}) {
		cfg.PasswordParams = cheapParams
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	srv, err := server.New(context.Background(), backend, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// newMem returns a memory store closed when the test ends.
func newMem(t *testing.T) *memstore.Store {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	return st
}

func newMemServer(t *testing.T) *httptest.Server {
	t.Helper()
	return newServer(t, newMem(t), server.Config{})
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see each 303.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a test looks at: status, Location, body.
type response struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Location"), string(body), resp.Header}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	return b.postRaw(path, form.Encode())
}

func (b *browser) postRaw(path, body string) response {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func creds(user, pass string) url.Values {
	return url.Values{"username": {user}, "password": {pass}}
}

// register creates an account and fails the test if that does not work.
func (b *browser) register(user, pass string) {
	b.t.Helper()
	if r := b.post("/register", creds(user, pass)); r.Status != http.StatusSeeOther {
		b.t.Fatalf("register %s: status %d, body %q", user, r.Status, r.Body)
	}
}

// login logs in through mode ("cookie", "session", "jwt") and fails the test if
// that does not work.
func (b *browser) login(mode, user, pass string) {
	b.t.Helper()
	r := b.post("/"+mode+"/login", creds(user, pass))
	if r.Status != http.StatusSeeOther || r.Location != "/"+mode+"/profile" {
		b.t.Fatalf("%s login %s: status %d, location %q, body %q", mode, user, r.Status, r.Location, r.Body)
	}
}

// profile fetches mode's profile and returns the greeting it shows, or
// fails the test when the profile does not answer 200.
func (b *browser) profile(mode string) string {
	b.t.Helper()
	r := b.get("/" + mode + "/profile")
	if r.Status != http.StatusOK {
		b.t.Fatalf("%s profile: status %d, location %q", mode, r.Status, r.Location)
	}
	return greeting(b.t, r.Body)
}

func greeting(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, "welcome ")
	if i < 0 {
		t.Fatalf("no greeting in the page: %q", body)
	}
	rest := body[i:]
	return rest[:strings.Index(rest, "<")]
}

// cookieNames are the login cookies of each mode.
var cookieNames = map[string]string{"cookie": "sk_cookie", "session": "sk_session", "jwt": "sk_access"}

// cookie returns the value of the browser's cookie called name, or "".
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// cookieValue returns the value of the cookie-mode login cookie, failing
// the test if the browser has none.
func (b *browser) cookieValue() string {
	b.t.Helper()
	v := b.cookie("sk_cookie")
	if v == "" {
		b.t.Fatal("the browser holds no sk_cookie")
	}
	return v
}

// withCookie sends a GET with exactly the given Cookie header, over a raw
// connection so that any bytes can be sent (net/http's client refuses some
// that a hostile client would send).
func withCookie(t *testing.T, base, path, cookieHeader string) response {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n"
	if cookieHeader != "" {
		req += "Cookie: " + cookieHeader + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Location"), string(body), resp.Header}
}

// TestReplayAfterLogout copies the login cookie before logout and sends the
// copy afterwards: the deleted record (of the cookie login, of the session,
// of the JWT login) refuses it in every mode.
func TestReplayAfterLogout(t *testing.T) {
	for mode, name := range cookieNames {
		t.Run(mode, func(t *testing.T) {
			ts := newMemServer(t)
			b := newBrowser(t, ts.URL)
			b.register("bob", "password two")
			b.login(mode, "bob", "password two")
			b.profile(mode)
			stolen := name + "=" + b.cookie(name)
			profile := "/" + mode + "/profile"
			if r := withCookie(t, ts.URL, profile, stolen); r.Status != http.StatusOK {
				t.Fatalf("the copy does not work before logout (status %d): the test proves nothing", r.Status)
			}
			if r := b.post("/"+mode+"/logout", nil); r.Status != http.StatusSeeOther {
				t.Fatalf("logout: %d", r.Status)
			}
			r := withCookie(t, ts.URL, profile, stolen)
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/"+mode+"/login") {
				t.Errorf("replayed cookie after logout: %d %q, want 303 to login", r.Status, r.Location)
			}
		})
	}
}

// TestCookieGarbage sends cookies nobody sealed: each is "not logged in".
func TestCookieGarbage(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("carol", "password three")
	b.login("cookie", "carol", "password three")
	valid := b.cookieValue()

	cases := map[string]string{
		"empty":          "",
		"10 KB":          strings.Repeat("A", 10<<10),
		"invalid base64": "!!!not*base64$$$",
		"binary":         "\x80\xfe\xff\xc3\x28\x7e",
		"truncated":      valid[:len(valid)/2],
		"one char short": valid[:len(valid)-1],
		"one char more":  valid + "A",
	}
	// Change every character of the valid cookie, one at a time.
	for i := range valid {
		c := byte('A')
		if valid[i] == 'A' {
			c = 'B'
		}
		cases["tampered at "+strconv.Itoa(i)] = valid[:i] + string(c) + valid[i+1:]
	}
	for name, value := range cases {
		r := withCookie(t, ts.URL, "/cookie/profile", "sk_cookie="+value)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/cookie/login") {
			t.Errorf("%s: %d %q, want 303 to the login page", name, r.Status, r.Location)
		}
	}
	// Control bytes in a header are refused by net/http itself, before any
	// handler runs: a 400, and still nobody is logged in.
	if r := withCookie(t, ts.URL, "/cookie/profile", "sk_cookie=\x01\x02"); r.Status != http.StatusBadRequest {
		t.Errorf("control bytes: %d, want 400", r.Status)
	}
	// The valid one still works: the cases above failed for their own
	// reason, not because cookies do not work at all.
	if r := withCookie(t, ts.URL, "/cookie/profile", "sk_cookie="+valid); r.Status != http.StatusOK {
		t.Errorf("the untouched cookie: %d, want 200", r.Status)
	}
}

// failingStore is a memory store whose deny list and ping fail, as a store
// that is down would.
type failingStore struct {
	*memstore.Store
}

var errDown = errors.New("store is down")

func (failingStore) Denied(context.Context, string) (bool, error) { return false, errDown }
func (failingStore) Ping(context.Context) error                   { return errDown }

// TestCookieForgedWithServerKey seals values with the server's own key, to
// show that even a correctly keyed value is refused when it was sealed for
// another cookie name, has expired, names no recorded login, or names
// someone else's login. The control case shows that the crafted value is
// otherwise accepted.
func TestCookieForgedWithServerKey(t *testing.T) {
	ctx := context.Background()
	mem := newMem(t)
	ts := newServer(t, mem, server.Config{})
	keys, err := mem.Keys(ctx, "cookie")
	if err != nil || len(keys) == 0 {
		t.Fatalf("the server stored no cookie key: %v", err)
	}
	ring, err := cookie.NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, ts.URL)
	b.register("mallory", "password seven")
	b.login("cookie", "mallory", "password seven")
	b.register("victim", "password eight")
	// The plaintext a cookie.Cookie seals: a 16-byte id (here that of
	// mallory's login, which the store has a record of), then the data
	// (format byte, count varint, name).
	plain, err := ring.Open("sk_cookie", b.cookieValue(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	loginID := plain[:16:16]
	seal := func(name string, id []byte, user string, expires time.Time) string {
		t.Helper()
		v, err := ring.Seal(name, append(append(id, 1, 0), user...), expires)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Second)
	cases := []struct {
		name   string
		value  string
		status int
	}{
		{"control: sealed for sk_cookie", seal("sk_cookie", loginID, "mallory", future), http.StatusOK},
		{"sealed for another cookie name", seal("sk_session", loginID, "mallory", future), http.StatusSeeOther},
		{"sealed for the __Host- name", seal("__Host-sk_cookie", loginID, "mallory", future), http.StatusSeeOther},
		{"expired", seal("sk_cookie", loginID, "mallory", past), http.StatusSeeOther},
		{"an id no login has", seal("sk_cookie", make([]byte, 16), "mallory", future), http.StatusSeeOther},
		{"another user's name in mallory's login", seal("sk_cookie", loginID, "victim", future), http.StatusSeeOther},
	}
	for _, c := range cases {
		r := withCookie(t, ts.URL, "/cookie/profile", "sk_cookie="+c.value)
		if r.Status != c.status {
			t.Errorf("%s: %d, want %d", c.name, r.Status, c.status)
		}
		if c.status == http.StatusSeeOther && !strings.HasPrefix(r.Location, "/cookie/login") {
			t.Errorf("%s: redirected to %q, want the login page", c.name, r.Location)
		}
	}
}

// TestKeyRotationKeepsLogins adds a new cookie key to the store, as a key
// rotation does, and restarts the server: a cookie sealed with the old key
// still opens, and the cookie written back is sealed with the new one.
func TestKeyRotationKeepsLogins(t *testing.T) {
	ctx := context.Background()
	mem := newMem(t)
	before := newServer(t, mem, server.Config{})
	b := newBrowser(t, before.URL)
	b.register("kim", "password eleven")
	b.login("cookie", "kim", "password eleven")
	oldCookie := b.cookieValue()

	newKey, err := cookie.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.AddKey(ctx, "cookie", newKey); err != nil {
		t.Fatal(err)
	}
	after := newServer(t, mem, server.Config{})
	r := withCookie(t, after.URL, "/cookie/profile", "sk_cookie="+oldCookie)
	if r.Status != http.StatusOK {
		t.Fatalf("cookie sealed with the old key after rotation: %d %q, want 200", r.Status, r.Location)
	}
	if got := greeting(t, r.Body); got != "welcome kim with the count: 1" {
		t.Errorf("after rotation: %q", got)
	}
	rewritten := ""
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "sk_cookie" {
			rewritten = c.Value
		}
	}
	onlyNew, err := cookie.NewKeyRing(newKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onlyNew.Open("sk_cookie", rewritten, time.Now()); err != nil {
		t.Errorf("the rewritten cookie does not open with the new key alone: %v", err)
	}
}

// TestSecureBehindTrustedProxy logs in through a trusted proxy that says
// the client used HTTPS: the cookie is Secure with the __Host- prefix, and
// it works on the next request through the same proxy.
func TestSecureBehindTrustedProxy(t *testing.T) {
	mem := newMem(t)
	ts := newServer(t, mem, server.Config{Cookies: cookie.Policy{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}})
	b := newBrowser(t, ts.URL)
	b.register("lena", "password twelve")

	req, err := http.NewRequest("POST", ts.URL+"/cookie/login", strings.NewReader(creds("lena", "password twelve").Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	r := b.do(req)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("login through the proxy: %d", r.Status)
	}
	set := r.Header.Get("Set-Cookie")
	for _, want := range []string{"__Host-sk_cookie=", "; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	value := strings.TrimPrefix(strings.SplitN(set, ";", 2)[0], "__Host-sk_cookie=")

	profile, err := http.NewRequest("GET", ts.URL+"/cookie/profile", nil)
	if err != nil {
		t.Fatal(err)
	}
	profile.Header.Set("X-Forwarded-Proto", "https")
	profile.Header.Set("Cookie", "__Host-sk_cookie="+value)
	if r := b.do(profile); r.Status != http.StatusOK {
		t.Errorf("profile through the proxy: %d %q, want 200", r.Status, r.Location)
	}
}
