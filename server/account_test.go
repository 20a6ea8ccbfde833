package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
)

// everyLogin is one user's logins in every mode, made by separate clients.
type everyLogin struct {
	cookie, session, jwt *browser
	access, refresh      string // an API login
}

func loginEverywhere(t *testing.T, base, user, pass string) everyLogin {
	t.Helper()
	l := everyLogin{cookie: newBrowser(t, base), session: newBrowser(t, base), jwt: newBrowser(t, base)}
	l.cookie.login("cookie", user, pass)
	l.session.login("session", user, pass)
	l.jwt.login("jwt", user, pass)
	l.access, l.refresh = apiLogin(t, base, user, pass)
	return l
}

// wantAllRefused checks that none of the logins in l works any more: each
// page sends its browser to a login page, and the API refuses both tokens.
func (l everyLogin) wantAllRefused(t *testing.T, base, why string) {
	t.Helper()
	for mode, b := range map[string]*browser{"cookie": l.cookie, "session": l.session, "jwt": l.jwt} {
		r := b.get("/" + mode + "/profile")
		if r.Status == http.StatusSeeOther && strings.HasPrefix(r.Location, "/jwt/refresh") {
			r = b.get(r.Location) // an expired access token goes through the refresh first
		}
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/"+mode+"/login") {
			t.Errorf("%s: the %s profile answered %d (Location %q), want 303 to its login page", why, mode, r.Status, r.Location)
		}
	}
	if r := api(t, base, "GET", "/api/me", "", l.access); r.Status != http.StatusUnauthorized {
		t.Errorf("%s: /api/me with the old access token: %d %s, want 401", why, r.Status, r.Body)
	}
	if r := apiRefresh(t, base, l.refresh); r.Status != http.StatusUnauthorized {
		t.Errorf("%s: refreshing with the old refresh token: %d %s, want 401", why, r.Status, r.Body)
	}
}

// wantAllWork checks that every login in l still works.
func (l everyLogin) wantAllWork(t *testing.T, base, why string) {
	t.Helper()
	for mode, b := range map[string]*browser{"cookie": l.cookie, "session": l.session, "jwt": l.jwt} {
		if r := b.get("/" + mode + "/profile"); r.Status != http.StatusOK {
			t.Errorf("%s: the %s profile answered %d (Location %q), want 200", why, mode, r.Status, r.Location)
		}
	}
	if r := api(t, base, "GET", "/api/me", "", l.access); r.Status != http.StatusOK {
		t.Errorf("%s: /api/me: %d %s, want 200", why, r.Status, r.Body)
	}
}

var loginIDPattern = regexp.MustCompile(`name="id" value="([0-9a-f]{64})"`)

