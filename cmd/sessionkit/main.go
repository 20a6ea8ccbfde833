// Command sessionkit runs sessionkit's reference web application, and
// administers the store it runs on.
//
// Usage:
//
//	sessionkit serve [flags]
//	sessionkit users add|list|delete|passwd [USER] [flags]
//	sessionkit sessions list [--user USER] [flags]
//	sessionkit sessions revoke --user USER | --id PREFIX [flags]
//	sessionkit keys list|rotate|retire|rewrap|new-kek [flags]
//	sessionkit version
//
// Run "sessionkit COMMAND --help" (or "sessionkit help COMMAND") for a
// command's flags; help goes to standard output, with exit status 0. Every flag can
// also be set by an environment variable named SESSIONKIT_ and the flag's
// name in capitals with dashes as underscores (--log-level is
// SESSIONKIT_LOG_LEVEL, --store is SESSIONKIT_STORE); a flag on the command
// line wins over the environment. Passwords are read from the terminal
// (without echo) or from one line of standard input, never from the
// command line or the environment.
//
// Exit status: 0 on success (including a clean shutdown on SIGINT or
// SIGTERM), 1 when the command failed, 2 for a usage error. Errors are
// written to standard error in one line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks an error in the command line: exit status 2.
var errUsage = errors.New("usage error")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on stderr in one line and maps it to an exit status.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "sessionkit:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "sessionkit:", err)
		return 1
	}
}

const usage = `sessionkit: web sessions three ways (sealed cookies, server-side sessions, JWT).

Usage:
  sessionkit serve [flags]                        start the web server
  sessionkit users add|list|delete|passwd [USER]  manage accounts
  sessionkit sessions list [--user USER]          list logins of every kind
  sessionkit sessions revoke --user USER          end every login of USER
  sessionkit sessions revoke --id PREFIX          end one login
  sessionkit keys list|rotate|retire|rewrap|new-kek  manage the JWT signing keys and the key-encryption key
  sessionkit version                              print the version and build

Every command works on the store given by --store (or SESSIONKIT_STORE),
sqlite:sessionkit.db by default, and may run while servers run on it. The
list commands take --output json for a JSON array.
Run "sessionkit COMMAND --help" (or "sessionkit help COMMAND") for a
command's flags.
`

// run dispatches to a subcommand. getenv reads the environment and stdin is
// where passwords are read from, so tests can pass their own.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "users":
		return usersCommand(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "sessions":
		return sessionsCommand(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return keysCommand(ctx, args[1:], getenv, stdout, stderr)
	case "version", "-version", "--version":
		return versionCommand(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			// "help COMMAND [SUBCOMMAND]" is "COMMAND [SUBCOMMAND] --help".
			return run(ctx, append(args[1:min(len(args), 3):min(len(args), 3)], "--help"), getenv, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
}
