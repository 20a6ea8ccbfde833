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

	const user, pass = "kill_e2e", "correct horse battery"
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", step, err, srv.log.String())
		}
	}
	welcome := func(step string) string {
		t.Helper()
		do(step, chromedp.WaitVisible(chromedp.CSS(`.welcome`)))
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.welcome`)))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return strings.TrimSpace(v)
	}
	submit := func(pageURL string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(pageURL),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pass),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		)
	}

	do("register", submit(base+"/register"), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	do("log in", submit(base+"/session/login"))
	if got, want := welcome("first view"), "welcome "+user+" with the count: 1"; got != want {
		t.Fatalf("first view: %q, want %q", got, want)
	}
	do("reload", chromedp.Reload())
	if got, want := welcome("second view"), "welcome "+user+" with the count: 2"; got != want {
		t.Fatalf("second view: %q, want %q", got, want)
	}

	srv.kill()
	srv = startProcess(t, addr, "--store", db)

	do("reload after restart", chromedp.Reload())
	if got, want := welcome("after restart"), "welcome "+user+" with the count: 3"; got != want {
		t.Fatalf("after kill and restart: %q, want %q", got, want)
	}

	do("log out",
		chromedp.Navigate(base+"/session/logout"),
		chromedp.WaitVisible(chromedp.CSS(`button[type=submit]`)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.Navigate(base+"/session/profile"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, base+"/session/login") {
		t.Errorf("the profile after logout left the browser at %s, want the login page", loc)
	}
}