// listedIDs returns the revocable login ids the account page shows.
func listedIDs(t *testing.T, b *browser) []string {
	t.Helper()
	r := b.get("/session/account")
	if r.Status != http.StatusOK {
		t.Fatalf("account page: %d (Location %q)", r.Status, r.Location)
	}
	var ids []string
	for _, m := range loginIDPattern.FindAllStringSubmatch(r.Body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestPasswordChangeEndsEveryOtherLogin(t *testing.T) {
	ts := newMemServer(t)
	owner := newBrowser(t, ts.URL)
	owner.register("alice", "password-1")
	others := loginEverywhere(t, ts.URL, "alice", "password-1")
	owner.login("session", "alice", "password-1")
	before := owner.cookie("sk_session")

	r := owner.post("/session/password", url.Values{"current_password": {"password-1"}, "new_password": {"password-2"}})
	if r.Status != http.StatusSeeOther || r.Location != "/session/account?done=password" {
		t.Fatalf("password change: %d (Location %q) %s", r.Status, r.Location, r.Body)
	}
	others.wantAllRefused(t, ts.URL, "after a web password change")

	// The session that made the change goes on, under a new id.
	if after := owner.cookie("sk_session"); after == "" || after == before {
		t.Errorf("the changing session's cookie: %q, want a new value", after)
	}
	if got := owner.profile("session"); got != "welcome alice with the count: 1" {
		t.Errorf("the changing session's profile: %q", got)
	}
	if ids := listedIDs(t, owner); len(ids) != 0 {
		t.Errorf("the account page lists %d other logins after the change, want none", len(ids))
	}
	newBrowser(t, ts.URL).login("session", "alice", "password-2")
	if r := newBrowser(t, ts.URL).post("/session/login", creds("alice", "password-1")); r.Status != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d, want 401", r.Status)
	}
}

func TestPasswordChangeChecksTheCurrentPassword(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("alice", "password-1")
	others := loginEverywhere(t, ts.URL, "alice", "password-1")
	b.login("session", "alice", "password-1")
	cases := []struct {
		name    string
		form    url.Values
		status  int
		message string
	}{
		{"wrong current", url.Values{"current_password": {"wrong-password"}, "new_password": {"password-2"}}, http.StatusUnauthorized, "not your current password"},
		{"new too short", url.Values{"current_password": {"password-1"}, "new_password": {"short"}}, http.StatusBadRequest, ""},
		{"missing", url.Values{"current_password": {"password-1"}}, http.StatusBadRequest, ""},
	}
	for _, c := range cases {
		r := b.post("/session/password", c.form)
		if r.Status != c.status || !strings.Contains(r.Body, c.message) {
			t.Errorf("%s: %d, want %d with %q", c.name, r.Status, c.status, c.message)
		}
	}
	others.wantAllWork(t, ts.URL, "after refused password changes")
	// Guessing the current password is throttled like a login.
	var last response
	for range 12 {
		last = b.post("/session/password", url.Values{"current_password": {"wrong-password"}, "new_password": {"password-2"}})
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("the 13th wrong current password: %d (Retry-After %q), want 429 with Retry-After", last.Status, last.Header.Get("Retry-After"))
	}
}

func TestRevokeOneLogin(t *testing.T) {
	ts := newMemServer(t)
	owner := newBrowser(t, ts.URL)
	owner.register("alice", "password-1")
	newBrowser(t, ts.URL).register("mallory", "password-m")
	victimOfRevoke := newBrowser(t, ts.URL)
	victimOfRevoke.login("cookie", "alice", "password-1")
	mallory := newBrowser(t, ts.URL)
	mallory.login("session", "mallory", "password-m")
	owner.login("session", "alice", "password-1")

	ids := listedIDs(t, owner)
	if len(ids) != 1 {
		t.Fatalf("the account page lists %d revocable logins, want 1 (the cookie login)", len(ids))
	}
	// Mallory cannot end alice's login by its id.
	if r := mallory.post("/session/sessions/revoke", url.Values{"id": {ids[0]}}); r.Status != http.StatusNotFound {
		t.Errorf("revoking another user's login: %d, want 404", r.Status)
	}
	if got := victimOfRevoke.profile("cookie"); got != "welcome alice with the count: 1" {
		t.Errorf("after mallory's attempt: %q", got)
	}
	for _, bad := range []string{"", "zz", strings.Repeat("g", 64)} {
		if r := owner.post("/session/sessions/revoke", url.Values{"id": {bad}}); r.Status != http.StatusBadRequest {
			t.Errorf("revoking id %q: %d, want 400", bad, r.Status)
		}
	}
	r := owner.post("/session/sessions/revoke", url.Values{"id": {ids[0]}})
	if r.Status != http.StatusSeeOther || r.Location != "/session/account?done=revoked" {
		t.Fatalf("revoke: %d %q", r.Status, r.Location)
	}
	if r := victimOfRevoke.get("/cookie/profile"); r.Status != http.StatusSeeOther {
		t.Errorf("the revoked cookie login: %d, want 303 to the login page", r.Status)
	}
	if got := owner.profile("session"); got == "" {
		t.Error("the revoking session ended")
	}
}

func TestLogoutEverywhereElse(t *testing.T) {
	ts := newMemServer(t)
	owner := newBrowser(t, ts.URL)
	owner.register("alice", "password-1")
	others := loginEverywhere(t, ts.URL, "alice", "password-1")
	owner.login("session", "alice", "password-1")
	if n := len(listedIDs(t, owner)); n != 4 {
		t.Errorf("the account page lists %d other logins, want 4 (cookie, session, JWT, API)", n)
	}
	r := owner.post("/session/logout-others", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("logout-others: %d", r.Status)
	}
	others.wantAllRefused(t, ts.URL, "after log out everywhere else")
	if got := owner.profile("session"); got != "welcome alice with the count: 1" {
		t.Errorf("the session that logged the others out: %q", got)
	}
}

func TestDeleteAccountNeedsRecentAuth(t *testing.T) {
	f := newJWTFixture(t, server.Config{ReauthWindow: time.Second})
	b := newBrowser(t, f.url)
	b.register("alice", "password-1")
	others := loginEverywhere(t, f.url, "alice", "password-1")
	b.login("session", "alice", "password-1")

	f.clock.Advance(2 * time.Second)
	r := b.post("/session/account/delete", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/session/reauth?next=%2Fsession%2Faccount" {
		t.Fatalf("delete with a 2 s old login and a 1 s window: %d (Location %q), want 303 to re-authentication", r.Status, r.Location)
	}
	if _, err := f.store.User(context.Background(), "alice"); err != nil {
		t.Fatalf("the account is gone before re-authentication: %v", err)
	}
	if r := b.get(r.Location); r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/session/reauth?next=%2Fsession%2Faccount"`) {
		t.Fatalf("the re-authentication page: %d %s", r.Status, r.Body)
	}
	if r := b.post("/session/reauth?next=%2Fsession%2Faccount", url.Values{"password": {"wrong-password"}}); r.Status != http.StatusUnauthorized {
		t.Errorf("re-authentication with a wrong password: %d, want 401", r.Status)
	}
	r = b.post("/session/reauth?next=%2Fsession%2Faccount", url.Values{"password": {"password-1"}})
	if r.Status != http.StatusSeeOther || r.Location != "/session/account" {
		t.Fatalf("re-authentication: %d (Location %q)", r.Status, r.Location)
	}
	r = b.post("/session/account/delete", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/?deleted=1" {
		t.Fatalf("delete within the window: %d (Location %q)", r.Status, r.Location)
	}
	if _, err := f.store.User(context.Background(), "alice"); err == nil {
		t.Error("the account still exists")
	}
	others.wantAllRefused(t, f.url, "after deleting the account")
	if r := b.get("/session/profile"); r.Status != http.StatusSeeOther {
		t.Errorf("the deleting session: %d, want 303 to the login page", r.Status)
	}
}

