//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openTerminal opens a pseudo-terminal and returns its controlling side
// (what a user types into) and the terminal a program reads.
func openTerminal(t *testing.T) (user, tty *os.File) {
	t.Helper()
	user, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { user.Close() })
	if err := unix.IoctlSetPointerInt(int(user.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(user.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return user, tty
}

// TestReadPasswordFromTerminal: on a terminal the password is asked for
// on stderr, typed twice, and must match.
func TestReadPasswordFromTerminal(t *testing.T) {
	cases := []struct {
		name, typed, want string
		confirm           bool
		prompts           []string
		err               error
	}{
		{"typed twice", "correct horse\ncorrect horse\n", "correct horse", true, []string{"Password for alice: ", "Again: "}, nil},
		{"typed once", "correct horse\n", "correct horse", false, []string{"Password for alice: "}, nil},
		{"two different", "correct horse\nbattery staple\n", "", true, []string{"Password for alice: ", "Again: "}, errPasswordsDiffer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user, tty := openTerminal(t)
			if _, err := user.WriteString(c.typed); err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			got, err := readPassword(tty, &stderr, "alice", c.confirm)
			if got != c.want || !errors.Is(err, c.err) {
				t.Errorf("readPassword = %q, %v; want %q, %v", got, err, c.want, c.err)
			}
			if want := strings.Join(c.prompts, "\n") + "\n"; stderr.String() != want {
				t.Errorf("stderr %q, want the prompts %q", stderr.String(), want)
			}
		})
	}
}
