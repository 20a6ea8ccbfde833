package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

const keysUsage = `Usage:
  sessionkit keys list [flags]     list the JWT signing keys and their state (--output json for a JSON array)
  sessionkit keys rotate [flags]   add a new signing key
  sessionkit keys retire [flags]   delete the keys that no longer verify
  sessionkit keys retire --id KID --force [flags]
                                   delete one key that is not the primary
  sessionkit keys rewrap --new-kek URL [flags]
                                   encrypt every key of the store under a new key-encryption key
  sessionkit keys new-kek PATH     write a new key-encryption key to the file PATH (mode 0600), for --kek file:PATH

All work on the store the server uses (--store, or SESSIONKIT_STORE), and
may run while servers run on it. A rotated key verifies at once, is
published by every server within a minute, and then becomes the primary
(the key that signs). The old key keeps verifying until every token it
signed has expired (--access-token-lifetime and --token-leeway after that,
so give the servers' values), then it is retired: it no longer verifies,
and retire deletes it from the store. retire --id KID --force deletes a key
that still verifies, such as one that leaked: tokens it signed are refused
once each server reloads its keys (within a minute while it issues tokens),
and their holders must refresh or log in again. The primary is never
deleted: rotate first, and retire the old key once the new one signs.
Servers also delete retired keys themselves. As for serve, a duration of
0 means its default, and a negative --token-leeway (-1s) means none.

Every key in the store is encrypted under the key-encryption key (--kek,
or SESSIONKIT_KEK; for sqlite:PATH the file PATH.kek by default), which
the store never holds. To change it while servers run: run rewrap with the
old --kek and the --new-kek, then restart the servers one by one with
--kek NEW (servers still running keep the keys they loaded; give them
--old-kek OLD too if they may rotate keys meanwhile, and run rewrap again
once every server has restarted).
`

// keysCommand runs "sessionkit keys ...": it reads the subcommand's flags,
// opens the store and reads its signing keys, then lists or rotates them.
func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("%w: keys needs a subcommand: list, rotate or retire", errUsage)
	}
	sub := args[0]
	switch sub {
	case "new-kek":
		return keysNewKEK(args[1:], stdout)
	case "list", "rotate", "retire", "rewrap":
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("%w: unknown keys subcommand %q", errUsage, sub)
	}
	kf, err := parseKeysFlags(sub, args[1:], getenv, stdout, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, kf.store)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	current, olds, err := openKEKs(ctx, kf.store, kf.kek, log)
	if err != nil {
		return err
	}
	defer closeKEKs(current, olds)
	if sub == "rewrap" {
		return keysRewrap(ctx, st, current, olds, kf, stdout)
	}
	keys := kek.Wrap(st, current, olds...)
	if _, err := keys.Migrate(ctx, server.KeyPurposes()...); err != nil {
		return fmt.Errorf("encrypting the store's plaintext keys: %w", err)
	}
	have, err := keys.Keys(ctx, token.DefaultKeyPurpose)
	if err != nil {
		return fmt.Errorf("reading keys: %w", err)
	}
	kc := keysContext{keys: keys, clock: st, n: len(have), flags: kf}
	switch sub {
	case "list":
		return kc.list(ctx, stdout)
	case "retire":
		return kc.retire(ctx, stdout)
	default:
		return kc.rotate(ctx, stdout)
	}
}

// keysContext is what list, rotate and retire work on: the store's keys
// (decrypted), its clock, how many signing keys it holds, and the flags.
type keysContext struct {
	keys  store.Keys
	clock store.Clock
	n     int
	flags keysFlags
}

// now is the store's time, which decides the keys' states.
func (kc keysContext) now(ctx context.Context) (time.Time, error) {
	t, err := kc.clock.StoreTime(ctx)
	if err != nil {
		return t, fmt.Errorf("reading the store's clock: %w", err)
	}
	return t, nil
}

// ring opens the signing keys, with the servers' retirement rules and the
// store's clock.
func (kc keysContext) ring(ctx context.Context) (*token.Ring, time.Time, error) {
	now, err := kc.now(ctx)
	if err != nil {
		return nil, now, err
	}
	opts := kc.flags.ringOptions()
	opts.Clock = kc.clock
	opts.Now = func() time.Time { return now }
	ring, err := token.OpenRing(ctx, kc.keys, opts)
	return ring, now, err
}