func TestAPIDeleteMeStepUp(t *testing.T) {
	f := newJWTFixture(t, server.Config{})
	newBrowser(t, f.url).register("alice", "password-1")
	old, _ := apiLogin(t, f.url, "alice", "password-1")
	f.clock.Advance(server.DefaultReauthWindow + time.Second)
	fresh, freshRefresh := apiLogin(t, f.url, "alice", "password-1")

	r := api(t, f.url, "DELETE", "/api/me", "", old)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("DELETE /api/me with an old login: %d %s, want 401", r.Status, r.Body)
	}
	wa := r.Header.Get("WWW-Authenticate")
	for _, want := range []string{"Bearer ", `error="insufficient_user_authentication"`, "max_age=300"} {
		if !strings.Contains(wa, want) {
			t.Errorf("WWW-Authenticate %q lacks %q (RFC 9470)", wa, want)
		}
	}
	if _, err := f.store.User(context.Background(), "alice"); err != nil {
		t.Fatalf("the account went although the step-up was refused: %v", err)
	}
	if r := api(t, f.url, "DELETE", "/api/me", "", fresh); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE /api/me with a fresh login: %d %s, want 204", r.Status, r.Body)
	}
	if r := api(t, f.url, "GET", "/api/me", "", fresh); r.Status != http.StatusUnauthorized {
		t.Errorf("the deleting token afterwards: %d, want 401", r.Status)
	}
	if r := apiRefresh(t, f.url, freshRefresh); r.Status != http.StatusUnauthorized {
		t.Errorf("its refresh token afterwards: %d, want 401", r.Status)
	}
}

