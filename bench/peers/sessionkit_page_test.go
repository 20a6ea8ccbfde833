package peers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/bench/peers"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// sessionkitProfile registers the test account with sessionkit's server,
// logs in to session mode and returns the first /session/profile page.
func sessionkitProfile(t *testing.T) string {
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
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"username": {peers.TestUser}, "password": {peers.TestPassword}}
	for _, path := range []string{"/register", "/session/login"} {
		resp, err := client.PostForm(ts.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d, want 303", path, resp.StatusCode)
		}
	}
	resp, err := client.Get(ts.URL + "/session/profile")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /session/profile: %d", resp.StatusCode)
	}
	return string(body)
}

// The peers' page is sessionkit's /session/profile, byte for byte but for
// the times. When this fails, sessionkit's page has changed: change
// profile.html (and the Express app's page) to match.
func TestPageMatchesSessionkit(t *testing.T) {
	want := normalize(sessionkitProfile(t))
	p, err := peers.New(peers.Bare, peers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	got := normalize(browse(t, srv.URL, 1)[0])
	if got != want {
		t.Errorf("the peers' page differs from sessionkit's /session/profile.\npeers:\n%s\nsessionkit:\n%s", got, want)
	}
}
