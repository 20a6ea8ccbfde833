package main

import (
	"strings"
	"testing"
)

// TestHelpToStdout: every way of asking any command for help (--help, -h,
// -help, "help", "help COMMAND") prints its usage on standard output, with
// exit status 0 and nothing on standard error.
func TestHelpToStdout(t *testing.T) {
	type command struct {
		args []string // the command, without the help request
		say  string   // in its usage
	}
	commands := []command{
		{nil, "sessionkit sessions revoke --id PREFIX"},
		{[]string{"serve"}, "-metrics-addr"},
		{[]string{"version"}, "Usage: sessionkit version"},
		{[]string{"users"}, "sessionkit users passwd USER"},
		{[]string{"users", "add"}, "-store"},
		{[]string{"users", "list"}, "-output"},
		{[]string{"users", "delete"}, "-store"},
		{[]string{"users", "passwd"}, "-keep-logins"},
		{[]string{"sessions"}, "sessionkit sessions list [--user USER]"},
		{[]string{"sessions", "list"}, "-output"},
		{[]string{"sessions", "revoke"}, "-id PREFIX"},
		{[]string{"keys"}, "sessionkit keys retire --id KID --force"},
		{[]string{"keys", "list"}, "-output"},
		{[]string{"keys", "rotate"}, "-algorithm"},
		{[]string{"keys", "retire"}, "-force"},
	}
	for _, c := range commands {
		forms := [][]string{
			append(append([]string{}, c.args...), "--help"),
			append(append([]string{}, c.args...), "-h"),
			append(append([]string{}, c.args...), "-help"),
			append([]string{"help"}, c.args...),
		}
		if len(c.args) == 1 && c.args[0] != "serve" && c.args[0] != "version" {
			forms = append(forms, []string{c.args[0], "help"}) // "users help"
		}
		if len(c.args) == 2 {
			// After an operand, and after another flag.
			forms = append(forms, append(append([]string{}, c.args...), "--store", "memory:", "--help"))
		}
		for _, args := range forms {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := cli(t, nil, "", args...)
				if r.code != 0 {
					t.Errorf("exit status %d, want 0; stderr %q", r.code, r.stderr)
				}
				if r.stderr != "" {
					t.Errorf("stderr %q, want nothing: help goes to stdout", r.stderr)
				}
				if !strings.Contains(r.stdout, c.say) {
					t.Errorf("stdout lacks %q:\n%s", c.say, r.stdout)
				}
			})
		}
	}
}

// TestErrorsToStderr: a command line that is wrong, or a command that
// fails, says so on standard error with a non-zero exit status, and writes
// nothing on standard output.
func TestErrorsToStderr(t *testing.T) {
	spec := sqliteStore(t)
	cases := []struct {
		args []string
		code int
		say  string
	}{
		{nil, 2, "no command given"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"serve", "help"}, 2, `unexpected argument "help"`},
		{[]string{"serve", "--pprof"}, 2, "--pprof needs --metrics-addr"},
		{[]string{"serve", "--metrics-addr", "9090"}, 2, `--metrics-addr "9090": want host:port`},
		{[]string{"version", "--short"}, 2, "flag provided but not defined: -short"},
		{[]string{"version", "extra"}, 2, `version takes no argument, got "extra"`},
		{[]string{"users", "list", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"keys", "list", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"sessions", "list", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"users", "delete", "nobody", "--store", spec}, 1, `no user "nobody"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := cli(t, nil, "", c.args...)
			if r.code != c.code {
				t.Errorf("exit status %d, want %d", r.code, c.code)
			}
			if line := lastLine(r.stderr); !strings.HasPrefix(line, "sessionkit: ") || !strings.Contains(line, c.say) {
				t.Errorf("last line of stderr %q, want the error saying %q", line, c.say)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}