// TestLoginsOfADeletedAccountStayDead covers a login recorded while its
// account was being deleted, which "delete, then end the logins" misses:
// the account is deleted in the store without ending its logins, and the
// name registered again (in another case). No old login may work, nor
// become a login of the new account.
func TestLoginsOfADeletedAccountStayDead(t *testing.T) {
	st := newMem(t)
	ts := newServer(t, st, server.Config{})
	newBrowser(t, ts.URL).register("mallory", "password-1")
	old := loginEverywhere(t, ts.URL, "mallory", "password-1")
	if err := st.DeleteUser(context.Background(), "mallory"); err != nil {
		t.Fatal(err)
	}
	newBrowser(t, ts.URL).register("Mallory", "password-2")
	old.wantAllRefused(t, ts.URL, "after the account was deleted and its name registered again")
	newcomer := newBrowser(t, ts.URL)
	newcomer.login("session", "Mallory", "password-2")
	if ids := listedIDs(t, newcomer); len(ids) != 0 {
		t.Errorf("the new account's page lists %d logins of the old one", len(ids))
	}
}

func TestEveryKindOfLoginIsCapped(t *testing.T) {
	st := newMem(t)
	ts := newServer(t, st, server.Config{MaxSessionsPerUser: 3})
	newBrowser(t, ts.URL).register("alice", "password-1")
	var refresh []string
	for range 3 {
		_, r := apiLogin(t, ts.URL, "alice", "password-1")
		refresh = append(refresh, r)
	}
	cookieLogin := newBrowser(t, ts.URL)
	cookieLogin.login("cookie", "alice", "password-1")
	session := newBrowser(t, ts.URL)
	session.login("session", "alice", "password-1")
	session.profile("session")

	recs, err := st.UserSessions(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Errorf("alice has %d logins, want 3 (the cap)", len(recs))
	}
	kinds := map[store.Kind]int{}
	for _, rec := range recs {
		kinds[rec.Kind]++
	}
	want := map[store.Kind]int{store.KindRefreshFamily: 1, store.KindCookieLogin: 1, store.KindSession: 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("kinds kept: %v, want the newest of each: %v", kinds, want)
	}
	for i, r := range refresh[:2] {
		if got := apiRefresh(t, ts.URL, r); got.Status != http.StatusUnauthorized {
			t.Errorf("refresh token of evicted login %d: %d, want 401", i, got.Status)
		}
	}
	if got := apiRefresh(t, ts.URL, refresh[2]); got.Status != http.StatusOK {
		t.Errorf("the newest API login: %d, want 200", got.Status)
	}
}

func TestRegistrationIsThrottledPerAddress(t *testing.T) {
	ts := newServer(t, newMem(t), server.Config{MaxConcurrentLogins: -1})
	b := newBrowser(t, ts.URL)
	for i := range 100 {
		r := b.post("/register", creds(fmt.Sprintf("user%03d", i%3), "password-1"))
		if r.Status == http.StatusTooManyRequests {
			if r.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if i != 50 {
				t.Errorf("the first 429 came at registration %d, want 50 (the per-address limit)", i+1)
			}
			return
		}
		if r.Status != http.StatusSeeOther && r.Status != http.StatusConflict {
			t.Fatalf("registration %d: %d", i+1, r.Status)
		}
	}
	t.Error("100 registrations from one address, none refused")
}
