package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// passkeyReauthWindow is the --reauth-window of TestBrowserPasskeys's
// server.
const passkeyReauthWindow = 4 * time.Second

// passkeyStepTimeout bounds the wait for what one press of a button leads
// to (a WebAuthn ceremony and a navigation); past it the step fails with
// what the page and the server say.
const passkeyStepTimeout = 30 * time.Second

// TestBrowserPasskeys walks passkeys in a real browser, with a virtual
// authenticator (CTAP2, built in, with resident keys and user
// verification), on the real binary started with --reauth-window 4s. The
// browser goes to http://localhost:PORT, the relying party's origin by
// default (WebAuthn refuses an IP address as the relying party ID):
//
//   - the user registers with a password, logs in (session mode) and, on
//     the account page, adds a named passkey (confirming the password first
//     should the login be older than the window): the page says so and
//     lists exactly that passkey, and the authenticator holds exactly one
//     resident credential;
//   - logged out, the user logs in with the passkey alone, no username, in
//     each mode (session, cookie, JWT): the profile shows the count 1, then
//     2 on the next load;
//   - more than the window after the last login, delete-account leads to
//     the re-authentication page; the passkey confirms, the account page
//     comes back, and delete-account lands on "/";
//   - the passkey, still in the authenticator, logs no one in any more:
//     the login page says it is not registered and stays; the password
//     does not log in either.
//
// Everything happens through the page: navigation, typing and clicks;
// script only reads what the page shows.
func TestBrowserPasskeys(t *testing.T) {
	ctx := newBrowser(t)
	addr := freeAddr(t)
	srv := startProcess(t, addr, "--store", "sqlite:"+filepath.Join(t.TempDir(), "passkeys.db"), "--reauth-window", passkeyReauthWindow.String())
	logs := func() string { return srv.log.String() }
	b := &tab{t: t, ctx: ctx, serverLog: logs}

	// The browser uses the name localhost: the relying party ID.
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + port

	// A virtual authenticator for this tab, before any page loads.
	enableUI := false
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: &enableUI}); err != nil {
		b.fail("enabling the WebAuthn domain", err)
	}
	added, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.fail("adding a virtual authenticator", err)
	}
	authenticator := added.AuthenticatorID

	const user, pass, keyName = "passkey_e2e", "correct horse battery", "laptop key"

	b.do("register", submitCredentials(base+"/register", user, pass), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	b.do("log in with the password", submitCredentials(base+"/session/login", user, pass))
	if got, want := b.text("first view", `.welcome`), "welcome "+user+" with the count: 1"; got != want {
		t.Fatalf("the profile after the password login says %q, want %q", got, want)
	}

	// Add a passkey. Should the press come more than a window after the
	// last proof (a slow machine), the page asks for the password first;
	// the test confirms it and presses again.
	b.do("open the account page", chromedp.Navigate(base+"/session/account"), chromedp.WaitVisible(chromedp.CSS(`#passkeys`)))
	for try := 1; ; try++ {
		b.do("name the passkey",
			chromedp.WaitVisible(chromedp.CSS(`#passkey-name`)),
			chromedp.SendKeys(chromedp.CSS(`#passkey-name`), keyName),
			chromedp.Click(chromedp.CSS(`#add-passkey`)),
		)
		b.await("add a passkey", `.notice, form[action^="/session/reauth"] input[name=password]`)
		u := b.url()
		if u.Path == "/session/account" {
			break
		}
		if u.Path != "/session/reauth" || u.Query().Get("next") != "/session/account" {
			b.fail("add a passkey", fmt.Errorf("pressing #add-passkey led to %s, want /session/account?done=passkey or /session/reauth?next=/session/account", u))
		}
		if try == 3 {
			b.fail("add a passkey", fmt.Errorf("pressing #add-passkey led to the re-authentication page %d times", try))
		}
		t.Logf("adding a passkey asked to confirm the password (try %d): confirming", try)
		b.do("confirm the password to add a passkey",
			chromedp.SendKeys(chromedp.CSS(`form[action^="/session/reauth"] input[name=password]`), pass),
			chromedp.Click(chromedp.CSS(`form[action^="/session/reauth"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#add-passkey`)),
		)
		if u := b.url(); u.Path != "/session/account" {
			b.fail("confirm the password to add a passkey", fmt.Errorf("after confirming the password the browser is at %s, want /session/account", u))
		}
	}
	if u := b.url(); u.Query().Get("done") != "passkey" {
		t.Errorf("after adding a passkey the browser is at %s, want /session/account?done=passkey", u)
	}
	if notice := b.text("after adding a passkey", `.notice`); !strings.Contains(notice, "Your passkey was added") {
		t.Errorf("after adding a passkey the page says %q, want that the passkey was added", notice)
	}
	if names := b.passkeyNames("the account's passkeys"); len(names) != 1 || names[0] != keyName {
		t.Errorf("the account page lists the passkeys %q, want exactly [%q]", names, keyName)
	}
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
	if err != nil {
		b.fail("reading the authenticator's credentials", err)
	}
	if n := len(creds.Credentials); n != 1 {
		t.Fatalf("the virtual authenticator holds %d credentials, want 1", n)
	}
	if c := creds.Credentials[0]; !c.IsResidentCredential || c.RpID != "localhost" {
		t.Errorf("the authenticator's credential: resident %v, relying party %q; want a resident credential for localhost", c.IsResidentCredential, c.RpID)
	}

	b.do("log out", logOut(base+"/session/logout"))

	// The passkey alone logs in to each mode.
	var lastLogin time.Time
	for _, mode := range []string{"session", "cookie", "jwt"} {
		b.do(mode+": open the login page",
			chromedp.Navigate(base+"/"+mode+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#passkey-login`)),
			chromedp.Click(chromedp.CSS(`#passkey-login`)),
		)
		b.await(mode+": log in with the passkey", `.welcome`)
		lastLogin = time.Now()
		if got, want := b.text(mode+": first view", `.welcome`), "welcome "+user+" with the count: 1"; got != want {
			t.Errorf("%s mode: the profile after the passkey login says %q, want %q", mode, got, want)
		}
		if u := b.url(); u.Path != "/"+mode+"/profile" {
			t.Errorf("%s mode: after the passkey login the browser is at %s, want /%s/profile", mode, u, mode)
		}
		b.do(mode+": profile again", chromedp.Reload())
		if got, want := b.text(mode+": second view", `.welcome`), "welcome "+user+" with the count: 2"; got != want {
			t.Errorf("%s mode: the second profile view says %q, want %q", mode, got, want)
		}
	}

	// The last login is now older than the window: deleting asks to
	// confirm. (Waiting sets up that state; it decides nothing.)
	time.Sleep(time.Until(lastLogin.Add(passkeyReauthWindow + 500*time.Millisecond)))
	b.do("press delete-account",
		chromedp.Navigate(base+"/session/account"),
		chromedp.WaitVisible(chromedp.CSS(`#delete-account`)),
		chromedp.Click(chromedp.CSS(`#delete-account`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.modes, #passkey-reauth`)),
	)
	if u := b.url(); u.Path != "/session/reauth" || u.Query().Get("next") != "/session/account" {
		t.Fatalf("pressing delete-account more than %v after the last login led to %s, want /session/reauth?next=/session/account", passkeyReauthWindow, u)
	}

	// Confirm with the passkey, come back, delete. Should the second press
	// come more than a window after the proof, it is asked again, and the
	// test confirms again; only a bounce within the window is a failure.
	for try := 1; ; try++ {
		proved := time.Now()
		b.do("confirm with the passkey",
			chromedp.WaitVisible(chromedp.CSS(`#passkey-reauth`)),
			chromedp.Click(chromedp.CSS(`#passkey-reauth`)),
		)
		b.await("confirm with the passkey", `#delete-account`)
		if u := b.url(); u.Path != "/session/account" {
			t.Fatalf("after confirming with the passkey the browser is at %s, want /session/account", u)
		}
		b.do("press delete-account again",
			chromedp.Click(chromedp.CSS(`#delete-account`)),
			chromedp.WaitVisible(chromedp.CSS(`ul.modes, #passkey-reauth`)),
		)
		u := b.url()
		if u.Path == "/" {
			if u.Query().Get("deleted") != "1" {
				t.Errorf("deleting the account landed on %s, want /?deleted=1", u)
			}
			break
		}
		took := time.Since(proved)
		if u.Path != "/session/reauth" {
			t.Fatalf("pressing delete-account after confirming led to %s, want /?deleted=1", u)
		}
		if took < passkeyReauthWindow || try == 3 {
			t.Fatalf("pressing delete-account %v after confirming with the passkey (try %d) asked to confirm again, want the account deleted\nserver log:\n%s", took.Round(time.Millisecond), try, logs())
		}
		t.Logf("the press came %v after confirming, past the %v window: confirming again", took.Round(time.Millisecond), passkeyReauthWindow)
	}

	// The passkey is still in the authenticator, but logs no one in.
	b.do("log in with the passkey after deleting",
		chromedp.Navigate(base+"/session/login"),
		chromedp.WaitVisible(chromedp.CSS(`#passkey-login`)),
		chromedp.Click(chromedp.CSS(`#passkey-login`)),
	)
	status := b.passkeyStatus("log in with the passkey after deleting", "not registered")
	if !strings.Contains(status, "not registered") {
		t.Errorf("after deleting the account, the passkey login says %q, want that the passkey is not registered\nserver log:\n%s", status, logs())
	}
	if u := b.url(); u.Path != "/session/login" {
		t.Errorf("after deleting the account, the passkey login left the browser at %s, want the login page", u)
	}

	b.do("log in with the password after deleting",
		submitCredentials(base+"/session/login", user, pass),
		chromedp.WaitVisible(chromedp.CSS(`.error, .welcome`)),
	)
	if msg := b.text("the password login after deleting", `.error, .welcome`); !strings.Contains(msg, "Invalid username or password") {
		t.Errorf("logging in with the password after deleting the account: the page says %q, want that the login failed", msg)
	}
}

// await waits until sel is visible: what a button press that runs a
// passkey ceremony leads to. When it does not come within
// passkeyStepTimeout, it fails with the page's location and passkey
// status, and the server's log.
func (b *tab) await(step string, sel chromedp.CSS) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, passkeyStepTimeout)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.WaitVisible(sel))
	if err == nil {
		return
	}
	b.fail(step, fmt.Errorf("waiting for %s: %v; the browser is at %s, its passkey status says %q", sel, err, b.peek(chromedp.Location()), b.peek(chromedp.TextContent(chromedp.CSS(`#passkey-status`)))))
}

