package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// backends are the stores session mode is tested on.
var backends = []struct {
	name string
	open func(t *testing.T) server.Backend
}{
	{"memory", func(t *testing.T) server.Backend { return newMem(t) }},
	{"sqlite", func(t *testing.T) server.Backend { return openSQLite(t, filepath.Join(t.TempDir(), "s.db")) }},
	{"redis", openRedis},
	{"postgres", openPostgres},
}

func openSQLite(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestSessionListsSessions: the profile links to the list of where the
// user is logged in, which marks this browser; viewing the list does not
// count as a profile view. Without a login the list sends the browser to
// log in and back.
func TestSessionListsSessions(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("lister", "password twelve")
	b.login("session", "lister", "password twelve")
	profile := b.get("/session/profile").Body
	if !strings.Contains(profile, `href="/session/sessions"`) {
		t.Errorf("the profile does not link to the list of sessions:\n%s", profile)
	}
	r := b.get("/session/sessions")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "this browser") || !strings.Contains(r.Body, "Go-http-client") {
		t.Errorf("the list does not show this session with its user agent: %d\n%s", r.Status, r.Body)
	}
	if got := b.profile("session"); got != "welcome lister with the count: 2" {
		t.Errorf("after viewing the list, the profile says %q; want count 2", got)
	}
	if r := newBrowser(t, ts.URL).get("/session/sessions"); r.Status != http.StatusSeeOther || r.Location != "/session/login?next=%2Fsession%2Fsessions" {
		t.Errorf("the list without a login: %d %q, want 303 to the login page", r.Status, r.Location)
	}
}

// TestSessionFixation plants a token in the browser before login, and
// checks that login issues a different one and the planted one stays
// useless, and that logging in again while logged in changes the id too.
func TestSessionFixation(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("fixme", "password six")
	planted := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	u, _ := url.Parse(ts.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "sk_session", Value: planted, Path: "/"}})

	b.login("session", "fixme", "password six")
	first := b.cookie("sk_session")
	if first == "" || first == planted {
		t.Fatalf("after login the browser holds %q; want a new token, not the planted %q", first, planted)
	}
	if r := withCookie(t, ts.URL, "/session/profile", "sk_session="+planted); r.Status != http.StatusSeeOther {
		t.Errorf("the planted token reaches the profile: %d", r.Status)
	}
	b.login("session", "fixme", "password six")
	second := b.cookie("sk_session")
	if second == first {
		t.Error("logging in again kept the session id")
	}
	if r := withCookie(t, ts.URL, "/session/profile", "sk_session="+first); r.Status != http.StatusSeeOther {
		t.Errorf("the id from before the second login still works: %d", r.Status)
	}
}

func TestSessionLogoutAll(t *testing.T) {
	ts := newMemServer(t)
	laptop, phone, other := newBrowser(t, ts.URL), newBrowser(t, ts.URL), newBrowser(t, ts.URL)
	laptop.register("carol", "password three")
	other.register("dan", "password seven")
	laptop.login("session", "carol", "password three")
	phone.login("session", "Carol", "password three")
	other.login("session", "dan", "password seven")
	page := phone.get("/session/sessions").Body
	if n := strings.Count(page, "<tr><td>"); n != 2 {
		t.Errorf("carol's list shows %d sessions, want 2", n)
	}

	if r := phone.post("/session/logout-all", nil); r.Status != http.StatusSeeOther || r.Location != "/session/login" {
		t.Fatalf("logout-all: %d %q, want 303 to /session/login", r.Status, r.Location)
	}
	for name, b := range map[string]*browser{"laptop": laptop, "phone": phone} {
		if r := b.get("/session/profile"); r.Status != http.StatusSeeOther {
			t.Errorf("%s after logout-all: %d, want 303 to login", name, r.Status)
		}
	}
	if got := other.profile("session"); got != "welcome dan with the count: 1" {
		t.Errorf("another user's session after carol's logout-all: %q", got)
	}
	if r := newBrowser(t, ts.URL).post("/session/logout-all", nil); r.Status != http.StatusSeeOther {
		t.Errorf("logout-all without a session: %d, want 303", r.Status)
	}
}

// TestSessionConcurrentViews: 200 concurrent profile views with one cookie,
// then one more, show count 201. Last-write-wins stores lose most of them.
func TestSessionConcurrentViews(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			// The test is about counting, not deadlines: a busy machine
			// (the race detector, a slow disk) may take longer than the
			// default store timeout, which would turn views into 503s.
			ts := newServer(t, be.open(t), server.Config{StoreTimeout: 10 * time.Second})
			b := newBrowser(t, ts.URL)
			b.register("eve", "password eight")
			b.login("session", "eve", "password eight")
			token := b.cookie("sk_session")

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
			defer client.CloseIdleConnections()
			const n = 200
			var wg sync.WaitGroup
			status := make([]int, n)
			for i := range n {
				wg.Go(func() {
					req, _ := http.NewRequest("GET", ts.URL+"/session/profile", nil)
					req.Header.Set("Cookie", "sk_session="+token)
					resp, err := client.Do(req)
					if err != nil {
						t.Errorf("request %d: %v", i, err)
						return
					}
					resp.Body.Close()
					status[i] = resp.StatusCode
				})
			}
			wg.Wait()
			for i, s := range status {
				if s != http.StatusOK && s != 0 {
					t.Errorf("request %d answered %d", i, s)
				}
			}
			if got := b.profile("session"); got != "welcome eve with the count: 201" {
				t.Errorf("after 200 concurrent views and one more: %q, want count 201", got)
			}
		})
	}
}

// TestSessionBadCookies: anything but a live session's token is "not logged
// in" (303 to the login page), never a 500.
func TestSessionBadCookies(t *testing.T) {
	ts := newMemServer(t)
	cases := map[string]string{
		"empty":      "",
		"garbage":    "!!!not*base64$$$",
		"binary":     "\x80\xfe\xff\xc3\x28\x7e",
		"oversized":  strings.Repeat("A", 20<<10),
		"unknown":    base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
		"short":      base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, 31)),
		"two values": "a; sk_session=b",
	}
	for name, value := range cases {
		r := withCookie(t, ts.URL, "/session/profile", "sk_session="+value)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/session/login") {
			t.Errorf("%s: %d %q, want 303 to the login page", name, r.Status, r.Location)
		}
	}
}

// failingSessions is a memory store whose session calls fail, as a store
// that went down would.
type failingSessions struct{ failingStore }

func (failingSessions) Session(context.Context, store.SessionID) (store.Record, error) {
	return store.Record{}, errDown
}

func (failingSessions) UserSessions(context.Context, string) ([]store.Record, error) {
	return nil, errDown
}
