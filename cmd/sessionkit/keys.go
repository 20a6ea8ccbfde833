package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"sessionkit/token"
)

const keysUsage = `Usage:
  sessionkit keys list [flags]     list the JWT signing keys and their state
  sessionkit keys rotate [flags]   add a new signing key

Both work on the store the server uses (--store, or SESSIONKIT_STORE), and
may run while servers run on it. A rotated key verifies at once, is
published by every server within a minute, and then becomes the primary
(the key that signs). The old key keeps verifying until every token it
signed has expired (--access-token-lifetime and --token-leeway after that),
then it is retired.
`

// keysCommand runs "sessionkit keys ...": it reads the subcommand's flags,
// opens the store and reads its signing keys, then lists or rotates them.
func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("%w: keys needs a subcommand: list or rotate", errUsage)
	}
	sub := args[0]
	switch sub {
	case "list", "rotate":
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("%w: unknown keys subcommand %q", errUsage, sub)
	}
	kf, err := parseKeysFlags(sub, args[1:], getenv, stderr, sub == "rotate")
	if err != nil {
		return err
	}
	st, err := openStore(ctx, kf.store)
	if err != nil {
		return err
	}
	defer st.Close()
	have, err := st.Keys(ctx, token.DefaultKeyPurpose)
	if err != nil {
		return fmt.Errorf("reading keys: %w", err)
	}
	if sub == "list" {
		return keysList(ctx, st, len(have), kf, stdout)
	}
	return keysRotate(ctx, st, len(have), kf, stdout)
}

// keysFlags are the flags of every keys subcommand.
type keysFlags struct {
	store     string
	tokens    tokenConfig
	algorithm token.Algorithm
}

func parseKeysFlags(name string, args []string, getenv func(string) string, stderr io.Writer, rotate bool) (keysFlags, error) {
	kf := keysFlags{store: defaultStore, tokens: defaultTokenConfig(), algorithm: token.DefaultAlgorithm}
	fs := flag.NewFlagSet("keys "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&kf.store, "store", kf.store, "the server's store: sqlite:PATH, memory:, redis://… or postgres://…")
	kf.tokens.lifetimeFlags(fs)
	if rotate {
		fs.Func("algorithm", "`algorithm` of the new key: EdDSA, ES256, RS256 or HS256 (default EdDSA)", func(s string) error {
			a, err := token.ParseAlgorithm(s)
			kf.algorithm = a
			return err
		})
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sessionkit keys %s [flags]\n\n%s\nFlags:\n", name, keysUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return kf, errHelp
		}
		return kf, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return kf, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := applyEnv(fs, getenv); err != nil {
		return kf, err
	}
	if err := kf.tokens.check(); err != nil {
		return kf, err
	}
	return kf, nil
}

// ringOptions are the options the server opens its ring with, so that the
// command computes the same retirement times.
func (kf keysFlags) ringOptions() token.RingOptions {
	return token.RingOptions{
		Algorithm:     kf.algorithm,
		TokenLifetime: kf.tokens.AccessLifetime,
		Leeway:        zeroMeansNone(kf.tokens.Leeway),
	}
}

// keysList prints the keys of a store that has n of them.
func keysList(ctx context.Context, st backend, n int, kf keysFlags, stdout io.Writer) error {
	if n == 0 {
		fmt.Fprintln(stdout, "no signing keys yet: the server makes the first one when it starts")
		return nil
	}
	ring, err := token.OpenRing(ctx, st, kf.ringOptions())
	if err != nil {
		return err
	}
	printKeys(stdout, ring.KeySet(), time.Now())
	return nil
}

// keysRotate adds a key to a store that has n of them. On a store without
// keys, opening the ring makes the first key, of the algorithm asked for:
// that is the rotation.
func keysRotate(ctx context.Context, st backend, n int, kf keysFlags, stdout io.Writer) error {
	ring, err := token.OpenRing(ctx, st, kf.ringOptions())
	if err != nil {
		return err
	}
	k := ring.KeySet().Primary(time.Now())
	if n > 0 {
		if k, err = ring.Rotate(ctx, kf.algorithm); err != nil {
			return err
		}
	}
	if k.SignsFrom.IsZero() {
		fmt.Fprintf(stdout, "first key %s (%s): it signs from now\n", k.ID, k.Algorithm)
	} else {
		fmt.Fprintf(stdout, "new key %s (%s): it verifies now and becomes the primary at %s, once every server publishes it\n",
			k.ID, k.Algorithm, k.SignsFrom.UTC().Format(time.RFC3339))
	}
	printKeys(stdout, ring.KeySet(), time.Now())
	return nil
}

// printKeys writes one line per key: its id, algorithm, creation and state.
func printKeys(w io.Writer, set *token.KeySet, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALGORITHM\tCREATED\tSTATE")
	primary := set.Primary(now)
	for _, k := range set.Keys() {
		state := "retired (no longer verifies)"
		switch {
		case k == primary:
			state = "primary (signs and verifies)"
		case k.SignsFrom.After(now):
			state = "next: verifies, signs from " + k.SignsFrom.UTC().Format(time.RFC3339)
		case k.Expires.After(now):
			state = "verifies until " + k.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.Created.UTC().Format(time.RFC3339), state)
	}
	tw.Flush()
}
