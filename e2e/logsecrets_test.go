package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLogsHoldNoSecrets runs "sessionkit serve" at debug level and does a
// full run with a plain HTTP client, once over plain HTTP and once as if
// behind a TLS-terminating proxy (so that the cookies are the __Host- and
// __Secure- ones): register, log in, view the profile and log out in every
// mode (with a JWT refresh and a log-out-everywhere), the API's login,
// me, refresh and logout, a refresh-token reuse and a failed login. Then
// it stops the server and looks through everything it wrote for every
// secret the client saw: the password, every cookie value, every token
// and its parts, and the store's name for every session (the SHA-256 of
// its token). The log must hold none of them, though it does hold the
// security events, with the user, and a line per request.
func TestLogsHoldNoSecrets(t *testing.T) {
	srv := startProcess(t, freeAddr(t), "--store", "memory:", "--log-level", "debug",
		"--trusted-proxies", "127.0.0.1/32", "--refresh-grace", "-1s")
	base := "http://" + srv.addr
	seen := &seenSecrets{}
	users := map[string]string{}
	for _, run := range []struct {
		name      string
		behindTLS bool
	}{
		{"plain HTTP", false},
		{"behind a TLS proxy", true},
	} {
		user := randomName("logs_")
		users[run.name] = user
		t.Run(run.name, func(t *testing.T) {
			fullRun(t, srv, base, user, "secret words "+randomName("pw"), run.behindTLS, seen)
		})
	}
	stopProcess(t, srv)
	log := srv.log.String()

	// Positive controls: the log was captured, and holds what it should.
	for run, user := range users {
		for _, event := range []string{`msg="account created" user=`, `msg=login user=`, `msg="login failed" user=`,
			`msg="refresh token reused: login revoked" user=`, `msg="logged out everywhere" mode=session user=`} {
			if !strings.Contains(log, event+user+" ") {
				t.Errorf("%s: no %s%s line in the log", run, event, user)
			}
		}
	}
	for _, route := range []string{"POST /session/login", "GET /jwt/profile", "POST /api/refresh", "POST /cookie/logout"} {
		if !regexp.MustCompile(`msg=request method=\S+ route="` + route + `" status=\d+ duration=\S+ request_id=[0-9a-f]{16}`).MatchString(log) {
			t.Errorf("no request line for %s in the log", route)
		}
	}
	if seen.cookieNames["__Host-sk_session"] == 0 || seen.cookieNames["__Secure-sk_refresh"] == 0 || seen.cookieNames["sk_cookie"] == 0 {
		t.Errorf("the runs did not see every kind of cookie: %v", seen.cookieNames)
	}

	leaks := 0
	for _, s := range seen.list {
		for _, form := range s.forms() {
			if strings.Contains(log, form) {
				leaks++
				t.Errorf("the log holds %s (%q…)", s.name, form[:min(len(form), 12)])
				break
			}
		}
	}
	t.Logf("looked for %d secrets in %d bytes of log", len(seen.list), len(log))
	if leaks > 0 {
		t.Logf("server log:\n%s", log)
	}
}

// fullRun is one user's run through every mode and the API.
func fullRun(t *testing.T, srv *process, base, user, pass string, behindTLS bool, seen *seenSecrets) {
	b := newAgent(t, srv.log.String)
	b.client.Transport = &recordingTransport{seen: seen, behindTLS: behindTLS}
	if behindTLS {
		b.client.Jar = httpsJar{b.client.Jar}
	}
	seen.add("the password", pass)
	seen.add("the password, form-encoded", url.QueryEscape(pass))

	b.register(base, user, pass)
	for _, mode := range []string{"cookie", "session", "jwt"} {
		b.login(base, mode, user, pass)
		b.profile(base, mode, user, 1)
		if mode == "jwt" {
			r := b.get(base + "/jwt/refresh")
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/jwt/profile" {
				t.Fatalf("JWT refresh: %v, want 303 to /jwt/profile", r)
			}
			b.profile(base, mode, user, 2)
		}
		if r := b.post(base+"/"+mode+"/logout", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s logout: %v, want 303", mode, r)
		}
		b.loggedOut(mode+" profile after logout", b.get(base+"/"+mode+"/profile"), mode)
	}
	b.login(base, "session", user, pass)
	if r := b.post(base+"/session/logout-all", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("session logout-all: %v, want 303", r)
	}

	creds := map[string]string{"username": user, "password": pass}
	first := b.decodePair("API login", b.api(http.MethodPost, base+"/api/login", creds, ""))
	seen.addToken("an API access token", first.AccessToken)
	seen.add("an API refresh token", first.RefreshToken)
	b.me(base, first.AccessToken, user)
	next := b.decodePair("API refresh", b.api(http.MethodPost, base+"/api/refresh", map[string]string{"refresh_token": first.RefreshToken}, ""))
	seen.addToken("a refreshed API access token", next.AccessToken)
	seen.add("a refreshed API refresh token", next.RefreshToken)
	b.me(base, next.AccessToken, user)
	if r := b.api(http.MethodPost, base+"/api/logout", nil, next.AccessToken); r.StatusCode != http.StatusNoContent {
		t.Fatalf("API logout: %v, want 204", r)
	}
	if r := b.api(http.MethodGet, base+"/api/me", nil, next.AccessToken); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API me after logout: %v, want 401", r)
	}

	// The server runs with no grace window: a spent refresh token presented
	// again is a reuse at once.
	second := b.decodePair("second API login", b.api(http.MethodPost, base+"/api/login", creds, ""))
	seen.addToken("an API access token", second.AccessToken)
	seen.add("an API refresh token", second.RefreshToken)
	third := b.decodePair("second API refresh", b.api(http.MethodPost, base+"/api/refresh", map[string]string{"refresh_token": second.RefreshToken}, ""))
	seen.addToken("a refreshed API access token", third.AccessToken)
	seen.add("a refreshed API refresh token", third.RefreshToken)
	if r := b.api(http.MethodPost, base+"/api/refresh", map[string]string{"refresh_token": second.RefreshToken}, ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a reused refresh token: %v, want 401", r)
	}

	// A wrong password is often the right one mistyped: it is as secret.
	wrong := "mistyped " + randomName("pw")
	seen.add("a wrong password", wrong)
	if r := b.post(base+"/session/login", credentials(user, wrong)); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %v, want 401", r)
	}
}

