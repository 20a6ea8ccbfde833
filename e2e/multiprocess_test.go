package e2e

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// instances is how many "sessionkit serve" processes share one store.
const instances = 3

// cluster is several "sessionkit serve" processes on one store.
type cluster struct {
	t     *testing.T
	spec  string
	addrs []string
	procs []*process
}

// startCluster starts instances processes on the store spec, each on a
// port of its own.
func startCluster(t *testing.T, spec string) *cluster {
	t.Helper()
	c := &cluster{t: t, spec: spec}
	for range instances {
		c.addrs = append(c.addrs, freeAddr(t))
	}
	c.start()
	return c
}

func (c *cluster) start() {
	c.t.Helper()
	c.procs = c.procs[:0]
	for _, addr := range c.addrs {
		c.procs = append(c.procs, startProcess(c.t, addr, append([]string{"--store", c.spec}, loadFlags()...)...))
	}
}

// restart kills every process with SIGKILL (no shutdown, as a crash) and
// starts new ones on the same ports and store.
func (c *cluster) restart() {
	c.t.Helper()
	for _, p := range c.procs {
		p.kill()
	}
	c.start()
}

// base is the URL of instance i (0-based; the issue's #1 is base(0)).
func (c *cluster) base(i int) string { return "http://" + c.addrs[i] }

// logs returns every instance's output.
func (c *cluster) logs() string {
	var b strings.Builder
	for i, p := range c.procs {
		fmt.Fprintf(&b, "--- instance #%d (%s):\n%s", i+1, p.addr, p.log.String())
	}
	return b.String()
}

