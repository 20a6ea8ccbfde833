package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// browser is a client with its own cookie jar that follows no redirect.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get answers the status and Location of GET path.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// post sends the form and fails the test unless the answer is a 303.
func (b *browser) post(path string, form url.Values) {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A tab, a C1 control (CSI, which terminals act on) and a
	// right-to-left override: what net/http lets through of a hostile
	// user agent.
	req.Header.Set("User-Agent", "test browser\tred \u009b31m \u202e")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("POST %s: %d, want 303", path, resp.StatusCode)
	}
}

// cookies returns the values of every cookie the browser holds.
func (b *browser) cookies() []string {
	var values []string
	for _, path := range []string{"/", "/jwt/refresh"} {
		u, _ := url.Parse(b.base + path)
		for _, c := range b.c.Jar.Cookies(u) {
			values = append(values, c.Value)
		}
	}
	return values
}

// logIn logs the browser in through mode and views the profile once.
func (b *browser) logIn(mode, user, pass string) {
	b.t.Helper()
	b.post("/"+mode+"/login", url.Values{"username": {user}, "password": {pass}})
	if status, loc := b.get("/" + mode + "/profile"); status != http.StatusOK {
		b.t.Fatalf("%s profile after login: %d %q", mode, status, loc)
	}
}

// loggedOut checks that the browser's next request of mode's profile
// goes to its login page, and for JWT mode that the refresh token does
// not log it back in.
func (b *browser) loggedOut(what, mode string) {
	b.t.Helper()
	status, loc := b.get("/" + mode + "/profile")
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/"+mode+"/login") {
		b.t.Errorf("%s: the %s profile answered %d %q, want 303 to the login page", what, mode, status, loc)
	}
	if mode == "jwt" {
		if status, loc := b.get("/jwt/refresh?next=/jwt/profile"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/jwt/login") {
			b.t.Errorf("%s: the JWT refresh answered %d %q, want 303 to the login page", what, status, loc)
		}
	}
}

var listedLine = regexp.MustCompile(`^([0-9a-f]{12})  +(\S+)  +(session|JWT login|cookie login)  +(\S+)  +(\S+)  +(\S+)  +(.*)$`)

// listed runs sessions list with args and returns its lines: id prefix,
// user, kind, created, last seen, expires, user agent.
func listed(t *testing.T, spec string, args ...string) [][]string {
	t.Helper()
	r := cli(t, nil, "", append([]string{"sessions", "list", "--store", spec}, args...)...)
	if r.code != 0 {
		t.Fatalf("sessions list %v: %+v", args, r)
	}
	if strings.TrimSpace(r.stdout) == "no logins" {
		return nil
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("sessions list: no header in %q", r.stdout)
	}
	var rows [][]string
	for _, line := range lines[1:] {
		m := listedLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("sessions list: the line %q is not a login", line)
		}
		for _, ts := range m[4:7] {
			if _, err := time.Parse(time.RFC3339, ts); err != nil {
				t.Errorf("sessions list: %q in %q is not a time", ts, line)
			}
		}
		rows = append(rows, m[1:])
	}
	return rows
}