// keysRewrap encrypts every key of the store under the new KEK.
func keysRewrap(ctx context.Context, st backend, current *kek.KEK, olds []*kek.KEK, kf keysFlags, stdout io.Writer) error {
	if kf.newKEK == "" {
		return fmt.Errorf("%w: rewrap needs --new-kek URL", errUsage)
	}
	to, err := kek.Open(ctx, kf.newKEK)
	if err != nil {
		return fmt.Errorf("--new-kek: %w", err)
	}
	defer to.Close()
	n := 0
	for _, from := range append([]*kek.KEK{current}, olds...) {
		m, err := kek.Rewrap(ctx, st, from, to, server.KeyPurposes()...)
		n += m
		if err == nil {
			fmt.Fprintf(stdout, "re-encrypted %d keys under the new key-encryption key; start servers with --kek %s\n", n, kf.newKEK)
			return nil
		}
		if !errors.Is(err, kek.ErrWrongKEK) {
			return err
		}
	}
	return fmt.Errorf("some keys of the store open under neither --kek nor --old-kek: %w", kek.ErrWrongKEK)
}

// keysNewKEK writes a new file KEK.
func keysNewKEK(args []string, stdout io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("%w: keys new-kek needs one argument, the file to write", errUsage)
	}
	if err := kek.CreateFile(args[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote a new key-encryption key to %s (mode 0600); use --kek file:%s\n", args[0], args[0])
	return nil
}

// keysFlags are the flags of every keys subcommand.
type keysFlags struct {
	store     string
	tokens    tokenConfig
	algorithm token.Algorithm // rotate
	id        string          // retire
	force     bool            // retire
	output    string          // list
	kek       kekConfig
	newKEK    string // rewrap
}

func parseKeysFlags(name string, args []string, getenv func(string) string, stdout, stderr io.Writer) (keysFlags, error) {
	kf := keysFlags{store: defaultStore, tokens: defaultTokenConfig(), algorithm: token.DefaultAlgorithm, output: outputText}
	fs := flag.NewFlagSet("keys "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&kf.store, "store", kf.store, "the server's store: sqlite:PATH, memory:, redis://… or postgres://…")
	kf.tokens.lifetimeFlags(fs)
	kf.kek.flags(fs)
	if name == "rewrap" {
		fs.StringVar(&kf.newKEK, "new-kek", "", "the `URL` of the key-encryption key to encrypt every key under (see --kek)")
	}
	if name == "retire" {
		fs.StringVar(&kf.id, "id", "", "delete only the key `KID`, if it is retired (or, with --force, whatever its state but primary)")
		fs.BoolVar(&kf.force, "force", false, "with --id: delete the key even though it still verifies")
	}
	if name == "list" {
		outputFlag(fs, &kf.output)
	}
	if name == "rotate" {
		fs.Func("algorithm", "`algorithm` of the new key: EdDSA, ES256, RS256 or HS256 (default EdDSA)", func(s string) error {
			a, err := token.ParseAlgorithm(s)
			kf.algorithm = a
			return err
		})
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sessionkit keys %s [flags]\n\n%s\nFlags:\n", name, keysUsage)
		fs.PrintDefaults()
	}
	if err := parseFlagSet(fs, args, stdout, stderr); err != nil {
		return kf, err
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
	if kf.force && kf.id == "" {
		return kf, fmt.Errorf("%w: --force needs --id KID: it deletes one key, named", errUsage)
	}
	if err := checkOutput(kf.output); err != nil {
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
		Leeway:        kf.tokens.Leeway,
		KeepRetired:   kf.tokens.RefreshIdle,
	}
}

// keysList prints the keys of a store that has n of them, as a table or
// (kf.output json) a JSON array.
func (kc keysContext) list(ctx context.Context, stdout io.Writer) error {
	kf := kc.flags
	if kc.n == 0 {
		if kf.output == outputJSON {
			return writeJSON(stdout, []listedKey{})
		}
		fmt.Fprintln(stdout, "no signing keys yet: the server makes the first one when it starts")
		return nil
	}
	ring, now, err := kc.ring(ctx)
	if err != nil {
		return err
	}
	if kf.output == outputJSON {
		return writeJSON(stdout, listKeys(ring.KeySet(), now))
	}
	printKeys(stdout, ring.KeySet(), now)
	return nil
}

// listedKey is a signing key as keys list --output json writes it: its id,
// algorithm, times and state, never its key material. signs_from and
// expires are null when the key has none (signs at once, verifies with no
// end).
type listedKey struct {
	KID       string  `json:"kid"`
	Algorithm string  `json:"algorithm"`
	Created   string  `json:"created"`
	SignsFrom *string `json:"signs_from"`
	Expires   *string `json:"expires"`
	State     string  `json:"state"` // primary, next, verifying or retired
}

// listKeys returns the keys of set as keys list --output json writes them.
func listKeys(set *token.KeySet, now time.Time) []listedKey {
	primary := set.Primary(now)
	list := []listedKey{}
	for _, k := range set.Keys() {
		list = append(list, listedKey{
			KID:       k.ID,
			Algorithm: string(k.Algorithm),
			Created:   jsonTime(k.Created),
			SignsFrom: jsonOptionalTime(k.SignsFrom),
			Expires:   jsonOptionalTime(k.Expires),
			State:     keyStateName(k, primary, now),
		})
	}
	return list
}

// keysRotate adds a key to a store that has n of them. On a store without
// keys, opening the ring makes the first key, of the algorithm asked for:
// that is the rotation.
func (kc keysContext) rotate(ctx context.Context, stdout io.Writer) error {
	kf := kc.flags
	ring, now, err := kc.ring(ctx)
	if err != nil {
		return err
	}
	k := ring.KeySet().Primary(now)
	if kc.n > 0 {
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
	printKeys(stdout, ring.KeySet(), now)
	return nil
}

// keysRetire deletes from a store that has n keys the keys that are
// retired (no longer verify), or only the key kf.id: when it is retired,
// or with kf.force when it is not the primary. It never deletes the
// primary, and says so.
func (kc keysContext) retire(ctx context.Context, stdout io.Writer) error {
	kf := kc.flags
	if kc.n == 0 {
		if kf.id != "" {
			return fmt.Errorf("no key %q: the store has no signing keys yet", kf.id)
		}
		fmt.Fprintln(stdout, "no signing keys yet: the server makes the first one when it starts")
		return nil
	}
	ring, now, err := kc.ring(ctx)
	if err != nil {
		return err
	}
	doomed, err := keysToRetire(ring.KeySet(), now, kf)
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := kc.keys.DeleteKey(ctx, token.DefaultKeyPurpose, k.ID); err != nil {
			return fmt.Errorf("deleting key %s: %w", k.ID, err)
		}
		fmt.Fprintf(stdout, "deleted key %s (%s)\n", k.ID, k.Algorithm)
	}
	if len(doomed) == 0 {
		fmt.Fprintln(stdout, "no retired keys: every key still verifies")
	}
	if err := ring.Reload(ctx); err != nil {
		return err
	}
	printKeys(stdout, ring.KeySet(), now)
	return nil
}

// keysToRetire chooses the keys of set that retire deletes at now.
func keysToRetire(set *token.KeySet, now time.Time, kf keysFlags) ([]*token.Key, error) {
	primary := set.Primary(now)
	retired := func(k *token.Key) bool { return k != primary && !k.Expires.IsZero() && !now.Before(k.Expires) }
	if kf.id == "" {
		var doomed []*token.Key
		for _, k := range set.Keys() {
			if retired(k) {
				doomed = append(doomed, k)
			}
		}
		return doomed, nil
	}
	for _, k := range set.Keys() {
		switch {
		case k.ID != kf.id:
			continue
		case k == primary:
			return nil, fmt.Errorf("key %s is the primary (it signs): rotate first, and retire it once the new key signs", k.ID)
		case !retired(k) && !kf.force:
			return nil, fmt.Errorf("key %s still verifies (%s): add --force to delete it anyway, refusing the tokens it signed", k.ID, keyState(k, primary, now))
		}
		return []*token.Key{k}, nil
	}
	return nil, fmt.Errorf("no key %q (keys list shows them)", kf.id)
}

// printKeys writes one line per key: its id, algorithm, creation and state.
func printKeys(w io.Writer, set *token.KeySet, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALGORITHM\tCREATED\tSTATE")
	primary := set.Primary(now)
	for _, k := range set.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.Created.UTC().Format(time.RFC3339), keyState(k, primary, now))
	}
	tw.Flush()
}

// keyStateName is keyState in one word, for JSON.
func keyStateName(k, primary *token.Key, now time.Time) string {
	switch {
	case k == primary:
		return "primary"
	case k.SignsFrom.After(now):
		return "next"
	case k.Expires.After(now):
		return "verifying"
	default:
		return "retired"
	}
}

// keyState says what k does at now, when primary signs.
func keyState(k, primary *token.Key, now time.Time) string {
	switch {
	case k == primary:
		return "primary (signs and verifies)"
	case k.SignsFrom.After(now):
		return "next: verifies, signs from " + k.SignsFrom.UTC().Format(time.RFC3339)
	case k.Expires.After(now):
		return "verifies until " + k.Expires.UTC().Format(time.RFC3339)
	default:
		return "retired (no longer verifies)"
	}
}