// TestMultiProcess runs three "sessionkit serve" processes on one shared
// store (Redis, then PostgreSQL) and uses them as a load balancer would,
// sending each request of one browser to any instance:
//
//   - a session-mode login on #1 is seen on #2 and #3, and 300 concurrent
//     views spread over the three count exactly 300 (no lost update);
//   - a JWT-mode login and an API login made on one instance are valid on
//     the others (the signing keys and logins live in the store);
//   - all three are killed and restarted: every login survives, counts go
//     on;
//   - a logout on one instance ends the login on all of them, even for a
//     copy of the old cookie or token replayed on another;
//   - no token a client holds appears anywhere in the store.
func TestMultiProcess(t *testing.T) {
	for _, kind := range sharedStores {
		t.Run(kind.name, func(t *testing.T) {
			st := kind.open(t)
			c := startCluster(t, st.spec)
			b := newAgent(t, c.logs)
			replay := newReplayer(t, c.logs)
			user, pass := randomName("mp_"), "correct horse battery"
			b.register(c.base(0), user, pass)

			sess, count := sessionBurst(t, c, b, user, pass)

			// JWT mode: log in on #1, the profile on #2 and #3.
			jwt := b.login(c.base(0), "jwt", user, pass)
			access, refresh := jwt["sk_access"], jwt["sk_refresh"]
			if access == nil || refresh == nil {
				t.Fatalf("JWT login on #1 set cookies %v, want sk_access and sk_refresh", keys(jwt))
			}
			b.profile(c.base(1), "jwt", user, 1)
			b.profile(c.base(2), "jwt", user, 2)

			// The API: log in on #1, use the token on #2, refresh on #3,
			// use the new token on #1.
			login := map[string]string{"username": user, "password": pass}
			first := b.decodePair("API login on #1", b.api(http.MethodPost, c.base(0)+"/api/login", login, ""))
			b.me(c.base(1), first.AccessToken, user)
			pair := b.decodePair("API refresh on #3", b.api(http.MethodPost, c.base(2)+"/api/refresh",
				map[string]string{"refresh_token": first.RefreshToken}, ""))
			b.me(c.base(0), pair.AccessToken, user)

			// Cookie mode: log in on #1, the profile on #2 and #3.
			sealed := b.login(c.base(0), "cookie", user, pass)["sk_cookie"]
			if sealed == nil {
				t.Fatal("cookie login on #1 set no sk_cookie cookie")
			}
			b.profile(c.base(1), "cookie", user, 1)
			b.profile(c.base(2), "cookie", user, 2)

			// No credential a client holds is in the store, while every
			// login is live.
			secrets := map[string]string{
				"session cookie":          sess.Value,
				"JWT-mode access token":   access.Value,
				"JWT-mode refresh token":  refresh.Value,
				"API access token":        first.AccessToken,
				"API refresh token":       first.RefreshToken,
				"refreshed access token":  pair.AccessToken,
				"refreshed refresh token": pair.RefreshToken,
			}
			checkDump(t, st, "while logged in", user, sess.Value, secrets)

			// Kill all three and start three new ones: every login goes on.
			c.restart()
			for i := range instances {
				count++
				b.profile(c.base(i), "session", user, count)
			}
			b.profile(c.base(0), "jwt", user, 3)
			b.me(c.base(2), pair.AccessToken, user)
			b.profile(c.base(0), "cookie", user, 3)

			// Session logout on #3 ends the session on #1 and #2, even for
			// a copy of the cookie.
			count++
			replay.profile(c.base(1), "session", user, count, sess) // the copy works until then
			r := b.post(c.base(2)+"/session/logout", nil)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/session/login" {
				t.Fatalf("session logout on #3: %v, want 303 to /session/login", r)
			}
			b.loggedOut("the browser's session profile on #1 after logout on #3", b.get(c.base(0)+"/session/profile"), "session")
			for _, i := range []int{0, 1} {
				b.loggedOut(fmt.Sprintf("the old session cookie replayed on #%d after logout on #3", i+1),
					replay.get(c.base(i)+"/session/profile", sess), "session")
			}

			// JWT logout on #3 ends the login on #1, even for a copy of
			// the access token.
			replay.profile(c.base(0), "jwt", user, 4, access)
			r = b.post(c.base(2)+"/jwt/logout", nil)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/jwt/login" {
				t.Fatalf("JWT logout on #3: %v, want 303 to /jwt/login", r)
			}
			b.loggedOut("the browser's JWT profile on #1 after logout on #3", b.get(c.base(0)+"/jwt/profile"), "jwt")
			b.loggedOut("the old access token replayed on #1 after logout on #3",
				replay.get(c.base(0)+"/jwt/profile", access), "jwt")

			// API logout on #2 ends the login on #1 and #3, for the
			// token logged out and the one before it.
			r = b.api(http.MethodPost, c.base(1)+"/api/logout", nil, pair.AccessToken)
			if r.StatusCode != http.StatusNoContent {
				t.Fatalf("API logout on #2: %v, want 204", r)
			}
			for _, i := range []int{0, 2} {
				for name, tok := range map[string]string{"the logged-out access token": pair.AccessToken, "the access token before the refresh": first.AccessToken} {
					r := b.api(http.MethodGet, c.base(i)+"/api/me", nil, tok)
					if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
						t.Errorf("%s on #%d after API logout on #2: %v (WWW-Authenticate %q), want 401 invalid_token",
							name, i+1, r, r.Header.Get("WWW-Authenticate"))
					}
				}
			}
			r = b.api(http.MethodPost, c.base(0)+"/api/refresh", map[string]string{"refresh_token": pair.RefreshToken}, "")
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("the refresh token on #1 after API logout on #2: %v, want 401", r)
			}

			// Cookie logout on #3 ends the cookie login (deletes its
			// record) on all three: a copy of it replayed on #1 is refused.
			replay.profile(c.base(0), "cookie", user, 1, sealed) // the copy works until then
			r = b.post(c.base(2)+"/cookie/logout", nil)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/cookie/login" {
				t.Fatalf("cookie logout on #3: %v, want 303 to /cookie/login", r)
			}
			b.loggedOut("the old sealed cookie replayed on #1 after logout on #3",
				replay.get(c.base(0)+"/cookie/profile", sealed), "cookie")

			// Logouts wrote deny-list entries (the JWT access token's jti)
			// and deleted records: still no credential.
			checkDump(t, st, "after the logouts", user, "", secrets)
		})
	}
}

