package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/store"
)

const usersUsage = `Usage:
  sessionkit users add USER [flags]      create an account
  sessionkit users list [flags]          list the accounts (--output json for a JSON array)
  sessionkit users delete USER [flags]   delete an account and end all of its logins
  sessionkit users passwd USER [flags]   set an account's password and end all of its logins

All work on the server's store (--store, or SESSIONKIT_STORE), and may run
while servers run on it. Names follow the server's rules: 3 to 64 letters,
digits, '.', '_' and '-', compared without regard to case; passwords are 8
to 1024 bytes, hashed with argon2id as the server does.

add and passwd read the password from the terminal, without echo (typed
twice), or else from one line of standard input:
  echo "$PASSWORD" | sessionkit users add alice
never from the command line or the environment.

passwd and delete end every login of the account (sessions, JWT and cookie
logins, refresh tokens) at once: their next request goes to the login page.
Logins that were being made while the command ran are refused at their
first request too. passwd --keep-logins leaves the logins as they are, for
an administrator who knows why.
`

// usersCommand runs "sessionkit users ...".
func usersCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("%w: users needs a subcommand: add, list, delete or passwd", errUsage)
	}
	sub := args[0]
	wantUser := true
	switch sub {
	case "add", "delete", "passwd":
	case "list":
		wantUser = false
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usersUsage)
		return nil
	default:
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("%w: unknown users subcommand %q", errUsage, sub)
	}
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var storeSpec string
	storeFlag(fs, &storeSpec)
	var keepLogins bool
	if sub == "passwd" {
		fs.BoolVar(&keepLogins, "keep-logins", false, "leave the account's logins as they are (they are ended by default)")
	}
	output := outputText
	if sub == "list" {
		outputFlag(fs, &output)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\nFlags:\n", usersUsage)
		fs.PrintDefaults()
	}
	operands, err := parseOperands(fs, args[1:], getenv, stdout, stderr)
	if err != nil {
		return err
	}
	if err := checkOutput(output); err != nil {
		return err
	}
	user, err := userOperand(sub, operands, wantUser)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add":
		return usersAdd(ctx, st, user, stdin, stdout, stderr)
	case "list":
		return usersList(ctx, st, output, stdout)
	case "delete":
		return usersDelete(ctx, st, user, stdout)
	default:
		return usersPasswd(ctx, st, user, keepLogins, stdin, stdout, stderr)
	}
}

// userOperand checks the operands of a users subcommand: one valid user
// name when want is set, none otherwise.
func userOperand(sub string, operands []string, want bool) (string, error) {
	switch {
	case !want && len(operands) > 0:
		return "", fmt.Errorf("%w: users %s takes no argument, got %q", errUsage, sub, operands[0])
	case !want:
		return "", nil
	case len(operands) == 0:
		return "", fmt.Errorf("%w: users %s needs a user name", errUsage, sub)
	case len(operands) > 1:
		return "", fmt.Errorf("%w: users %s takes one user name, got %d arguments", errUsage, sub, len(operands))
	}
	if err := auth.ValidateUsername(operands[0]); err != nil {
		return "", fmt.Errorf("%w: %v", errUsage, err)
	}
	return operands[0], nil
}

// newAccounts returns the accounts of st, hashing as the server does.
func newAccounts(st backend) (*auth.Accounts, error) {
	a, err := auth.NewAccounts(st, auth.Options{})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return a, nil
}

// usersAdd creates the account user with a password read from stdin.
func usersAdd(ctx context.Context, st backend, user string, stdin io.Reader, stdout, stderr io.Writer) error {
	// Refuse a taken name before asking for a password; Register checks
	// again, for an account created meanwhile.
	switch _, err := st.User(ctx, user); {
	case err == nil:
		return fmt.Errorf("user %q exists (names compare without regard to case)", user)
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("looking up %q: %w", user, err)
	}
	pw, err := readPassword(stdin, stderr, user, true)
	if err != nil {
		return err
	}
	accounts, err := newAccounts(st)
	if err != nil {
		return err
	}
	u, err := accounts.Register(ctx, user, pw, "")
	switch {
	case errors.Is(err, auth.ErrUsernameTaken):
		return fmt.Errorf("user %q exists (names compare without regard to case)", user)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "created user %s\n", u.Name)
	return nil
}