// TestSessionsCommand runs a server on a SQLite store, logs alice in
// through every mode and bob through one, then lists and revokes their
// logins with the command, as an administrator would while they browse.
func TestSessionsCommand(t *testing.T) {
	spec := sqliteStore(t)
	for _, u := range []string{"alice", "bob"} {
		if r := cli(t, nil, "password one\n", "users", "add", u, "--store", spec); r.code != 0 {
			t.Fatalf("users add %s: %+v", u, r)
		}
	}
	base, _ := startServe(t, "--store", spec)
	alice := map[string]*browser{}
	for _, mode := range []string{"session", "jwt", "cookie"} {
		alice[mode] = newBrowser(t, base)
		alice[mode].logIn(mode, "alice", "password one")
	}
	bob := newBrowser(t, base)
	bob.logIn("cookie", "bob", "password one")

	all := listed(t, spec)
	kinds := map[string]int{}
	for _, row := range all {
		kinds[row[1]+" "+row[2]]++
		if row[6] != "test browser?red ?31m ?" {
			t.Errorf("the user agent is listed as %q, want its control characters shown as '?'", row[6])
		}
	}
	if len(all) != 4 || kinds["alice session"] != 1 || kinds["alice JWT login"] != 1 || kinds["alice cookie login"] != 1 || kinds["bob cookie login"] != 1 {
		t.Fatalf("sessions list: %v, want alice's session, JWT login and cookie login, and bob's cookie login", all)
	}
	r := cli(t, nil, "", "sessions", "list", "--store", spec)
	for _, b := range append([]*browser{bob}, alice["session"], alice["jwt"], alice["cookie"]) {
		for _, v := range b.cookies() {
			if len(v) > 12 && strings.Contains(r.stdout, v[:12]) {
				t.Errorf("sessions list shows a cookie a browser holds: %q", r.stdout)
			}
		}
	}
	if rows := listed(t, spec, "--user", "BOB"); len(rows) != 1 || rows[0][1] != "bob" {
		t.Errorf("sessions list --user BOB: %v, want bob's one login", rows)
	}

	// An id prefix no login has, and one that two have.
	unused := "00000000"
	for strings.Contains(r.stdout, "\n"+unused) {
		unused = "f" + unused[1:]
	}
	steps := []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"revoke an unknown prefix", []string{"--id", unused}, 1, "no login has an id starting with " + unused},
		{"revoke an unknown whole id", []string{"--id", strings.Repeat("0", 64)}, 1, "no login has the id"},
		{"revoke bob's login by its listed prefix, in capitals", []string{"--id", strings.ToUpper(findRow(t, all, "bob", "cookie login")[0])}, 0, "ended 1 login: "},
		{"revoke alice", []string{"--user", "Alice"}, 0, "ended 3 logins of Alice"},
		{"revoke alice again", []string{"--user", "alice"}, 0, "ended 0 logins of alice"},
	}
	for _, s := range steps {
		r := cli(t, nil, "", append([]string{"sessions", "revoke", "--store", spec}, s.args...)...)
		where := r.stdout
		if s.code != 0 {
			where = lastLine(r.stderr)
		}
		if r.code != s.code || !strings.Contains(where, s.say) {
			t.Errorf("%s: exit status %d, %q; want %d, saying %q", s.name, r.code, where, s.code, s.say)
		}
		if s.name == "revoke bob's login by its listed prefix, in capitals" {
			bob.loggedOut("bob after his login was revoked", "cookie")
			if status, _ := alice["cookie"].get("/cookie/profile"); status != http.StatusOK {
				t.Errorf("alice's cookie login after bob's was revoked: %d, want 200", status)
			}
		}
	}
	for mode, b := range alice {
		b.loggedOut("alice after sessions revoke --user", mode)
	}
	if rows := listed(t, spec); len(rows) != 0 {
		t.Errorf("sessions list after revoking everyone: %v", rows)
	}
}

func findRow(t *testing.T, rows [][]string, user, kind string) []string {
	t.Helper()
	for _, row := range rows {
		if row[1] == user && row[2] == kind {
			return row
		}
	}
	t.Fatalf("no %s of %s in %v", kind, user, rows)
	return nil
}

// TestSessionsRevokeByID: a prefix two logins share is refused without
// ending either (and without printing anything but the count), a longer
// one ends one, and a whole id ends a login even of an account that is
// gone.
func TestSessionsRevokeByID(t *testing.T) {
	ctx := context.Background()
	spec := sqliteStore(t)
	if r := cli(t, nil, "password one\n", "users", "add", "dave", "--store", spec); r.code != 0 {
		t.Fatalf("users add: %+v", r)
	}
	st := openSpec(t, spec)
	now := time.Now()
	save := func(user string, id store.SessionID) {
		t.Helper()
		rec := store.Record{ID: id, User: user, Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
		if _, err := st.SaveSession(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	var first, second, ghost store.SessionID
	copy(first[:], "\xab\xcd\xef\x01\x23\x45\x67\x89")
	copy(second[:], "\xab\xcd\xef\x01\x23\x45\x67\x8a")
	copy(ghost[:], "\x11\x22\x33\x44\x55\x66\x77\x88")
	save("dave", first)
	save("dave", second)
	save("ghost", ghost) // no account

	steps := []struct {
		name  string
		id    string
		code  int
		say   string
		left  int // logins of dave afterwards
		ghost int // logins of ghost afterwards
	}{
		{"a prefix two share", "abcdef0123", 1, "2 logins have an id starting with abcdef0123: give more of it", 2, 1},
		{"a prefix of the first only", "abcdef0123456789", 0, "ended 1 login: abcdef012345 of dave (session)", 1, 1},
		{"the prefix, once the other has gone", "abcdef0123", 0, "ended 1 login: abcdef012345 of dave (session)", 0, 1},
		{"a prefix of a login without an account", "1122334455", 1, "no login has an id starting with 1122334455", 0, 1},
		{"the whole id of that login", ghost.String(), 0, "ended 1 login: 112233445566 of ghost (session)", 0, 0},
	}
	for _, s := range steps {
		r := cli(t, nil, "", "sessions", "revoke", "--id", s.id, "--store", spec)
		where := r.stdout
		if s.code != 0 {
			where = lastLine(r.stderr)
		}
		if r.code != s.code || !strings.Contains(where, s.say) {
			t.Errorf("%s: exit status %d, %q; want %d, saying %q", s.name, r.code, where, s.code, s.say)
		}
		if s.code != 0 && strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: the error is not one line: %q", s.name, r.stderr)
		}
		for user, want := range map[string]int{"dave": s.left, "ghost": s.ghost} {
			if recs, err := st.UserSessions(ctx, user); err != nil || len(recs) != want {
				t.Errorf("%s: %s has %d logins (%v), want %d", s.name, user, len(recs), err, want)
			}
		}
	}
}