// checkDump dumps the test's store and checks that no secret is in it. So
// that the check can fail, it first checks that the dump holds what it
// must: the user's name and, when sessionToken is not empty, the hash the
// store names that session by.
func checkDump(t *testing.T, st sharedStore, when, user, sessionToken string, secrets map[string]string) {
	t.Helper()
	dump := st.dump(t)
	if !strings.Contains(dump, user) {
		t.Fatalf("%s dump %s does not hold the user's name %q: the dump misses data\n%s", st.name, when, user, truncate(dump, 4000))
	}
	if sessionToken != "" && !strings.Contains(dump, sessionHash(sessionToken)) {
		t.Fatalf("%s dump %s does not hold the session's SHA-256 %s: the dump misses the sessions\n%s",
			st.name, when, sessionHash(sessionToken), truncate(dump, 4000))
	}
	t.Logf("%s dump %s: %d bytes", st.name, when, len(dump))
	assertNoSecrets(t, st.name+" dump "+when, dump, secrets)
	// The keys are in the dump, encrypted under the KEK, which is not: no
	// private JWK, no key material a copy of the store could sign with.
	sealed := "skkek1."
	if !strings.Contains(dump, sealed) && !strings.Contains(dump, hex.EncodeToString([]byte(sealed))) {
		t.Fatalf("%s dump %s holds no encrypted key (%q): the dump misses the keys\n%s", st.name, when, sealed, truncate(dump, 4000))
	}
	for _, private := range []string{`"d":"`, `"kty":`} {
		if strings.Contains(dump, private) || strings.Contains(dump, hex.EncodeToString([]byte(private))) {
			t.Errorf("%s dump %s holds %s: a private key in plaintext", st.name, when, private)
		}
	}
}

// burst sends perInstance GET path requests with cookie to each instance
// of c, all at once, and returns how many answered each status ("error"
// for no answer). Every answer other than a 200 greeting is reported.
func burst(t *testing.T, c *cluster, path string, cookie *http.Cookie, perInstance int) map[string]int {
	t.Helper()
	tr := &http.Transport{MaxIdleConns: perInstance * instances, MaxIdleConnsPerHost: perInstance}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		samples  []string
		wg       sync.WaitGroup
		start    = make(chan struct{})
	)
	record := func(status, sample string) {
		mu.Lock()
		defer mu.Unlock()
		statuses[status]++
		if sample != "" && len(samples) < 5 {
			samples = append(samples, sample)
		}
	}
	began := time.Now()
	for i := range instances * perInstance {
		url := c.base(i%instances) + path
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				record("error", err.Error())
				return
			}
			req.AddCookie(cookie)
			<-start
			resp, err := client.Do(req)
			if err != nil {
				record("error", err.Error())
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			status := strconv.Itoa(resp.StatusCode)
			switch {
			case err != nil:
				record("error", err.Error())
			case resp.StatusCode != http.StatusOK:
				record(status, fmt.Sprintf("%s: %d %q", url, resp.StatusCode, truncate(string(body), 200)))
			case !welcomeRE.MatchString(string(body)):
				record("200 without a greeting", fmt.Sprintf("%s: %q", url, truncate(string(body), 200)))
			default:
				record(status, "")
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("%d concurrent requests over %d instances in %v: %v", instances*perInstance, instances, time.Since(began).Round(time.Millisecond), statuses)
	if len(samples) > 0 {
		t.Errorf("answers other than a 200 greeting, histogram %v; samples:\n%s\nserver logs (tail):\n%s",
			statuses, strings.Join(samples, "\n"), tail(c.logs(), 4000))
	}
	return statuses
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// keys returns the sorted names of a cookie map, for messages.
func keys(m map[string]*http.Cookie) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// sessionBurst logs user in (session mode) on #1 with b, views the
// profile on #2 and #3, then 300 times at once, 100 per instance: every
// view must answer 200 and count exactly once. It returns the session
// cookie and the count the profile shows now.
func sessionBurst(t *testing.T, c *cluster, b *agent, user, pass string) (*http.Cookie, int) {
	t.Helper()
	sess := b.login(c.base(0), "session", user, pass)["sk_session"]
	if sess == nil {
		t.Fatal("session login on #1 set no sk_session cookie")
	}
	b.profile(c.base(1), "session", user, 1)
	b.profile(c.base(2), "session", user, 2)
	const perInstance = 100
	statuses := burst(t, c, "/session/profile", sess, perInstance)
	if statuses["200"] != perInstance*instances {
		t.Errorf("%d concurrent views of one session over %d instances answered %v, want %d × 200",
			perInstance*instances, instances, statuses, perInstance*instances)
	}
	// Every view that answered 200 counted, and no other did.
	count := 2 + statuses["200"] + 1
	b.profile(c.base(0), "session", user, count)
	return sess, count
}
