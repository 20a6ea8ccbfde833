package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/webauthntest"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
)

// passkeyOrigin is the origin the software authenticator's client reports:
// the server's default WebAuthnOrigins.
const passkeyOrigin = "http://localhost:8080"

// postJSON posts body as application/json.
func (b *browser) postJSON(path string, body any) response {
	b.t.Helper()
	var raw []byte
	switch v := body.(type) {
	case []byte:
		raw = v
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			b.t.Fatal(err)
		}
	}
	req, err := http.NewRequest("POST", b.base+path, bytes.NewReader(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return b.do(req)
}

// passkeyFixture is a server on a memory store and a fake clock, with one
// user who has a password, a session-mode login and one passkey, held by
// a software authenticator.
type passkeyFixture struct {
	*jwtFixture
	logs    *syncBuffer
	user    string
	pass    string
	account string // the user's account ID
	b       *browser
	authn   *webauthntest.Authenticator
	cred    *webauthntest.Credential
}

func newPasskeyFixture(t *testing.T) *passkeyFixture {
	t.Helper()
	logs := &syncBuffer{}
	f := &passkeyFixture{
		jwtFixture: newJWTFixture(t, server.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))}),
		logs:       logs, user: "pia", pass: "correct horse battery",
		authn: webauthntest.New(passkeyOrigin),
	}
	f.b = newBrowser(t, f.url)
	f.b.register(f.user, f.pass)
	f.b.login("session", f.user, f.pass)
	u, err := f.store.User(context.Background(), f.user)
	if err != nil {
		t.Fatal(err)
	}
	f.account = u.ID
	f.cred = f.addPasskey(t, f.b, "laptop")
	return f
}

// addPasskey registers a new passkey of the authenticator through b's
// session, failing the test if that does not work.
func (f *passkeyFixture) addPasskey(t *testing.T, b *browser, name string) *webauthntest.Credential {
	t.Helper()
	r := b.postJSON("/session/passkeys/begin", struct{}{})
	if r.Status != http.StatusOK {
		t.Fatalf("beginning a registration: %d %q (Location %q)", r.Status, r.Body, r.Location)
	}
	resp, cred, err := f.authn.Create([]byte(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	r = b.postJSON("/session/passkeys/finish", map[string]any{"name": name, "credential": json.RawMessage(resp)})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"/session/account?done=passkey"`) {
		t.Fatalf("finishing a registration: %d %q", r.Status, r.Body)
	}
	return cred
}

// loginBegin starts a browser's passkey login and returns its options.
func loginBegin(t *testing.T, b *browser) []byte {
	t.Helper()
	r := b.postJSON("/passkey/login/begin", struct{}{})
	if r.Status != http.StatusOK {
		t.Fatalf("beginning a passkey login: %d %q", r.Status, r.Body)
	}
	return []byte(r.Body)
}

// apiBegin starts an API passkey login and returns its options and state.
func apiBegin(t *testing.T, base string) (options []byte, state string) {
	t.Helper()
	r := api(t, base, "POST", "/api/passkey/login/begin", "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("beginning an API passkey login: %d %q", r.Status, r.Body)
	}
	var body struct {
		Options json.RawMessage `json:"options"`
		State   string          `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	return body.Options, body.State
}

// apiFinish finishes an API passkey login.
func apiFinish(t *testing.T, base, state string, response []byte) apiResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"state": state, "credential": json.RawMessage(response)})
	return api(t, base, "POST", "/api/passkey/login/finish", string(body), "")
}

