package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserJWTSilentRefresh logs a real browser in through JWT mode on
// the real binary, with access tokens that live two seconds. After they
// expire the profile still shows, with the count going on: the browser was
// sent through /jwt/refresh and back without seeing the login page. Page
// scripts cannot read either token, and logout ends the login.
func TestBrowserJWTSilentRefresh(t *testing.T) {
	ctx := newBrowser(t)
	addr := freeAddr(t)
	base := "http://" + addr
	srv := startProcess(t, addr, "--store", "sqlite:"+filepath.Join(t.TempDir(), "jwt.db"),
		"--access-token-lifetime", "2s", "--token-leeway", "-1s", "--log-level", "info")
	b := &tab{t: t, ctx: ctx, serverLog: func() string { return srv.log.String() }}

	const user, pass = "jwt_e2e", "correct horse battery"
	b.do("register", submitCredentials(base+"/register", user, pass), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	b.do("log in", submitCredentials(base+"/jwt/login", user, pass))
	if got, want := b.text("first view", `.welcome`), "welcome "+user+" with the count: 1"; got != want {
		t.Fatalf("first view: %q, want %q", got, want)
	}

	visible, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		b.fail("reading document.cookie", err)
	}
	if strings.Contains(visible, "sk_access") || strings.Contains(visible, "sk_refresh") {
		t.Errorf("page scripts can read the tokens: document.cookie = %q", visible)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/jwt/refresh"}})
	if err != nil {
		b.fail("listing cookies", err)
	}
	if len(res.Cookies) < 2 {
		t.Errorf("the browser holds %d cookies for /jwt/refresh, want the access and refresh tokens", len(res.Cookies))
	}
	for _, c := range res.Cookies {
		if (c.Name == "sk_access" || c.Name == "sk_refresh") && !c.HTTPOnly {
			t.Errorf("cookie %s is not HttpOnly", c.Name)
		}
	}

	// Let the access token expire (this waits; it measures nothing).
	time.Sleep(3 * time.Second)
	b.do("view after the access token expired", chromedp.Navigate(base+"/jwt/profile"), chromedp.WaitVisible(chromedp.CSS(`.welcome`)))
	if got, want := b.text("after expiry", `.welcome`), "welcome "+user+" with the count: 2"; got != want {
		t.Fatalf("after the access token expired: %q, want %q", got, want)
	}
	if loc := b.location(); loc != base+"/jwt/profile" {
		t.Errorf("the browser ended at %s, want back at the profile", loc)
	}
	// Request lines reach the log in batches, within a tenth of a second.
	if !logShows(srv, `route="GET /jwt/refresh" status=303`, 5*time.Second) {
		t.Errorf("the server log shows no refresh: the test did not exercise it:\n%s", srv.log.String())
	}

	b.do("log out", logOut(base+"/jwt/logout"))
	b.do("profile after logout",
		chromedp.Navigate(base+"/jwt/profile"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	if loc := b.location(); !strings.HasPrefix(loc, base+"/jwt/login") {
		t.Errorf("the profile after logout left the browser at %s, want the login page", loc)
	}
}
