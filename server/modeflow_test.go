package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/server"
)

// TestModeFlows walks the tutorial's flow in every mode and on every store:
// profile before login, login, counting views, the login page while logged
// in, the logout page (no state change), logout, a new login starting the
// count again, and an administrator revoking the user's logins in the
// store (as "sessionkit sessions revoke" does), which ends the login on its
// next request.
func TestModeFlows(t *testing.T) {
	for _, mode := range []string{"cookie", "session", "jwt"} {
		for _, be := range backends {
			t.Run(mode+"/"+be.name, func(t *testing.T) {
				backend := be.open(t)
				ts := newServer(t, backend, server.Config{})
				testModeFlow(t, newBrowser(t, ts.URL), backend, mode)
			})
		}
	}
}

func testModeFlow(t *testing.T, b *browser, backend server.Backend, mode string) {
	login, profile, logout := "/"+mode+"/login", "/"+mode+"/profile", "/"+mode+"/logout"
	b.register("Alice", "password one")

	if r := b.get(profile); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, login) {
		t.Fatalf("profile before login: %d %q, want 303 to the login page", r.Status, r.Location)
	}
	if r := b.post(login, creds("alice", "wrong password")); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", r.Status)
	}
	// Usernames are case-insensitive for login; the page shows the name
	// as registered.
	b.login(mode, "alice", "password one")
	for i, want := range []string{"welcome Alice with the count: 1", "welcome Alice with the count: 2", "welcome Alice with the count: 3"} {
		if got := b.profile(mode); got != want {
			t.Fatalf("view %d: %q, want %q", i+1, got, want)
		}
	}
	if r := b.get(login); r.Status != http.StatusSeeOther || r.Location != profile {
		t.Errorf("login page while logged in: %d %q, want 303 to the profile", r.Status, r.Location)
	}
	if r := b.get(logout); r.Status != http.StatusOK || !strings.Contains(r.Body, `method="post"`) {
		t.Errorf("logout page: %d, want 200 with a POST form", r.Status)
	}
	if got := b.profile(mode); got != "welcome Alice with the count: 4" {
		t.Errorf("viewing the logout page changed state: %q", got)
	}
	if r := b.post(logout, nil); r.Status != http.StatusSeeOther || r.Location != login {
		t.Fatalf("logout: %d %q, want 303 to %s", r.Status, r.Location, login)
	}
	if r := b.get(profile); r.Status != http.StatusSeeOther {
		t.Errorf("profile after logout: %d, want 303", r.Status)
	}
	b.login(mode, "Alice", "password one")
	if got := b.profile(mode); got != "welcome Alice with the count: 1" {
		t.Errorf("after a new login: %q, want the count to start again", got)
	}

	n, err := backend.DeleteUserSessions(context.Background(), "alice")
	if err != nil || n != 1 {
		t.Fatalf("revoking alice's logins in the store: %d, %v; want the one login of this browser", n, err)
	}
	if r := b.get(profile); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, login) {
		t.Errorf("profile after the user was revoked: %d %q, want 303 to the login page", r.Status, r.Location)
	}
	if r := b.get(login); r.Status != http.StatusOK || !strings.Contains(r.Body, `name="password"`) {
		t.Errorf("login page after the user was revoked: %d %q, want the form", r.Status, r.Location)
	}
}
