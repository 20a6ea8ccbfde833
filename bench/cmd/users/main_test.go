package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/bench/peers"
)

// run runs the command with args, as load.sh does, and returns what it
// printed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "USERS_TEST_MAIN=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("users %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestMain(m *testing.M) {
	if os.Getenv("USERS_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Users made on a peer are logged in under their own names; the check
// finds every view the load sent, and reports as lost the views a user was
// sent but whose count does not show them.
func TestLoginAndCheck(t *testing.T) {
	p, err := peers.New(peers.SCSMem, peers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	dir := t.TempDir()
	cookies := filepath.Join(dir, "cookies.tsv")
	run(t, "login", "-base", srv.URL, "-register", "/register", "-login", "/login", "-page", "/profile",
		"-n", "3", "-per-address", "2", "-o", cookies)
	names, headers, err := readCookies(cookies)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != "bench1 bench2 bench3" {
		t.Fatalf("users %q, want bench1 bench2 bench3", names)
	}

	// The "load": user 2 views its page twice.
	for range 2 {
		req, _ := http.NewRequest("GET", srv.URL+"/profile", nil)
		req.Header.Set("Cookie", headers[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wrkOut := filepath.Join(dir, "wrk.txt")
	baseline := filepath.Join(dir, "counts.txt")
	check := func(load string) string {
		if err := os.WriteFile(wrkOut, []byte("Requests/sec: 1\n"+load+"unanswered 0\nnon2xx 0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(run(t, "check", "-base", srv.URL, "-page", "/profile", "-read", "/profile/read",
			"-cookies", cookies, "-baseline", baseline, wrkOut))
	}
	if got, want := check("sent 2 2\n"), "2 2 0 0 "; !strings.HasPrefix(got, want) {
		t.Errorf("check after two views: %q, want %q and the page's size", got, want)
	}
	// Now the script claims three views of user 1 that never happened:
	// lost, as far as the check can tell.
	if got, want := check("sent 1 3\n"), "3 0 0 0 "; !strings.HasPrefix(got, want) {
		t.Errorf("check of views never made: %q, want %q and the page's size", got, want)
	}
	data, err := os.ReadFile(baseline)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(data)); strings.Join(got, " ") != "2 4 2" {
		t.Errorf("baseline %q, want 2 4 2 (each user's count, the checks' own views included)", got)
	}
}

// readLoad adds up the views script's lines over wrk's outputs and
// refuses output without them.
func TestReadLoad(t *testing.T) {
	dir := t.TempDir()
	a, b, none := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "none")
	os.WriteFile(a, []byte("Running 1s test\nsent 1 5\nsent 3 2\nunanswered 4\nnon2xx 1\n"), 0o600)
	os.WriteFile(b, []byte("sent 1 1\nunanswered 2\nnon2xx 0\n"), 0o600)
	os.WriteFile(none, []byte("Requests/sec: 1\n"), 0o600)
	lc, err := readLoad([]string{a, b}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if lc.sent[0] != 6 || lc.sent[1] != 0 || lc.sent[2] != 2 || lc.unanswered != 6 || lc.refused != 1 {
		t.Errorf("got %+v", lc)
	}
	if _, err := readLoad([]string{none}, 3); err == nil {
		t.Error("output without the script's counts: no error")
	}
	if _, err := readLoad([]string{a}, 2); err == nil {
		t.Error("a user past the cookie file: no error")
	}
}