// TestPasskeyLogsInEveryMode: one passkey logs in to each mode as a
// password does: a session, a cookie login, a JWT login and an API token
// pair, each showing its own count, and each listed on the account page.
func TestPasskeyLogsInEveryMode(t *testing.T) {
	f := newPasskeyFixture(t)
	for _, mode := range []string{"session", "cookie", "jwt"} {
		b := newBrowser(t, f.url)
		resp, err := f.authn.Get(loginBegin(t, b), f.cred)
		if err != nil {
			t.Fatal(err)
		}
		r := b.postJSON("/"+mode+"/passkey/login?next=/"+mode+"/profile", json.RawMessage(resp))
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"redirect":"/`+mode+`/profile"`) {
			t.Fatalf("%s passkey login: %d %q", mode, r.Status, r.Body)
		}
		for i, want := range []string{"welcome pia with the count: 1", "welcome pia with the count: 2"} {
			if got := b.profile(mode); got != want {
				t.Errorf("%s profile view %d: %q, want %q", mode, i+1, got, want)
			}
		}
	}
	options, state := apiBegin(t, f.url)
	resp, err := f.authn.Get(options, f.cred)
	if err != nil {
		t.Fatal(err)
	}
	r := apiFinish(t, f.url, state, resp)
	if r.Status != http.StatusOK {
		t.Fatalf("API passkey login: %d %q", r.Status, r.Body)
	}
	if me := api(t, f.url, "GET", "/api/me", "", r.JSON["access_token"].(string)); me.Status != http.StatusOK || me.JSON["username"] != "pia" {
		t.Errorf("/api/me after a passkey login: %d %q", me.Status, me.Body)
	}
	// The password session, three browser logins and the API login.
	if ids := listedIDs(t, f.b); len(ids) != 4 {
		t.Errorf("the account page lists %d other logins, want 4", len(ids))
	}
	ps, err := f.store.AccountPasskeys(context.Background(), f.account)
	if err != nil || len(ps) != 1 || ps[0].SignCount != 4 || ps[0].LastUsed.IsZero() || ps[0].Name != "laptop" {
		t.Errorf("the stored passkey after four logins: %+v, %v; want sign count 4, last used set, name laptop", ps, err)
	}
}

// TestPasskeyRefusals: every way a passkey ceremony can be wrong answers
// 4xx, logs no one in and leaves the passkey working.
func TestPasskeyRefusals(t *testing.T) {
	type attempt struct {
		state    string
		response []byte
	}
	// What the problem's detail says, by cause: a bad challenge, a
	// response that does not verify, a passkey that logs no one in.
	const (
		challenge = "passkey challenge"
		invalid   = "not valid for this site"
		unknown   = "not registered"
		refused   = "this passkey was refused"
	)
	tests := []struct {
		name   string
		status int
		detail string
		// make returns the state and response to finish with; it may
		// change the fixture (remove the passkey, move the clock).
		make func(t *testing.T, f *passkeyFixture) attempt
	}{
		{"replayed challenge", http.StatusBadRequest, challenge, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred)
			if r := apiFinish(t, f.url, state, resp); r.Status != http.StatusOK {
				t.Fatalf("the first use: %d %q", r.Status, r.Body)
			}
			return attempt{state, resp}
		}},
		{"challenge replayed with a fresh signature", http.StatusBadRequest, challenge, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred)
			apiFinish(t, f.url, state, resp)
			again, _ := f.authn.Get(options, f.cred) // counter moved on
			return attempt{state, again}
		}},
		{"expired challenge", http.StatusBadRequest, challenge, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred)
			f.clock.Advance(6 * time.Minute)
			return attempt{state, resp}
		}},
		{"tampered state", http.StatusBadRequest, challenge, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred)
			return attempt{flipAt(state, len(state)/2), resp}
		}},
		{"another ceremony's state", http.StatusBadRequest, invalid, func(t *testing.T, f *passkeyFixture) attempt {
			options, _ := apiBegin(t, f.url)
			_, other := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred)
			return attempt{other, resp}
		}},
		{"response for another origin", http.StatusBadRequest, invalid, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			f.authn.Origin = "https://evil.example"
			defer func() { f.authn.Origin = passkeyOrigin }()
			resp, _ := f.authn.Get(options, f.cred)
			return attempt{state, resp}
		}},
		{"response for another relying party", http.StatusBadRequest, invalid, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			var o struct {
				PublicKey struct {
					Challenge string `json:"challenge"`
				} `json:"publicKey"`
			}
			json.Unmarshal(options, &o)
			f.cred.SignCount++
			resp, _ := f.authn.Assert(f.cred, o.PublicKey.Challenge, "evil.example")
			return attempt{state, resp}
		}},
		{"signature by another key", http.StatusBadRequest, invalid, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			impostor := *f.cred
			_, fresh, _ := webauthntest.New(passkeyOrigin).Create(mustOptions(t, f))
			impostor.Key = fresh.Key
			resp, _ := f.authn.Get(options, &impostor)
			return attempt{state, resp}
		}},
		{"malformed response", http.StatusBadRequest, invalid, func(t *testing.T, f *passkeyFixture) attempt {
			_, state := apiBegin(t, f.url)
			return attempt{state, []byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`)}
		}},
		{"removed passkey", http.StatusUnauthorized, unknown, func(t *testing.T, f *passkeyFixture) attempt {
			access, _ := apiLogin(t, f.url, f.user, f.pass)
			id := base64.RawURLEncoding.EncodeToString(f.cred.ID)
			if r := api(t, f.url, "DELETE", "/api/passkeys/"+id, "", access); r.Status != http.StatusNoContent {
				t.Fatalf("removing the passkey: %d %q", r.Status, r.Body)
			}
			options, state := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred)
			return attempt{state, resp}
		}},
		{"signature counter rolled back", http.StatusUnauthorized, refused, func(t *testing.T, f *passkeyFixture) attempt {
			options, state := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred) // counter 1
			if r := apiFinish(t, f.url, state, resp); r.Status != http.StatusOK {
				t.Fatalf("a good login: %d %q", r.Status, r.Body)
			}
			options, state = apiBegin(t, f.url)
			clone := *f.cred
			clone.SignCount = 0 // Get makes it 1 again: not past the stored 1
			resp, _ = f.authn.Get(options, &clone)
			return attempt{state, resp}
		}},
		{"deleted account", http.StatusUnauthorized, unknown, func(t *testing.T, f *passkeyFixture) attempt {
			access, _ := apiLogin(t, f.url, f.user, f.pass)
			if r := api(t, f.url, "DELETE", "/api/me", "", access); r.Status != http.StatusNoContent {
				t.Fatalf("deleting the account: %d %q", r.Status, r.Body)
			}
			options, state := apiBegin(t, f.url)
			resp, _ := f.authn.Get(options, f.cred)
			return attempt{state, resp}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPasskeyFixture(t)
			a := tt.make(t, f)
			r := apiFinish(t, f.url, a.state, a.response)
			if r.Status != tt.status || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("finishing: %d %q (%s), want %d as problem details", r.Status, r.Body, r.Header.Get("Content-Type"), tt.status)
			}
			if detail, _ := r.JSON["detail"].(string); !strings.Contains(detail, tt.detail) {
				t.Errorf("the problem says %q, want it to say %q", detail, tt.detail)
			}
			if _, ok := r.JSON["access_token"]; ok {
				t.Fatal("a refused passkey login answered tokens")
			}
			// The metrics count it as a failed login (401) or an
			// invalid one (400), not as the store failing.
			result := map[int]string{http.StatusBadRequest: "invalid", http.StatusUnauthorized: "failed"}[tt.status]
			metrics := newBrowser(t, f.url).get("/metrics").Body
			if want := `sessionkit_logins_total{mode="api",result="` + result + `"} 1`; !strings.Contains(metrics, want) {
				t.Errorf("the metrics do not have %s", want)
			}
			if tt.name == "signature counter rolled back" && !strings.Contains(f.logs.String(), "signature counter went backwards") {
				t.Errorf("the rollback was not logged; log:\n%s", f.logs.String())
			}
		})
	}
}

