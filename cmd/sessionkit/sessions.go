package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
)

const sessionsUsage = `Usage:
  sessionkit sessions list [--user USER] [flags]   list logins (--output json for a JSON array)
  sessionkit sessions revoke --user USER [flags]   end every login of USER
  sessionkit sessions revoke --id PREFIX [flags]   end the one login whose id starts with PREFIX

Both work on the server's store (--store, or SESSIONKIT_STORE), and may run
while servers run on it. A login is a server-side session, a JWT login (a
refresh-token family: the JWT mode's and the API's) or a cookie login. Its
id is the SHA-256 the store names it by, never the token or cookie a
browser holds; list shows its first 12 hex digits, and revoke --id takes at
least 8. A revoked login ends on its next request, in every mode: the
browser is sent to the login page, and a JWT login cannot be refreshed.
`

// minIDPrefix is the fewest hex digits revoke --id takes.
const minIDPrefix = 8

// listedID is how many hex digits of a login's id list shows.
const listedID = 12

// sessionsFlags are the flags of every sessions subcommand.
type sessionsFlags struct {
	store  string
	user   string
	id     string
	output string // list
}

// sessionsCommand runs "sessionkit sessions ...".
func sessionsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, sessionsUsage)
		return fmt.Errorf("%w: sessions needs a subcommand: list or revoke", errUsage)
	}
	sub := args[0]
	switch sub {
	case "list", "revoke":
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, sessionsUsage)
		return nil
	default:
		fmt.Fprint(stderr, sessionsUsage)
		return fmt.Errorf("%w: unknown sessions subcommand %q", errUsage, sub)
	}
	sf, err := parseSessionsFlags(sub, args[1:], getenv, stdout, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, sf.store)
	if err != nil {
		return err
	}
	defer st.Close()
	switch {
	case sub == "list":
		return sessionsList(ctx, st, sf.user, sf.output, stdout)
	case sf.user != "":
		return revokeUser(ctx, st, sf.user, stdout)
	default:
		return revokeID(ctx, st, sf.id, stdout)
	}
}

func parseSessionsFlags(sub string, args []string, getenv func(string) string, stdout, stderr io.Writer) (sessionsFlags, error) {
	sf := sessionsFlags{output: outputText}
	fs := flag.NewFlagSet("sessions "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeFlag(fs, &sf.store)
	if sub == "list" {
		fs.StringVar(&sf.user, "user", "", "list only the logins of `USER`")
		outputFlag(fs, &sf.output)
	} else {
		fs.StringVar(&sf.user, "user", "", "end every login of `USER`")
		fs.StringVar(&sf.id, "id", "", "end the one login whose id starts with `PREFIX` (at least 8 hex digits)")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\nFlags:\n", sessionsUsage)
		fs.PrintDefaults()
	}
	operands, err := parseOperands(fs, args, getenv, stdout, stderr)
	if err != nil {
		return sf, err
	}
	if err := checkOutput(sf.output); err != nil {
		return sf, err
	}
	if len(operands) > 0 {
		return sf, fmt.Errorf("%w: unexpected argument %q", errUsage, operands[0])
	}
	if sf.user != "" {
		if err := auth.ValidateUsername(sf.user); err != nil {
			return sf, fmt.Errorf("%w: --user: %v", errUsage, err)
		}
	}
	if sub == "revoke" {
		if (sf.user == "") == (sf.id == "") {
			return sf, fmt.Errorf("%w: sessions revoke needs either --user USER or --id PREFIX", errUsage)
		}
		if sf.id != "" {
			sf.id = strings.ToLower(sf.id)
			if !isHexDigits(sf.id) || len(sf.id) < minIDPrefix || len(sf.id) > 2*len(store.SessionID{}) {
				return sf, fmt.Errorf("%w: --id %q: give %d to %d hex digits of an id that sessions list shows",
					errUsage, sf.id, minIDPrefix, 2*len(store.SessionID{}))
			}
		}
	}
	return sf, nil
}

// isHexDigits reports whether s holds only the digits 0-9 and a-f.
func isHexDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// userLogins returns the live logins of user, or of every account when
// user is empty, grouped by account in name order, most recent first.
func userLogins(ctx context.Context, st backend, user string) ([]store.Record, error) {
	names := []string{user}
	if user == "" {
		users, err := st.ListUsers(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing users: %w", err)
		}
		names = names[:0]
		for _, u := range users {
			names = append(names, u.Name)
		}
	}
	var all []store.Record
	for _, name := range names {
		recs, err := st.UserSessions(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("listing the logins of %q: %w", name, err)
		}
		all = append(all, recs...)
	}
	return all, nil
}

// listedLogin is a login as sessions list --output json writes it: what the
// table shows, the id cut to its first listedID hex digits as there. Never
// a token, a cookie, the whole id or the session's data.
type listedLogin struct {
	ID        string `json:"id"`
	User      string `json:"user"`
	Kind      string `json:"kind"` // session, jwt_login or cookie_login
	Created   string `json:"created"`
	LastSeen  string `json:"last_seen"`
	Expires   string `json:"expires"`
	UserAgent string `json:"user_agent"`
}

// sessionsList prints the logins of user (of everyone when empty): id
// prefix, user, kind, times and user agent, as a table or (format json) a
// JSON array. Nothing it prints is a credential.
func sessionsList(ctx context.Context, st backend, user, format string, stdout io.Writer) error {
	recs, err := userLogins(ctx, st, user)
	if err != nil {
		return err
	}
	if format == outputJSON {
		list := make([]listedLogin, 0, len(recs))
		for _, rec := range recs {
			list = append(list, listedLogin{
				ID:        rec.ID.String()[:listedID],
				User:      rec.User,
				Kind:      strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(server.LoginKind(rec))),
				Created:   jsonTime(rec.Created),
				LastSeen:  jsonTime(rec.LastSeen),
				Expires:   jsonTime(rec.Expires),
				UserAgent: rec.UserAgent,
			})
		}
		return writeJSON(stdout, list)
	}
	if len(recs) == 0 {
		fmt.Fprintln(stdout, "no logins")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tKIND\tCREATED\tLAST SEEN\tEXPIRES\tUSER AGENT")
	for _, rec := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rec.ID.String()[:listedID], rec.User, server.LoginKind(rec),
			listedTime(rec.Created), listedTime(rec.LastSeen), listedTime(rec.Expires), listedUserAgent(rec.UserAgent))
	}
	return tw.Flush()
}

func listedTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// listedUserAgent makes a user agent, which any client chooses, safe to
// print on a terminal: control and other non-printing characters (escape
// sequences, tabs that would break the columns) become '?'.
func listedUserAgent(ua string) string {
	if ua == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, ua)
}

// revokeUser ends every login of user.
func revokeUser(ctx context.Context, st backend, user string, stdout io.Writer) error {
	n, err := st.DeleteUserSessions(ctx, user)
	if err != nil {
		return fmt.Errorf("ending the logins of %q: %w", user, err)
	}
	fmt.Fprintf(stdout, "ended %s of %s\n", countLogins(n), user)
	return nil
}

// revokeID ends the one login whose id starts with prefix. A whole id is
// looked up directly (even a login of an account that is gone); a shorter
// prefix is searched among the logins of every account, and must match
// exactly one.
func revokeID(ctx context.Context, st backend, prefix string, stdout io.Writer) error {
	rec, err := findLogin(ctx, st, prefix)
	if err != nil {
		return err
	}
	if err := st.DeleteSession(ctx, rec.ID); err != nil {
		return fmt.Errorf("ending login %s: %w", prefix, err)
	}
	fmt.Fprintf(stdout, "ended 1 login: %s of %s (%s)\n", rec.ID.String()[:listedID], rec.User, server.LoginKind(rec))
	return nil
}

// errNoLogin reports that no live login has the id asked for.
var errNoLogin = errors.New("no login")

// findLogin returns the one live login whose id starts with prefix.
func findLogin(ctx context.Context, st backend, prefix string) (store.Record, error) {
	if len(prefix) == 2*len(store.SessionID{}) {
		var id store.SessionID
		_, _ = hex.Decode(id[:], []byte(prefix)) // checked by parseSessionsFlags
		rec, err := st.Session(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return rec, fmt.Errorf("%w has the id %s", errNoLogin, prefix)
		case err != nil:
			return rec, fmt.Errorf("looking up login %s: %w", prefix, err)
		}
		return rec, nil
	}
	recs, err := userLogins(ctx, st, "")
	if err != nil {
		return store.Record{}, err
	}
	var found []store.Record
	for _, rec := range recs {
		if strings.HasPrefix(rec.ID.String(), prefix) {
			found = append(found, rec)
		}
	}
	switch len(found) {
	case 0:
		return store.Record{}, fmt.Errorf("%w has an id starting with %s (sessions list shows them)", errNoLogin, prefix)
	case 1:
		return found[0], nil
	default:
		return store.Record{}, fmt.Errorf("%d logins have an id starting with %s: give more of it", len(found), prefix)
	}
}