// stopProcess ends the process as a service manager does (SIGTERM) and
// waits for it to exit, so that everything it logs is in.
func stopProcess(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("sessionkit serve did not exit within 20s of SIGTERM")
	}
	if !strings.Contains(p.log.String(), `msg=stopped`) {
		t.Errorf("sessionkit serve did not stop cleanly: %s", tail(p.log.String(), 2000))
	}
}

// secret is a value the client saw that no log line may hold.
type secret struct {
	name, value string
	jwt         bool // a compact JWT: its payload and signature count too
	session     bool // a session token: the store's name for it counts too
}

// forms returns every form of the secret the log must not hold: the value
// as the client saw it and in the forms a store keeps (raw, hex, padded
// base64); for a JWT its payload and its signature (its header is the same
// for every token of a key, and so are the first claims of tokens issued in
// the same second); for anything else each half of it (a log that cut it
// short); and for a session token the session's id (its SHA-256 in hex)
// and the first 16 digits of it.
func (s secret) forms() []string {
	forms := secretForms(s.value)
	parts := strings.Split(s.value, ".")
	switch n := len(s.value); {
	case s.jwt && len(parts) == 3:
		forms = append(forms, parts[1], parts[2])
	case n >= 32:
		forms = append(forms, s.value[:n/2], s.value[n/2:])
	}
	if s.session {
		id := sessionHash(s.value)
		forms = append(forms, id, id[:16])
	}
	return forms
}

// seenSecrets collects the secrets of a run.
type seenSecrets struct {
	mu          sync.Mutex
	list        []secret
	cookieNames map[string]int
}

func (s *seenSecrets) add(name, value string) { s.put(secret{name: name, value: value}) }

func (s *seenSecrets) addToken(name, value string) {
	s.put(secret{name: name, value: value, jwt: true})
}

func (s *seenSecrets) put(sec secret) {
	if sec.value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, sec)
}

// cookie records a cookie the server set.
func (s *seenSecrets) cookie(c *http.Cookie) {
	s.mu.Lock()
	if s.cookieNames == nil {
		s.cookieNames = map[string]int{}
	}
	s.cookieNames[c.Name]++
	s.mu.Unlock()
	base := strings.TrimPrefix(strings.TrimPrefix(c.Name, "__Host-"), "__Secure-")
	s.put(secret{
		name:    "the value of cookie " + c.Name,
		value:   c.Value,
		jwt:     base == "sk_access",
		session: base == "sk_session",
	})
}

// recordingTransport records every cookie the server sets and, behind
// TLS, says so the way a trusted proxy does.
type recordingTransport struct {
	seen      *seenSecrets
	behindTLS bool
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.behindTLS {
		req = req.Clone(req.Context())
		req.Header.Set("X-Forwarded-Proto", "https")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	for _, c := range resp.Cookies() {
		rt.seen.cookie(c)
	}
	return resp, nil
}

// httpsJar keeps cookies as a browser talking HTTPS to the proxy does:
// Secure cookies are kept and sent back, though the test talks plain HTTP
// to the server behind the proxy.
type httpsJar struct{ http.CookieJar }

func (j httpsJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.CookieJar.SetCookies(asHTTPS(u), cookies)
}

func (j httpsJar) Cookies(u *url.URL) []*http.Cookie { return j.CookieJar.Cookies(asHTTPS(u)) }

func asHTTPS(u *url.URL) *url.URL {
	c := *u
	c.Scheme = "https"
	return &c
}