// mustOptions are registration options from the fixture's session, for a
// second authenticator to make a key with.
func mustOptions(t *testing.T, f *passkeyFixture) []byte {
	t.Helper()
	r := f.b.postJSON("/session/passkeys/begin", struct{}{})
	if r.Status != http.StatusOK {
		t.Fatalf("beginning a registration: %d %q", r.Status, r.Body)
	}
	return []byte(r.Body)
}

// TestPasskeyBrowserChallengeIsSingleUse: the browser's ceremony state
// rides in a cookie the finish clears; sending the same cookie and answer
// again is refused, and so is a finish without the cookie.
func TestPasskeyBrowserChallengeIsSingleUse(t *testing.T) {
	f := newPasskeyFixture(t)
	b := newBrowser(t, f.url)
	resp, _ := f.authn.Get(loginBegin(t, b), f.cred)
	state := b.cookie("sk_passkey")
	if state == "" {
		t.Fatal("the login's begin set no sk_passkey cookie")
	}
	if r := b.postJSON("/cookie/passkey/login", json.RawMessage(resp)); r.Status != http.StatusOK {
		t.Fatalf("the first finish: %d %q", r.Status, r.Body)
	}
	if b.cookie("sk_passkey") != "" {
		t.Error("the finish left the ceremony cookie in place")
	}
	replay := newBrowser(t, f.url)
	req, _ := http.NewRequest("POST", f.url+"/session/passkey/login", bytes.NewReader(resp))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "sk_passkey", Value: state})
	if r := replay.do(req); r.Status != http.StatusBadRequest {
		t.Errorf("the same cookie and answer again: %d %q, want 400", r.Status, r.Body)
	}
	if replay.cookie("sk_session") != "" {
		t.Error("the replay got a session cookie")
	}
	if r := newBrowser(t, f.url).postJSON("/jwt/passkey/login", json.RawMessage(resp)); r.Status != http.StatusBadRequest {
		t.Errorf("a finish without the ceremony cookie: %d %q, want 400", r.Status, r.Body)
	}
}

