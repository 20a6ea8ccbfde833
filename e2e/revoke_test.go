package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// browserModes are the three ways the server recognises a browser.
var browserModes = []string{"cookie", "session", "jwt"}

// TestRevokeFromCommandLine runs "sessionkit serve" on a SQLite file and,
// as separate processes on the same file, the admin commands an operator
// would run while users browse:
//
//   - "sessions revoke --user" ends the user's logins in all three modes:
//     each browser's next profile request goes to its login page, and the
//     JWT browser's refresh token does not log it back in (its refresh
//     family is gone). Another user, browsing all along, is untouched.
//   - "users delete" does the same for a user it deletes, who can then no
//     longer log in.
//   - "users passwd" does the same for a user whose password it changes,
//     who then logs in with the new password only.
func TestRevokeFromCommandLine(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	store := "sqlite:" + filepath.Join(t.TempDir(), "revoke.db")
	srv := startProcess(t, addr, "--store", store)
	logs := func() string { return srv.log.String() }

	const pass = "correct horse battery"
	users := []string{"revoked_e2e", "deleted_e2e", "passwd_e2e", "bystander_e2e"}
	browsers := map[string]map[string]*agent{}
	jwtCookies := map[string]map[string]*http.Cookie{} // a copy of each JWT login's cookies
	for _, user := range users {
		newAgent(t, logs).register(base, user, pass)
		browsers[user] = map[string]*agent{}
		for _, mode := range browserModes {
			b := newAgent(t, logs) // a cookie jar per mode: three browsers
			set := b.login(base, mode, user, pass)
			if mode == "jwt" {
				jwtCookies[user] = set
			}
			b.profile(base, mode, user, 1)
			browsers[user][mode] = b
		}
	}

	out := sessionkit(t, "sessions", "list", "--store", store)
	for _, kind := range []string{"session", "JWT login", "cookie login"} {
		if strings.Count(out, " "+kind+" ") != len(users) {
			t.Errorf("sessions list shows %d of %q, want one per user:\n%s", strings.Count(out, " "+kind+" "), kind, out)
		}
	}

	if out := sessionkit(t, "sessions", "revoke", "--user", "revoked_e2e", "--store", store); !strings.Contains(out, "ended 3 logins of revoked_e2e") {
		t.Errorf("sessions revoke said %q, want 3 logins ended", out)
	}
	loggedOutEverywhere(t, base, browsers["revoked_e2e"], jwtCookies["revoked_e2e"], "after sessions revoke --user")

	if out := sessionkit(t, "users", "delete", "deleted_e2e", "--store", store); !strings.Contains(out, "deleted user deleted_e2e and ended 3 logins") {
		t.Errorf("users delete said %q, want the user deleted and 3 logins ended", out)
	}
	loggedOutEverywhere(t, base, browsers["deleted_e2e"], jwtCookies["deleted_e2e"], "after users delete")
	again := newAgent(t, logs).post(base+"/session/login", credentials("deleted_e2e", pass))
	if again.StatusCode != http.StatusUnauthorized {
		t.Errorf("logging in as the deleted user: %v, want 401", again)
	}

	if out := sessionkitWithInput(t, "new horse battery\n", "users", "passwd", "passwd_e2e", "--store", store); !strings.Contains(out, "changed the password of passwd_e2e and ended 3 logins") {
		t.Errorf("users passwd said %q, want the password changed and 3 logins ended", out)
	}
	loggedOutEverywhere(t, base, browsers["passwd_e2e"], jwtCookies["passwd_e2e"], "after users passwd")
	if r := newAgent(t, logs).post(base+"/session/login", credentials("passwd_e2e", pass)); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("logging in with the old password: %v, want 401", r)
	}
	newAgent(t, logs).login(base, "session", "passwd_e2e", "new horse battery")

	// The control: a user nobody revoked browses on in every mode.
	for _, mode := range browserModes {
		browsers["bystander_e2e"][mode].profile(base, mode, "bystander_e2e", 2)
	}
}

// loggedOutEverywhere checks that each browser's next profile request
// goes to its mode's login page, and that the JWT login's refresh token
// (a copy taken at login: the browser's own jar has just been cleared) is
// refused rather than rotated, as is its access token.
func loggedOutEverywhere(t *testing.T, base string, browsers map[string]*agent, jwt map[string]*http.Cookie, when string) {
	t.Helper()
	for _, mode := range browserModes {
		b := browsers[mode]
		b.loggedOut("the "+mode+" profile "+when, b.get(base+"/"+mode+"/profile"), mode)
	}
	replay := newReplayer(t, nil)
	if jwt["sk_access"] == nil || jwt["sk_refresh"] == nil {
		t.Fatalf("the JWT login set cookies %v, want sk_access and sk_refresh", keys(jwt))
	}
	replay.loggedOut("the JWT access token "+when, replay.get(base+"/jwt/profile", jwt["sk_access"]), "jwt")
	replay.loggedOut("the JWT refresh token "+when, replay.get(base+"/jwt/refresh?next=/jwt/profile", jwt["sk_refresh"]), "jwt")
}

// sessionkit runs the binary with args as a separate process, as an
// operator would, and returns its standard output; it fails the test
// unless the command succeeds.
func sessionkit(t *testing.T, args ...string) string {
	t.Helper()
	return sessionkitWithInput(t, "", args...)
}

// sessionkitWithInput is sessionkit with stdin as the command's standard
// input (a password, as one line).
func sessionkitWithInput(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), kekEnv(args)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sessionkit %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
