package peers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/bench/peers"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// answer is one response: its status, headers and body.
type answer struct {
	status int
	header http.Header
	body   string
}

// client is a browser without redirects: it keeps cookies and returns each
// answer as it comes.
func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post posts the form for user and wants 303.
func post(t *testing.T, c *http.Client, u, user string) {
	t.Helper()
	resp, err := c.PostForm(u, url.Values{"username": {user}, "password": {peers.TestPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303", u, resp.StatusCode)
	}
}

// get returns the answer to GET u.
func get(t *testing.T, c *http.Client, u string) answer {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// sessionkitProfile registers user with sessionkit's server, logs in to
// session mode and returns the answers to views profile views.
func sessionkitProfile(t *testing.T, user string, views int) []answer {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(context.Background(), st, server.Config{
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c := client()
	post(t, c, ts.URL+"/register", user)
	post(t, c, ts.URL+"/session/login", user)
	var out []answer
	for range views {
		out = append(out, get(t, c, ts.URL+"/session/profile"))
	}
	return out
}

// peerProfile registers user with the peer of the given kind, logs in and
// returns the answers to views profile views, then to one read-only view.
func peerProfile(t *testing.T, kind, user string, views int) (profile []answer, read answer) {
	t.Helper()
	ts := httptest.NewServer(newPeer(t, kind))
	t.Cleanup(ts.Close)
	c := client()
	post(t, c, ts.URL+"/register", user)
	post(t, c, ts.URL+"/login", user)
	for range views {
		profile = append(profile, get(t, c, ts.URL+"/profile"))
	}
	return profile, get(t, c, ts.URL+"/profile/read")
}

// requestID is the form of X-Request-Id's value, new on every answer.
var requestID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// comparable returns the header's names and values as lines, leaving out
// those that differ from one answer to the next (Date, X-Request-Id, whose
// form is checked instead) or between servers by design (Set-Cookie: the
// session's cookie is each server's own).
func comparable(t *testing.T, h http.Header) []string {
	t.Helper()
	if id := h.Get("X-Request-Id"); !requestID.MatchString(id) {
		t.Errorf("X-Request-Id %q, want 16 hex digits", id)
	}
	var lines []string
	for name, values := range h {
		switch name {
		case "Date", "X-Request-Id", "Set-Cookie":
			continue
		}
		lines = append(lines, name+": "+strings.Join(values, ", "))
	}
	slices.Sort(lines)
	return lines
}

// libraryHeaders are header lines a peer's library adds itself, each with
// the line of sessionkit's it stands for ("" for none): scs's LoadAndSave
// marks every answer as varying with the cookie and keeps caches from
// storing its Set-Cookie. They are the library's, not the page's.
var libraryHeaders = map[string]map[string]string{
	peers.SCSMem:   scsHeaders,
	peers.SCSRedis: scsHeaders,
}

var scsHeaders = map[string]string{
	`Cache-Control: no-store, no-cache="Set-Cookie"`: "Cache-Control: no-store",
	"Vary: Cookie": "",
}

// peerHeaders is comparable's lines for a peer of kind, with the lines its
// library adds replaced by sessionkit's.
func peerHeaders(t *testing.T, kind string, h http.Header) []string {
	t.Helper()
	var lines []string
	for _, line := range comparable(t, h) {
		if stands, ok := libraryHeaders[kind][line]; ok {
			if stands == "" {
				continue
			}
			line = stands
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return lines
}

// The bare floor and every peer answer the profile page with sessionkit's
// /session/profile body and headers, byte for byte, for the same user and
// count (but for the headers a peer's library adds of itself:
// libraryHeaders); the read-only page is the same page without the count's change.
// When this fails, sessionkit's page has changed: change profile.html,
// page.go (and the Express app's page) to match.
func TestPageMatchesSessionkit(t *testing.T) {
	const user = "bench42"
	sk := sessionkitProfile(t, user, 2)[1]
	if sk.status != http.StatusOK {
		t.Fatalf("sessionkit's second view: %d", sk.status)
	}
	want := comparable(t, sk.header)
	if !slices.Contains(want, "Content-Security-Policy: "+sk.header.Get("Content-Security-Policy")) || sk.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("sessionkit's page has no Content-Security-Policy: %q", want)
	}
	for _, kind := range peers.Kinds() {
		t.Run(kind, func(t *testing.T) {
			views, read := peerProfile(t, kind, user, 2)
			got := views[1]
			if got.status != http.StatusOK {
				t.Fatalf("second view: %d", got.status)
			}
			if got.body != sk.body {
				t.Errorf("the page differs from sessionkit's /session/profile.\npeer:\n%s\nsessionkit:\n%s", got.body, sk.body)
			}
			if h := peerHeaders(t, kind, got.header); !slices.Equal(h, want) {
				t.Errorf("headers differ from sessionkit's:\npeer:       %q\nsessionkit: %q", h, want)
			}
			if read.status != http.StatusOK || read.body != got.body {
				t.Errorf("read-only page after two views: %d\n%s\nwant 200 and the second view's page", read.status, read.body)
			}
			if h := peerHeaders(t, kind, read.header); !slices.Equal(h, want) {
				t.Errorf("read-only page's headers differ from sessionkit's profile's:\npeer:       %q\nsessionkit: %q", h, want)
			}
		})
	}
}