// TestPasskeyStateOfOneName sends a passkey login's answer with two
// ceremony cookies, as when a sibling domain planted one: neither is
// spent, nobody is logged in; the same answer with its own cookie alone
// then logs in.
func TestPasskeyStateOfOneName(t *testing.T) {
	f := newPasskeyFixture(t)
	planter := newBrowser(t, f.url)
	loginBegin(t, planter)
	planted := planter.cookie("sk_passkey")
	b := newBrowser(t, f.url)
	resp, _ := f.authn.Get(loginBegin(t, b), f.cred)
	state := b.cookie("sk_passkey")
	finish := func(states ...string) response {
		req, _ := http.NewRequest("POST", f.url+"/session/passkey/login", bytes.NewReader(resp))
		req.Header.Set("Content-Type", "application/json")
		for _, s := range states {
			req.AddCookie(&http.Cookie{Name: "sk_passkey", Value: s})
		}
		return newBrowser(t, f.url).do(req)
	}
	for _, order := range [][]string{{planted, state}, {state, planted}} {
		if r := finish(order...); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "challenge") {
			t.Errorf("two ceremony cookies: %d %q; want 400 for the challenge", r.Status, r.Body)
		}
	}
	if r := finish(state); r.Status != http.StatusOK {
		t.Errorf("the answer with its own cookie alone, after the refusals: %d %q; want 200 (nothing was spent)", r.Status, r.Body)
	}
}