// listedUser is an account as users list --output json writes it: never
// its password hash.
type listedUser struct {
	Name            string `json:"name"`
	Created         string `json:"created"`
	PasswordChanged string `json:"password_changed"`
}

// usersList prints every account: its name, when it was created and when
// its password last changed, as a table or (format json) a JSON array.
func usersList(ctx context.Context, st backend, format string, stdout io.Writer) error {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("listing users: %w", err)
	}
	if format == outputJSON {
		list := make([]listedUser, 0, len(users))
		for _, u := range users {
			list = append(list, listedUser{Name: u.Name, Created: jsonTime(u.Created), PasswordChanged: jsonTime(u.Updated)})
		}
		return writeJSON(stdout, list)
	}
	if len(users) == 0 {
		fmt.Fprintln(stdout, "no users yet")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tCREATED\tPASSWORD CHANGED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Created.UTC().Format(time.RFC3339), u.Updated.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// usersDelete deletes the account user, then ends every login it has, so
// that no browser keeps a login of an account that is gone. (In that
// order: ending the logins first would let the user log in again before
// the account went.) When the account is already gone, logins it left
// behind are still ended.
func usersDelete(ctx context.Context, st backend, user string, stdout io.Writer) error {
	err := st.DeleteUser(ctx, user)
	gone := errors.Is(err, store.ErrNotFound)
	if err != nil && !gone {
		return fmt.Errorf("deleting user %q: %w", user, err)
	}
	n, err := st.DeleteUserSessions(ctx, user)
	if err != nil {
		if gone {
			return fmt.Errorf("no user %q; ending logins it left: %w", user, err)
		}
		return fmt.Errorf("deleted user %q, but ending its logins failed (run the command again): %w", user, err)
	}
	switch {
	case gone && n == 0:
		return fmt.Errorf("no user %q", user)
	case gone:
		fmt.Fprintf(stdout, "no user %s; ended %s it left\n", user, countLogins(n))
	default:
		fmt.Fprintf(stdout, "deleted user %s and ended %s\n", user, countLogins(n))
	}
	return nil
}

// usersPasswd sets the password of the account user to one read from
// stdin and, unless keepLogins, ends every login of the account: they are
// deleted, and any made while the change ran is refused at its first
// check, since it was proved before the account's new Updated time. With
// keepLogins the hash is replaced and the account's Updated time is left
// as it was, which is what keeps its logins standing (users list then
// shows the earlier time).
func usersPasswd(ctx context.Context, st backend, user string, keepLogins bool, stdin io.Reader, stdout, stderr io.Writer) error {
	u, err := st.User(ctx, user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no user %q", user)
	case err != nil:
		return fmt.Errorf("looking up %q: %w", user, err)
	}
	pw, err := readPassword(stdin, stderr, u.Name, true)
	if err != nil {
		return err
	}
	accounts, err := newAccounts(st)
	if err != nil {
		return err
	}
	if keepLogins {
		switch err := accounts.ReplacePassword(ctx, u.Name, pw); {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("no user %q", user)
		case err != nil:
			return err
		}
		fmt.Fprintf(stdout, "changed the password of %s; its logins stay\n", u.Name)
		return nil
	}
	switch _, err := accounts.ChangePassword(ctx, u.Name, pw); {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no user %q", user)
	case err != nil:
		return err
	}
	n, err := st.DeleteUserSessions(ctx, u.Name)
	if err != nil {
		return fmt.Errorf("changed the password of %s, but ending its logins failed (they are refused at their next request anyway): %w", u.Name, err)
	}
	fmt.Fprintf(stdout, "changed the password of %s and ended %s\n", u.Name, countLogins(n))
	return nil
}

// countLogins says "1 login" or "N logins".
func countLogins(n int) string {
	if n == 1 {
		return "1 login"
	}
	return fmt.Sprintf("%d logins", n)
}
