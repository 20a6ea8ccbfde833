package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSessionSurvivesKill logs a real browser in through session
// mode on the real binary, kills the server with SIGKILL, starts it again on
// the same database, and checks that the browser is still logged in and its
// count goes on where it was. Then logout ends it for good.
func TestBrowserSessionSurvivesKill(t *testing.T) {
	ctx := newBrowser(t)
	addr := freeAddr(t)
	db := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
	base := "http://" + addr
	srv := startProcess(t, addr, "--store", db)

	b := &tab{t: t, ctx: ctx, serverLog: func() string { return srv.log.String() }}

	const user, pass = "kill_e2e", "correct horse battery"
	b.do("register", submitCredentials(base+"/register", user, pass), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	b.do("log in", submitCredentials(base+"/session/login", user, pass))
	if got, want := b.text("first view", `.welcome`), "welcome "+user+" with the count: 1"; got != want {
		t.Fatalf("first view: %q, want %q", got, want)
	}
	b.do("reload", chromedp.Reload())
	if got, want := b.text("second view", `.welcome`), "welcome "+user+" with the count: 2"; got != want {
		t.Fatalf("second view: %q, want %q", got, want)
	}

	srv.kill()
	srv = startProcess(t, addr, "--store", db)

	b.do("reload after restart", chromedp.Reload())
	if got, want := b.text("after restart", `.welcome`), "welcome "+user+" with the count: 3"; got != want {
		t.Fatalf("after kill and restart: %q, want %q", got, want)
	}

	b.do("log out", logOut(base+"/session/logout"))
	b.do("profile after logout",
		chromedp.Navigate(base+"/session/profile"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	if loc := b.location(); !strings.HasPrefix(loc, base+"/session/login") {
		t.Errorf("the profile after logout left the browser at %s, want the login page", loc)
	}
}
