package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// result is what a user of the command sees: exit status and output.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command with args as main would, with the environment env
// and stdin as its standard input.
func cli(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	code := exitCode(err, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// lastLine is the last line of s, where exitCode writes the error.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

// sqliteStore returns the --store of a new SQLite file in the test's
// temporary directory.
func sqliteStore(t *testing.T) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "state.db")
}

// TestCommandUsage: every command answers --help with exit status 0 and
// its usage, and a malformed command line with status 2 and one line
// saying what is wrong.
func TestCommandUsage(t *testing.T) {
	store := sqliteStore(t)
	cases := []struct {
		name string
		args []string
		code int
		say  string // in the usage (status 0) or the error line (status 2)
	}{
		{"top help", []string{"--help"}, 0, "sessionkit sessions revoke --id PREFIX"},
		{"users help", []string{"users", "--help"}, 0, "sessionkit users passwd USER"},
		{"users add help", []string{"users", "add", "--help"}, 0, "-store"},
		{"users list help", []string{"users", "list", "--help"}, 0, "-store"},
		{"users delete help", []string{"users", "delete", "--help"}, 0, "-store"},
		{"users passwd help", []string{"users", "passwd", "--help"}, 0, "-store"},
		{"sessions help", []string{"sessions", "help"}, 0, "sessionkit sessions list [--user USER]"},
		{"sessions list help", []string{"sessions", "list", "--help"}, 0, "-user"},
		{"sessions revoke help", []string{"sessions", "revoke", "--help"}, 0, "-id PREFIX"},
		{"keys retire help", []string{"keys", "retire", "--help"}, 0, "-force"},
		{"keys help", []string{"keys", "--help"}, 0, "sessionkit keys retire --id KID --force"},

		{"users without subcommand", []string{"users"}, 2, "users needs a subcommand"},
		{"users unknown subcommand", []string{"users", "rename"}, 2, `unknown users subcommand "rename"`},
		{"users add without a name", []string{"users", "add", "--store", store}, 2, "needs a user name"},
		{"users add two names", []string{"users", "add", "alice", "bob", "--store", store}, 2, "takes one user name"},
		{"users add a bad name", []string{"users", "add", "a b", "--store", store}, 2, "usernames are 3 to 64 characters"},
		{"a password on the command line", []string{"users", "add", "alice", "--password", "secret123", "--store", store}, 2, "flag provided but not defined: -password"},
		{"users list with a name", []string{"users", "list", "alice", "--store", store}, 2, "takes no argument"},
		{"sessions without subcommand", []string{"sessions"}, 2, "sessions needs a subcommand"},
		{"sessions list an argument", []string{"sessions", "list", "alice", "--store", store}, 2, `unexpected argument "alice"`},
		{"sessions list a bad user", []string{"sessions", "list", "--user", "x", "--store", store}, 2, "--user: usernames are"},
		{"sessions revoke nothing", []string{"sessions", "revoke", "--store", store}, 2, "either --user USER or --id PREFIX"},
		{"sessions revoke both", []string{"sessions", "revoke", "--user", "alice", "--id", "0123456789", "--store", store}, 2, "either --user USER or --id PREFIX"},
		{"sessions revoke a short id", []string{"sessions", "revoke", "--id", "0123456", "--store", store}, 2, "give 8 to 64 hex digits"},
		{"sessions revoke a non-hex id", []string{"sessions", "revoke", "--id", "0123456x", "--store", store}, 2, "give 8 to 64 hex digits"},
		{"sessions revoke a long id", []string{"sessions", "revoke", "--id", strings.Repeat("a", 65), "--store", store}, 2, "give 8 to 64 hex digits"},
		{"sessions list --id", []string{"sessions", "list", "--id", "01234567", "--store", store}, 2, "flag provided but not defined: -id"},
		{"keys retire --force alone", []string{"keys", "retire", "--force", "--store", store}, 2, "--force needs --id KID"},
		{"keys retire --algorithm", []string{"keys", "retire", "--algorithm", "ES256", "--store", store}, 2, "flag provided but not defined: -algorithm"},
		{"a bad SESSIONKIT_STORE", []string{"users", "list"}, 2, "unknown kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			if c.name == "a bad SESSIONKIT_STORE" {
				env["SESSIONKIT_STORE"] = "mysql://db"
			}
			r := cli(t, env, "", c.args...)
			if r.code != c.code {
				t.Fatalf("exit status %d, want %d; stderr %q", r.code, c.code, r.stderr)
			}
			if c.code == 0 {
				if !strings.Contains(r.stdout, c.say) {
					t.Errorf("the usage on stdout lacks %q: %q", c.say, r.stdout)
				}
				return
			}
			line := lastLine(r.stderr)
			if !strings.HasPrefix(line, "sessionkit: usage error: ") || !strings.Contains(line, c.say) {
				t.Errorf("the error line is %q, want a usage error saying %q", line, c.say)
			}
		})
	}
}
