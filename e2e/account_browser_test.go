package e2e

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reauthWindow is the --reauth-window of TestBrowserAccountPage's server.
const reauthWindow = time.Second

var loginID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestBrowserAccountPage walks the account page in a real browser, on the
// real binary started with --reauth-window 1s:
//
//   - browser A registers and logs in (session mode); browser B, another
//     browser context with its own cookies, logs in in cookie mode;
//   - A's account page lists both logins, B's with a revoke button; A
//     presses it, and B's next profile load lands on the login page;
//   - an API login made now is refused after A changes the password
//     through the page's form; A's page says so, and A stays logged in;
//   - more than a second later, A presses delete-account: the login is
//     too old, so A lands on the re-authentication page, enters the
//     password and confirms, comes back to the account page and presses
//     delete-account again, which lands on "/"; that user cannot log in
//     any more, in the browser or by the API.
//
// Everything happens through the page: navigation, typing and clicks;
// script only reads what the page shows.
func TestBrowserAccountPage(t *testing.T) {
	ctxA := newBrowser(t)
	addr := freeAddr(t)
	base := "http://" + addr
	srv := startProcess(t, addr, "--store", "sqlite:"+filepath.Join(t.TempDir(), "account.db"), "--reauth-window", reauthWindow.String())
	logs := func() string { return srv.log.String() }
	a := &tab{t: t, ctx: ctxA, serverLog: logs}
	api := newReplayer(t, logs)

	const user, pass, newPass = "account_e2e", "correct horse battery", "battery staple horse"

	a.do("A registers", submitCredentials(base+"/register", user, pass), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	a.do("A logs in", submitCredentials(base+"/session/login", user, pass))
	if got, want := a.text("A's first view", `.welcome`), "welcome "+user+" with the count: 1"; got != want {
		t.Fatalf("A's first profile view says %q, want %q", got, want)
	}

	// B: a second browser context of the same browser (its own cookies).
	ctxB, cancelB := chromedp.NewContext(ctxA, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelB)
	b := &tab{t: t, ctx: ctxB, serverLog: logs}
	b.do("B logs in", submitCredentials(base+"/cookie/login", user, pass))
	if got, want := b.text("B's first view", `.welcome`), "welcome "+user+" with the count: 1"; got != want {
		t.Fatalf("B's first profile view says %q, want %q", got, want)
	}

	// A's account page: two logins, B's (the cookie login) revocable.
	a.do("A opens the account page", chromedp.Navigate(base+"/session/account"), chromedp.WaitVisible(chromedp.CSS(`#logins`)))
	rows := a.rows("A's logins")
	if len(rows) != 2 {
		t.Fatalf("A's account page lists %d logins, want 2 (A's session and B's cookie login): %q", len(rows), rows)
	}
	var current, other string
	for _, r := range rows {
		if strings.Contains(r, "this browser") {
			current = r
		} else {
			other = r
		}
	}
	if !strings.HasPrefix(current, "session") || !strings.HasPrefix(other, "cookie login") {
		t.Errorf("A's account page lists %q, want A's session as \"this browser\" and B's cookie login with a revoke button", rows)
	}
	id, err := chromedp.Run(ctxA, chromedp.AttributeValue(chromedp.CSS(`form[action="/session/sessions/revoke"] input[type=hidden][name=id]`), "value"))
	if err != nil || !loginID.MatchString(id.Value) {
		t.Fatalf("the revoke form's id is %q (%v), want 64 hex digits", id.Value, err)
	}

	a.do("A revokes B's login", chromedp.Click(chromedp.CSS(`form[action="/session/sessions/revoke"] button[type=submit]`)))
	if notice := a.text("after the revoke", `.notice`); !strings.Contains(notice, "That login has ended") {
		t.Errorf("after revoking B's login, A's page says %q", notice)
	}
	if rows := a.rows("A's logins after the revoke"); len(rows) != 1 || !strings.Contains(rows[0], "this browser") {
		t.Errorf("after revoking B's login, A's page lists %q, want only A's session", rows)
	}
	b.do("B's profile after the revoke",
		chromedp.Navigate(base+"/cookie/profile"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	if loc := b.location(); !strings.HasPrefix(loc, base+"/cookie/login") {
		t.Errorf("B's profile after the revoke left B at %s, want the cookie login page", loc)
	}

	// An API login from before the password change.
	pair := api.decodePair("API login", api.api(http.MethodPost, base+"/api/login", map[string]string{"username": user, "password": pass}, ""))
	api.me(base, pair.AccessToken, user)

	a.do("A changes the password",
		chromedp.Navigate(base+"/session/account"),
		chromedp.WaitVisible(chromedp.CSS(`#change-password`)),
		chromedp.SendKeys(chromedp.CSS(`#change-password input[name=current_password]`), pass),
		chromedp.SendKeys(chromedp.CSS(`#change-password input[name=new_password]`), newPass),
		chromedp.Click(chromedp.CSS(`#change-password button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice, .error`)),
	)
	if notice := a.text("after the password change", `.notice, .error`); !strings.Contains(notice, "password was changed") {
		t.Fatalf("after the password change A's page says %q, want that the password was changed", notice)
	}
	changed := time.Now()
	if u := a.url(); u.Path != "/session/account" {
		t.Errorf("after the password change A is at %s, want /session/account", u)
	}
	a.do("A's profile after the password change", chromedp.Navigate(base+"/session/profile"))
	if got, want := a.text("A's profile after the password change", `.welcome`), "welcome "+user+" with the count: 2"; got != want {
		t.Errorf("A's profile after the password change says %q, want %q: A should stay logged in", got, want)
	}
	r := api.api(http.MethodGet, base+"/api/me", nil, pair.AccessToken)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("the access token from before the password change: %v, want 401 invalid_token", r)
	}
	if r := api.api(http.MethodPost, base+"/api/refresh", map[string]string{"refresh_token": pair.RefreshToken}, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the refresh token from before the password change: %v, want 401", r)
	}

	// The login is now older than the window: deleting asks for the
	// password again. (Waiting sets up that state; it decides nothing.)
	time.Sleep(time.Until(changed.Add(reauthWindow + 500*time.Millisecond)))
	a.do("A presses delete-account",
		chromedp.Navigate(base+"/session/account"),
		chromedp.Click(chromedp.ID(`delete-account`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.modes, form[action^="/session/reauth"]`)),
	)
	if u := a.url(); u.Path != "/session/reauth" || u.Query().Get("next") != "/session/account" {
		t.Fatalf("pressing delete-account more than %v after the last proof led to %s, want /session/reauth?next=/session/account", reauthWindow, u)
	}

	// Confirm with the password, come back, delete. The window is short:
	// should the second press come more than a window after the proof
	// (a slow machine), it is asked again, and the test confirms again.
	// Only a bounce within the window is a failure.
	for try := 1; ; try++ {
		proved := time.Now()
		a.do("A confirms with the password",
			chromedp.WaitVisible(chromedp.CSS(`form[action^="/session/reauth"] input[name=password]`)),
			chromedp.SendKeys(chromedp.CSS(`form[action^="/session/reauth"] input[name=password]`), newPass),
			chromedp.Click(chromedp.CSS(`form[action^="/session/reauth"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID(`delete-account`)),
		)
		if u := a.url(); u.Path != "/session/account" {
			t.Fatalf("after confirming the password A is at %s, want /session/account", u)
		}
		a.do("A presses delete-account again",
			chromedp.Click(chromedp.ID(`delete-account`)),
			chromedp.WaitVisible(chromedp.CSS(`ul.modes, form[action^="/session/reauth"]`)),
		)
		u := a.url()
		if u.Path == "/" {
			break
		}
		took := time.Since(proved)
		if u.Path != "/session/reauth" {
			t.Fatalf("pressing delete-account after confirming led to %s, want /", u)
		}
		if took < reauthWindow || try == 5 {
			t.Fatalf("pressing delete-account %v after confirming the password (try %d) asked for it again, want the account deleted", took.Round(time.Millisecond), try)
		}
		t.Logf("the press came %v after confirming, past the %v window: confirming again", took.Round(time.Millisecond), reauthWindow)
	}

	// The account is gone: A is logged out, and the user cannot log in,
	// with either password.
	a.do("A's profile after deleting",
		chromedp.Navigate(base+"/session/profile"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	if loc := a.location(); !strings.HasPrefix(loc, base+"/session/login") {
		t.Errorf("A's profile after deleting the account left A at %s, want the login page", loc)
	}
	a.do("A logs in after deleting",
		submitCredentials(base+"/session/login", user, newPass),
		chromedp.WaitVisible(chromedp.CSS(`.error, .welcome`)),
	)
	if msg := a.text("the login after deleting", `.error, .welcome`); !strings.Contains(msg, "Invalid username or password") {
		t.Errorf("logging in as the deleted user in the browser: the page says %q, want that the login failed", msg)
	}
	for _, p := range []string{pass, newPass} {
		if r := api.api(http.MethodPost, base+"/api/login", map[string]string{"username": user, "password": p}, ""); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("API login as the deleted user: %v, want 401", r)
		}
	}
}

// rows returns the text of each row of the account page's logins table.
func (b *tab) rows(step string) []string {
	b.t.Helper()
	nodes, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSSAll(`#logins tbody tr`)))
	if err != nil {
		b.fail(step, err)
	}
	var rows []string
	for _, n := range nodes {
		text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.NodeIDs{n.NodeID}))
		if err != nil {
			b.fail(step, err)
		}
		rows = append(rows, strings.Join(strings.Fields(text), " "))
	}
	return rows
}

// url returns the tab's URL, parsed.
func (b *tab) url() *url.URL {
	b.t.Helper()
	u, err := url.Parse(b.location())
	if err != nil {
		b.fail("parsing the location", err)
	}
	return u
}
