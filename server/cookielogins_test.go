package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// TestCookieLoginIsRecorded: a cookie-mode login leaves one record in the
// store, owned by the user, listed as a cookie login, ending when the
// cookie does, and holding nothing a client could present.
func TestCookieLoginIsRecorded(t *testing.T) {
	ctx := context.Background()
	mem := newMem(t)
	ts := newServer(t, mem, server.Config{CookieLifetime: 2 * time.Hour})
	b := newBrowser(t, ts.URL)
	b.register("Alice", "password one")
	before := time.Now()
	b.login("cookie", "alice", "password one")
	b.profile("cookie")
	b.profile("cookie")

	recs, err := mem.UserSessions(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("the store holds %d records of alice, want the one cookie login", len(recs))
	}
	rec := recs[0]
	if got := server.LoginKind(rec); got != server.KindCookieLogin {
		t.Errorf("the record's kind is %q, want %q", got, server.KindCookieLogin)
	}
	if rec.User != "Alice" || rec.UserAgent != "Go-http-client/1.1" {
		t.Errorf("the record names %q with user agent %q, want Alice and the client's", rec.User, rec.UserAgent)
	}
	if want := before.Add(2 * time.Hour); rec.Expires.Before(want.Add(-time.Second)) || rec.Expires.After(want.Add(time.Minute)) {
		t.Errorf("the record expires at %v, want about %v (the cookie lifetime)", rec.Expires, want)
	}
	// Views do not write the record: the count lives in the cookie.
	if rec.Version != 1 || !rec.LastSeen.Equal(rec.Created) {
		t.Errorf("after two views the record has version %d, last seen %v (created %v); want it untouched", rec.Version, rec.LastSeen, rec.Created)
	}
	sealed := b.cookieValue()
	if rec.ID == store.HashToken(sealed) || strings.Contains(string(rec.Data), sealed) {
		t.Error("the record can be found from, or holds, the cookie the browser presents")
	}
}

// TestCookieReloginEndsPreviousLogin: logging in again in a browser ends
// the cookie login it had, so a copy of the old cookie stops working.
func TestCookieReloginEndsPreviousLogin(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("dora", "password four")
	b.login("cookie", "dora", "password four")
	old := "sk_cookie=" + b.cookieValue()
	if r := withCookie(t, ts.URL, "/cookie/profile", old); r.Status != http.StatusOK {
		t.Fatalf("the copy does not work before the new login (%d): the test proves nothing", r.Status)
	}
	b.login("cookie", "dora", "password four")
	if r := withCookie(t, ts.URL, "/cookie/profile", old); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/cookie/login") {
		t.Errorf("the old cookie after a new login: %d %q, want 303 to the login page", r.Status, r.Location)
	}
	if got := b.profile("cookie"); got != "welcome dora with the count: 1" {
		t.Errorf("the new login: %q", got)
	}
}

// TestLogoutEverywhereEndsEveryMode: the list of logins (/session/sessions)
// shows the user's logins of every kind, an API login among the JWT
// logins, and "log out everywhere" ends a cookie-mode and a JWT-mode login
// held by other browsers on their next request, and the API login's access
// token.
func TestLogoutEverywhereEndsEveryMode(t *testing.T) {
	ts := newMemServer(t)
	browsers := map[string]*browser{}
	for _, mode := range []string{"session", "cookie", "jwt"} {
		browsers[mode] = newBrowser(t, ts.URL)
	}
	browsers["session"].register("ivan", "password nine")
	for mode, b := range browsers {
		b.login(mode, "ivan", "password nine")
		if got := b.profile(mode); got != "welcome ivan with the count: 1" {
			t.Fatalf("%s profile: %q", mode, got)
		}
	}
	access, _ := apiLogin(t, ts.URL, "ivan", "password nine")
	page := browsers["session"].get("/session/sessions")
	for kind, want := range map[string]int{server.KindSession: 1, server.KindCookieLogin: 1, server.KindJWTLogin: 2} {
		if n := strings.Count(page.Body, "<td>"+kind+"</td>"); n != want {
			t.Errorf("the list of logins (/session/sessions) shows %d of kind %s, want %d", n, kind, want)
		}
	}
	if r := browsers["session"].post("/session/logout-all", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("logout-all: %d", r.Status)
	}
	for mode, b := range browsers {
		if r := b.get("/" + mode + "/profile"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/"+mode+"/login") {
			t.Errorf("%s profile after log out everywhere: %d %q, want 303 to the login page", mode, r.Status, r.Location)
		}
	}
	wantInvalidToken(t, "the API token after log out everywhere", api(t, ts.URL, "GET", "/api/me", "", access))
}

// TestRevokedJWTLoginDoesNotRefresh: once a user's logins are revoked in
// the store, a JWT-mode browser whose access token has expired is sent
// through /jwt/refresh to the login page, not back in with new tokens. A
// browser whose login was not revoked is the control: it is refreshed.
func TestRevokedJWTLoginDoesNotRefresh(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	revoked, kept := newBrowser(t, f.url), newBrowser(t, f.url)
	revoked.register("judy", "password ten")
	kept.register("kurt", "password eleven")
	revoked.login("jwt", "judy", "password ten")
	kept.login("jwt", "kurt", "password eleven")
	revoked.profile("jwt")
	kept.profile("jwt")

	if n, err := f.store.DeleteUserSessions(context.Background(), "judy"); err != nil || n != 1 {
		t.Fatalf("revoking judy: %d, %v", n, err)
	}
	f.clock.Advance(token.DefaultAccessLifetime + token.DefaultLeeway + time.Second)
	for _, c := range []struct {
		name   string
		b      *browser
		landAt string
	}{
		{"the revoked login", revoked, "/jwt/login"},
		{"the control", kept, "/jwt/profile"},
	} {
		r := c.b.get("/jwt/profile")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/jwt/refresh") {
			t.Fatalf("%s: an expired access token went to %d %q, want 303 to /jwt/refresh", c.name, r.Status, r.Location)
		}
		r = c.b.get(r.Location)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, c.landAt) {
			t.Errorf("%s: the refresh answered %d %q, want 303 to %s", c.name, r.Status, r.Location, c.landAt)
		}
	}
	if got := kept.profile("jwt"); got != "welcome kurt with the count: 2" {
		t.Errorf("the control after its refresh: %q", got)
	}
}
