// Command sessionkit runs sessionkit's reference web application.
//
// Usage:
//
//	sessionkit serve [flags]
//	sessionkit keys list|rotate [flags]
//
// Run "sessionkit serve --help" for the flags. Every flag can also be set by
// an environment variable named SESSIONKIT_ and the flag's name in capitals
// with dashes as underscores (--log-level is SESSIONKIT_LOG_LEVEL); a flag
// on the command line wins over the environment.
//
// Exit status: 0 on success (including a clean shutdown on SIGINT or
// SIGTERM), 1 when the command failed, 2 for a usage error.
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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
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
  sessionkit serve [flags]           start the web server
  sessionkit keys list|rotate [flags]   list or rotate the JWT signing keys

Run "sessionkit COMMAND --help" for a command's flags.
`

// run dispatches to a subcommand. getenv reads the environment, so tests
// can pass their own.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "keys":
		return keysCommand(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
}
