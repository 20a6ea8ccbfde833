package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// tab drives one browser tab for a test, failing the test on any error.
type tab struct {
	t   *testing.T
	ctx context.Context
	// serverLog, when set, returns the server's output to show on failure.
	serverLog func() string
}

func (b *tab) fail(step string, err error) {
	b.t.Helper()
	if b.serverLog != nil {
		b.t.Fatalf("%s: %v\nserver log:\n%s", step, err, b.serverLog())
	}
	b.t.Fatalf("%s: %v", step, err)
}

// do runs actions as one step.
func (b *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

// text waits for sel and returns its text, trimmed.
func (b *tab) text(step string, sel chromedp.CSS) string {
	b.t.Helper()
	b.do(step, chromedp.WaitVisible(sel))
	v, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.fail(step, err)
	}
	return strings.TrimSpace(v)
}

// location returns the tab's URL.
func (b *tab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fail("location", err)
	}
	return loc
}

// submitCredentials opens pageURL, fills its username and password fields
// and submits the form.
func submitCredentials(pageURL, user, pass string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pass),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
}

// logOut opens a logout page, presses its button and waits for the login
// form it leads to.
func logOut(pageURL string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`button[type=submit]`)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
}
