package peers_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/bench/peers"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// dates matches the times on the page, which differ from one minute to the
// next.
var dates = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC`)

// welcome matches the page's greeting.
var welcome = regexp.MustCompile(`welcome .*`)

// normalize replaces the page's times with a fixed one.
func normalize(body string) string {
	return dates.ReplaceAllString(body, "2000-01-01 00:00 UTC")
}

// newPeer builds a peer, giving scs-redis the test Redis server and a key
// prefix of its own (skipped when Redis is unreachable).
func newPeer(t *testing.T, kind string) *peers.Peer {
	t.Helper()
	var opts peers.Options
	if kind == peers.SCSRedis {
		raw, prefix := testenv.RedisPrefix(t)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		db, _ := strconv.Atoi(strings.TrimPrefix(u.Path, "/"))
		opts = peers.Options{RedisAddr: u.Host, RedisDB: db, RedisPrefix: prefix}
	}
	p, err := peers.New(kind, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// browse logs in to the peer at base and views the profile n times,
// returning each page.
func browse(t *testing.T, base string, n int) []string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/login", url.Values{"username": {peers.TestUser}, "password": {peers.TestPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login: %d, want 303", resp.StatusCode)
	}
	var pages []string
	for range n {
		resp, err := client.Get(base + "/profile")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /profile: %d, want 200", resp.StatusCode)
		}
		pages = append(pages, string(body))
	}
	return pages
}

// Every peer counts each view from the login on, and writes the same page
// as every other peer.
func TestEveryPeerWritesTheSamePage(t *testing.T) {
	var first string
	for _, kind := range peers.Kinds() {
		t.Run(kind, func(t *testing.T) {
			srv := httptest.NewServer(newPeer(t, kind))
			defer srv.Close()
			pages := browse(t, srv.URL, 2)
			for i, page := range pages {
				want := "welcome bench with the count: " + strconv.Itoa(i+1) + "</p>"
				if !strings.Contains(page, want) {
					t.Errorf("view %d: page lacks %q; its greeting: %s", i+1, want, welcome.FindString(page))
				}
			}
			got := normalize(pages[1])
			if first == "" {
				first = got
			} else if got != first {
				t.Errorf("page differs from %s's:\n%s\nwant:\n%s", peers.Kinds()[0], got, first)
			}
		})
	}
}

// A wrong password, a missing cookie or a forged one sends the browser to
// the login page: no peer counts a view it cannot attribute.
func TestPeersRefuseStrangers(t *testing.T) {
	for _, kind := range peers.Kinds() {
		if kind == peers.Bare {
			continue // no logins at all
		}
		t.Run(kind, func(t *testing.T) {
			srv := httptest.NewServer(newPeer(t, kind))
			defer srv.Close()
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			resp, err := noRedirect.PostForm(srv.URL+"/login", url.Values{"username": {peers.TestUser}, "password": {"wrong-password"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
				t.Errorf("wrong password: %d with %d cookies, want 401 and none", resp.StatusCode, len(resp.Cookies()))
			}

			for name, cookie := range map[string]*http.Cookie{
				"no cookie":     nil,
				"forged cookie": {Name: "session", Value: "Zm9yZ2Vk"},
				"forged token":  {Name: "access", Value: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJiZW5jaCJ9."},
			} {
				req, _ := http.NewRequest("GET", srv.URL+"/profile", nil)
				if cookie != nil {
					req.AddCookie(cookie)
				}
				resp, err := noRedirect.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
					t.Errorf("%s: %d to %q, want 303 to /login", name, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		})
	}
}

// Every peer with logins registers users with argon2id and logs each in
// under its own name: a taken name answers 409, a wrong password or an
// unknown name 401; the read-only page shows the count without changing
// it.
func TestPeersRegisterUsers(t *testing.T) {
	for _, kind := range peers.Kinds() {
		if kind == peers.Bare {
			continue // no passwords at all
		}
		t.Run(kind, func(t *testing.T) {
			srv := httptest.NewServer(newPeer(t, kind))
			defer srv.Close()
			form := func(path, user, password string) int {
				resp, err := client().PostForm(srv.URL+path, url.Values{"username": {user}, "password": {password}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if code := form("/register", "alice", "alice-password"); code != http.StatusSeeOther {
				t.Fatalf("register: %d, want 303", code)
			}
			if code := form("/register", "alice", "other-password"); code != http.StatusConflict {
				t.Errorf("register a taken name: %d, want 409", code)
			}
			if code := form("/login", "alice", "password-bench"); code != http.StatusUnauthorized {
				t.Errorf("login with another's password: %d, want 401", code)
			}
			if code := form("/login", "nobody", "alice-password"); code != http.StatusUnauthorized {
				t.Errorf("login of an unknown name: %d, want 401", code)
			}

			c := client()
			resp, err := c.PostForm(srv.URL+"/login", url.Values{"username": {"alice"}, "password": {"alice-password"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d, want 303", resp.StatusCode)
			}
			for i, want := range []struct{ path, text string }{
				{"/profile/read", "welcome alice with the count: 0<"},
				{"/profile", "welcome alice with the count: 1<"},
				{"/profile/read", "welcome alice with the count: 1<"},
				{"/profile/read", "welcome alice with the count: 1<"},
				{"/profile", "welcome alice with the count: 2<"},
			} {
				a := get(t, c, srv.URL+want.path)
				if a.status != http.StatusOK || !strings.Contains(a.body, want.text) {
					t.Errorf("request %d, GET %s: %d, %s; want 200 and %q", i+1, want.path, a.status, welcome.FindString(a.body), want.text)
				}
			}
		})
	}
}
