package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRegister(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("frank", "password six")

	cases := []struct {
		name     string
		body     string
		status   int
		mentions string // a phrase the page must show
	}{
		{"taken", creds("frank", "another password").Encode(), http.StatusConflict, "taken"},
		{"taken in another case", creds("FRANK", "another password").Encode(), http.StatusConflict, "taken"},
		{"username too short", creds("ab", "password six").Encode(), http.StatusBadRequest, "3 to 64"},
		{"username too long", creds(strings.Repeat("a", 65), "password six").Encode(), http.StatusBadRequest, "3 to 64"},
		{"username with a space", creds("john smith", "password six").Encode(), http.StatusBadRequest, "3 to 64"},
		{"username with a slash", creds("a/b/c", "password six").Encode(), http.StatusBadRequest, "3 to 64"},
		{"password too short", creds("grace", "short").Encode(), http.StatusBadRequest, "8 to 1024"},
		{"password too long", creds("grace", strings.Repeat("x", 1025)).Encode(), http.StatusBadRequest, "8 to 1024"},
		{"no username", url.Values{"password": {"password six"}}.Encode(), http.StatusBadRequest, "Enter a username"},
		{"no password", url.Values{"username": {"grace"}}.Encode(), http.StatusBadRequest, "Enter a password"},
		{"empty body", "", http.StatusBadRequest, "Enter a username and a password"},
		{"not a form", "%zz%", http.StatusBadRequest, "could not be read"},
		{"body over 64 KiB", "username=grace&password=" + strings.Repeat("x", 70<<10), http.StatusRequestEntityTooLarge, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := b.postRaw("/register", c.body)
			if r.Status != c.status {
				t.Errorf("status %d, want %d", r.Status, c.status)
			}
			if !strings.Contains(r.Body, c.mentions) {
				t.Errorf("page does not say %q: %q", c.mentions, r.Body)
			}
		})
	}
	// None of those created an account.
	if r := b.post("/cookie/login", creds("grace", "password six")); r.Status != http.StatusUnauthorized {
		t.Errorf("login as an account that was never created: %d, want 401", r.Status)
	}
}

// TestLoginFailures checks that an unknown user and a wrong password look
// the same, and that repeated failures are throttled.
func TestLoginFailures(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("heidi", "password seven")

	unknown := b.post("/cookie/login", creds("nobody_here", "password seven"))
	wrong := b.post("/cookie/login", creds("heidi", "wrong password"))
	if unknown.Status != http.StatusUnauthorized || wrong.Status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d, wrong password: %d; want 401 for both", unknown.Status, wrong.Status)
	}
	// The pages differ only in the username echoed into the form.
	normalize := func(body, user string) string { return strings.ReplaceAll(body, user, "USER") }
	if normalize(unknown.Body, "nobody_here") != normalize(wrong.Body, "heidi") {
		t.Errorf("unknown user and wrong password give different pages:\n%s\n---\n%s", unknown.Body, wrong.Body)
	}
	if !strings.Contains(wrong.Body, "Invalid username or password") {
		t.Errorf("no generic error on the page: %q", wrong.Body)
	}

	// 10 failures per username in the window: one is spent above.
	for i := 0; i < 9; i++ {
		if r := b.post("/cookie/login", creds("heidi", "wrong password")); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+2, r.Status)
		}
	}
	r := b.post("/cookie/login", creds("heidi", "password seven"))
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password after 10 failures: %d, want 429", r.Status)
	}
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without a useful Retry-After: %q", ra)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	for _, path := range []string{"/register", "/cookie/login", "/cookie/logout"} {
		for name, set := range map[string]func(h http.Header){
			"Sec-Fetch-Site": func(h http.Header) { h.Set("Sec-Fetch-Site", "cross-site") },
			"Origin":         func(h http.Header) { h.Set("Origin", "https://evil.example") },
		} {
			req, err := http.NewRequest("POST", ts.URL+path, strings.NewReader(creds("mallory", "password eight").Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			set(req.Header)
			if r := b.do(req); r.Status != http.StatusForbidden {
				t.Errorf("cross-origin POST %s (%s): %d, want 403", path, name, r.Status)
			}
		}
	}
	// A same-origin POST from the browser works.
	req, _ := http.NewRequest("POST", ts.URL+"/register", strings.NewReader(creds("mallory", "password eight").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", ts.URL)
	if r := b.do(req); r.Status != http.StatusSeeOther {
		t.Errorf("same-origin POST /register: %d, want 303", r.Status)
	}
}

func TestLoginNext(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	b.register("ivan", "password nine")
	cases := []struct {
		next string
		want string
	}{
		{"/cookie/profile?tab=1", "/cookie/profile?tab=1"},
		{"/", "/"},
		{"//evil.example/", "/cookie/profile"},
		{`/\evil.example/`, "/cookie/profile"},
		{"https://evil.example/", "/cookie/profile"},
		{"javascript:alert(1)", "/cookie/profile"},
		{"evil.example", "/cookie/profile"},
		{"/ok\r\nSet-Cookie: x=y", "/cookie/profile"},
		{"", "/cookie/profile"},
	}
	for _, c := range cases {
		r := b.post("/cookie/login?next="+url.QueryEscape(c.next), creds("ivan", "password nine"))
		if r.Status != http.StatusSeeOther || r.Location != c.want {
			t.Errorf("next=%q: %d to %q, want 303 to %q", c.next, r.Status, r.Location, c.want)
		}
	}
	// The login form keeps a local next, and drops another.
	if r := b.get("/cookie/logout"); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	anon := newBrowser(t, ts.URL)
	if r := anon.get("/cookie/login?next=/cookie/profile"); !strings.Contains(r.Body, `action="/cookie/login?next=%2fcookie%2fprofile"`) &&
		!strings.Contains(r.Body, `action="/cookie/login?next=%2Fcookie%2Fprofile"`) {
		t.Errorf("login form does not carry next: %q", r.Body)
	}
	if r := anon.get("/cookie/login?next=//evil.example"); strings.Contains(r.Body, "evil") {
		t.Errorf("login form carries an off-site next: %q", r.Body)
	}
}

func TestPagesAndHeaders(t *testing.T) {
	ts := newMemServer(t)
	b := newBrowser(t, ts.URL)
	// Pages work without JavaScript; the login pages load one script, for
	// passkeys, which only they (and the account and re-authentication
	// pages) need.
	scripts := map[string]int{"/": 0, "/register": 0, "/cookie/logout": 0, "/cookie/login": 1, "/session/login": 1, "/jwt/login": 1}
	for path, want := range scripts {
		r := b.get(path)
		if r.Status != http.StatusOK {
			t.Errorf("GET %s: %d", path, r.Status)
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: security headers missing: %v", path, r.Header)
		}
		if got := strings.Count(r.Body, "<script"); got != want || (want == 1 && !strings.Contains(r.Body, `<script src="/static/passkey.js" defer></script>`)) {
			t.Errorf("GET %s: the page has %d scripts, want %d (the passkey script, and only on the login pages)", path, got, want)
		}
	}
	if r := b.get("/"); !strings.Contains(r.Body, `href="/cookie/login"`) || !strings.Contains(r.Body, `href="/register"`) {
		t.Errorf("index does not link cookie mode and register: %q", r.Body)
	}
	if r := b.get("/no/such/page"); r.Status != http.StatusNotFound {
		t.Errorf("unknown page: %d, want 404", r.Status)
	}
	if r := b.postRaw("/cookie/profile", ""); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST to the profile: %d, want 405", r.Status)
	}
}