// TestPasskeyRegistration: adding a passkey needs a recent proof of
// identity, and a registration's state is bound to the login that began
// it; the account page lists, renames and removes passkeys.
func TestPasskeyRegistration(t *testing.T) {
	f := newPasskeyFixture(t)

	// Another login of the same user cannot finish f.b's registration.
	r := f.b.postJSON("/session/passkeys/begin", struct{}{})
	resp, _, err := f.authn.Create([]byte(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	state := f.b.cookie("sk_passkey")
	other := newBrowser(t, f.url)
	other.login("session", f.user, f.pass)
	req, _ := http.NewRequest("POST", f.url+"/session/passkeys/finish",
		strings.NewReader(`{"name":"stolen","credential":`+string(resp)+`}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "sk_passkey", Value: state})
	for _, c := range other.c.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	if r := other.do(req); r.Status != http.StatusBadRequest {
		t.Errorf("finishing another session's registration: %d %q, want 400", r.Status, r.Body)
	}

	// The account page lists the passkey; rename and remove work, only on
	// the user's own passkeys.
	id := base64.RawURLEncoding.EncodeToString(f.cred.ID)
	page := f.b.get("/session/account")
	if !strings.Contains(page.Body, `class="passkey-name">laptop<`) || !strings.Contains(page.Body, `value="`+id+`"`) {
		t.Fatalf("the account page does not list the passkey: %s", page.Body)
	}
	if r := f.b.post("/session/passkeys/rename", map[string][]string{"id": {id}, "name": {"work laptop"}}); r.Status != http.StatusSeeOther {
		t.Errorf("rename: %d %q", r.Status, r.Body)
	}
	if page := f.b.get("/session/account"); !strings.Contains(page.Body, `class="passkey-name">work laptop<`) {
		t.Error("the account page does not show the new name")
	}
	stranger := newBrowser(t, f.url)
	stranger.register("sam", f.pass)
	stranger.login("session", "sam", f.pass)
	if r := stranger.post("/session/passkeys/remove", map[string][]string{"id": {id}}); r.Status != http.StatusNotFound {
		t.Errorf("another user removing pia's passkey: %d, want 404", r.Status)
	}
	if r := f.b.post("/session/passkeys/remove", map[string][]string{"id": {id}}); r.Status != http.StatusSeeOther {
		t.Errorf("remove: %d %q", r.Status, r.Body)
	}
	if ps, _ := f.store.AccountPasskeys(context.Background(), f.account); len(ps) != 0 {
		t.Errorf("after removal the account has %d passkeys", len(ps))
	}

	// Past the re-authentication window, adding a passkey asks for the
	// password (or a passkey) first, in the browser and in the API.
	access, _ := apiLogin(t, f.url, f.user, f.pass)
	f.clock.Advance(server.DefaultReauthWindow + time.Second)
	if r := f.b.postJSON("/session/passkeys/begin", struct{}{}); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/session/reauth?next=") {
		t.Errorf("beginning a registration with an old login: %d (Location %q), want 303 to re-authenticate", r.Status, r.Location)
	}
	r2 := api(t, f.url, "POST", "/api/passkeys/begin", "", access)
	if r2.Status != http.StatusUnauthorized || !strings.Contains(r2.Header.Get("WWW-Authenticate"), "insufficient_user_authentication") {
		t.Errorf("API registration with an old login: %d %q, want the 401 step-up challenge", r2.Status, r2.Header.Get("WWW-Authenticate"))
	}
}

// TestPasskeyAPIRegistration: a program adds a passkey with a fresh token,
// lists it, and logs in with it.
func TestPasskeyAPIRegistration(t *testing.T) {
	f := newPasskeyFixture(t)
	access, _ := apiLogin(t, f.url, f.user, f.pass)
	r := api(t, f.url, "POST", "/api/passkeys/begin", "", access)
	if r.Status != http.StatusOK {
		t.Fatalf("API registration begin: %d %q", r.Status, r.Body)
	}
	var start struct {
		Options json.RawMessage `json:"options"`
		State   string          `json:"state"`
	}
	json.Unmarshal([]byte(r.Body), &start)
	if strings.Contains(string(start.Options), base64.RawURLEncoding.EncodeToString(f.cred.ID)) == false {
		t.Error("the options do not exclude the passkey the account already has")
	}
	authn := webauthntest.New(passkeyOrigin)
	resp, cred, err := authn.Create(start.Options)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"state": start.State, "name": "phone", "credential": json.RawMessage(resp)})
	if r := api(t, f.url, "POST", "/api/passkeys/finish", string(body), access); r.Status != http.StatusCreated || r.JSON["name"] != "phone" {
		t.Fatalf("API registration finish: %d %q", r.Status, r.Body)
	}
	if r := api(t, f.url, "POST", "/api/passkeys/finish", string(body), access); r.Status != http.StatusBadRequest {
		t.Errorf("the same registration again: %d %q, want 400", r.Status, r.Body)
	}
	list := api(t, f.url, "GET", "/api/passkeys", "", access)
	if list.Status != http.StatusOK || strings.Count(list.Body, `"id"`) != 2 {
		t.Errorf("listing passkeys: %d %q, want two", list.Status, list.Body)
	}
	options, state := apiBegin(t, f.url)
	resp, _ = authn.Get(options, cred)
	if r := apiFinish(t, f.url, state, resp); r.Status != http.StatusOK {
		t.Errorf("logging in with the passkey added by the API: %d %q", r.Status, r.Body)
	}
}

// TestPasskeyStepUp: a passkey proves who the user is for deleting the
// account, only if it is the account's own; the deleted account's
// passkeys are gone with it.
func TestPasskeyStepUp(t *testing.T) {
	f := newPasskeyFixture(t)
	stranger := newBrowser(t, f.url)
	stranger.register("sam", f.pass)
	stranger.login("session", "sam", f.pass)
	samKey := webauthntest.New(passkeyOrigin)
	f2 := &passkeyFixture{jwtFixture: f.jwtFixture, authn: samKey}
	samCred := f2.addPasskey(t, stranger, "sam's key")

	f.clock.Advance(server.DefaultReauthWindow + time.Second)
	if r := f.b.post("/session/account/delete", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/session/reauth") {
		t.Fatalf("deleting with an old login: %d (Location %q), want 303 to re-authenticate", r.Status, r.Location)
	}
	// Sam's passkey does not confirm Pia.
	resp, _ := samKey.Get(loginBegin(t, f.b), samCred)
	if r := f.b.postJSON("/session/reauth/passkey", json.RawMessage(resp)); r.Status != http.StatusForbidden {
		t.Errorf("step-up with another account's passkey: %d %q, want 403", r.Status, r.Body)
	}
	if r := f.b.post("/session/account/delete", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/session/reauth") {
		t.Fatalf("the refused step-up let the delete through: %d (Location %q)", r.Status, r.Location)
	}
	resp, _ = f.authn.Get(loginBegin(t, f.b), f.cred)
	if r := f.b.postJSON("/session/reauth/passkey?next=/session/account", json.RawMessage(resp)); r.Status != http.StatusOK || !strings.Contains(r.Body, `"/session/account"`) {
		t.Fatalf("step-up with the passkey: %d %q", r.Status, r.Body)
	}
	if r := f.b.post("/session/account/delete", nil); r.Status != http.StatusSeeOther || r.Location != "/?deleted=1" {
		t.Fatalf("deleting after the step-up: %d (Location %q)", r.Status, r.Location)
	}
	if _, err := f.store.Passkey(context.Background(), f.cred.ID); err != store.ErrNotFound {
		t.Errorf("the deleted account's passkey is still stored (err %v)", err)
	}
	options, state := apiBegin(t, f.url)
	resp, _ = f.authn.Get(options, f.cred)
	if r := apiFinish(t, f.url, state, resp); r.Status != http.StatusUnauthorized {
		t.Errorf("the deleted account's passkey logging in: %d %q, want 401", r.Status, r.Body)
	}
	if _, err := f.store.Passkey(context.Background(), samCred.ID); err != nil {
		t.Errorf("another account's passkey went with the deleted account: %v", err)
	}
}