// peek runs a read of the page for a failure message: its value, or what
// went wrong.
func (b *tab) peek(read chromedp.Action[string]) string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, read)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return v
}

// passkeyStatus waits until the page's #passkey-status shows the outcome
// of a passkey ceremony (a text other than "Waiting…"), or want, and
// returns it. It fails when the page leaves, or the outcome does not come
// within passkeyStepTimeout.
func (b *tab) passkeyStatus(step, want string) string {
	b.t.Helper()
	deadline := time.Now().Add(passkeyStepTimeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#passkey-status`)))
		cancel()
		if err == nil {
			last = strings.TrimSpace(text)
			if strings.Contains(last, want) || (last != "" && !strings.HasPrefix(last, "Waiting")) {
				return last
			}
		}
		if time.Now().After(deadline) {
			b.fail(step, fmt.Errorf("#passkey-status says %q after %v (last error %v); the browser is at %s", last, passkeyStepTimeout, err, b.peek(chromedp.Location())))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// passkeyNames returns the names of the account page's passkeys.
func (b *tab) passkeyNames(step string) []string {
	b.t.Helper()
	names, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#passkeys tr.passkey"), r => (r.querySelector("td.passkey-name") || {}).textContent || "")`))
	if err != nil {
		b.fail(step, err)
	}
	for i, n := range names {
		names[i] = strings.TrimSpace(n)
	}
	return names
}
