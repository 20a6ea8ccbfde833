package e2e

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// findBrowser returns the path of a Chromium binary. It skips the test when
// there is none, unless CI=true, where that fails the test.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found on PATH; .ci/run installs Debian's chromium package")
	}
	t.Skip("skipping the browser test: no Chromium on PATH (apt-get install chromium)")
	return ""
}

// startServer runs the web application on a fresh SQLite store, as
// "sessionkit serve" would, and returns its base URL.
func startServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "e2e.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(ctx, st, server.Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// newBrowser starts headless Chromium with a fresh profile and no
// background traffic, and returns a context that drives one tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findBrowser(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	return ctx
}

// TestBrowserCookieMode walks the tutorial's flow in a real browser in
// sealed-cookie mode: register, log in, see the count go 1 then 2, check
// that page script cannot read the login cookie, log out, and be sent to
// the login page when asking for the profile again.
func TestBrowserCookieMode(t *testing.T) {
	base := startServer(t)
	ctx := newBrowser(t)

	b := &tab{t: t, ctx: ctx}

	const user, pass = "alice_e2e", "correct horse battery"
	b.do("register", submitCredentials(base+"/register", user, pass))
	if notice := b.text("register", `.notice`); !strings.Contains(notice, "account is ready") {
		t.Fatalf("after registering, the page says %q", notice)
	}

	b.do("log in", submitCredentials(base+"/cookie/login", user, pass))
	if got, want := b.text("first view", `.welcome`), "welcome "+user+" with the count: 1"; got != want {
		t.Fatalf("first profile view says %q, want %q", got, want)
	}
	if loc := b.location(); loc != base+"/cookie/profile" {
		t.Errorf("after login the browser is at %s, want %s/cookie/profile", loc, base)
	}

	b.do("profile again", chromedp.Reload())
	if got, want := b.text("second view", `.welcome`), "welcome "+user+" with the count: 2"; got != want {
		t.Fatalf("second profile view says %q, want %q", got, want)
	}

	jsCookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatalf("reading document.cookie: %v", err)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatalf("reading the browser's cookies: %v", err)
	}
	var login *network.Cookie
	for _, c := range res.Cookies {
		if strings.HasSuffix(c.Name, "sk_cookie") {
			login = c
		}
	}
	if login == nil {
		t.Fatalf("the browser holds no login cookie; it holds %d cookies", len(res.Cookies))
	}
	if !login.HTTPOnly {
		t.Error("the login cookie is not HttpOnly")
	}
	if strings.Contains(jsCookies, login.Name) || strings.Contains(jsCookies, login.Value) {
		t.Errorf("page script can read the login cookie: document.cookie = %q", jsCookies)
	}

	b.do("log out", logOut(base+"/cookie/logout"))
	if loc := b.location(); loc != base+"/cookie/login" {
		t.Errorf("after logout the browser is at %s, want %s/cookie/login", loc, base)
	}

	b.do("profile after logout",
		chromedp.Navigate(base+"/cookie/profile"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	if loc := b.location(); !strings.HasPrefix(loc, base+"/cookie/login") {
		t.Errorf("the profile after logout left the browser at %s, want the login page", loc)
	}
}
