package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/store"
)

// Passkeys live in two hashes in the hash slot of the accounts' hash (see
// passkeyKeys): one from credential ID (the raw bytes) to the passkey, one
// from account id to the account's credential IDs in the order added.
// Every change to them is one script over both, and DeleteUser removes an
// account and its passkeys in one script over the three hashes, so an
// account's passkeys never outlive it. A passkey and an account's list of
// credential IDs are sequences of fields, each its length in decimal, a
// colon and its bytes (see luaFields in scripts.go for the fields).

var _ store.Passkeys = (*Store)(nil)

// maxPasskeyID is the longest credential ID WebAuthn allows, in bytes.
const maxPasskeyID = 1023

// passkeyKeys returns the hash of every passkey, by credential ID, and the
// hash of every account's credential IDs, by account id. Both carry the
// hash tag {PREFIXusers}: the name of the accounts' hash, which has no tag
// (the prefix holds no brace), so that Redis Cluster hashes all three to
// one slot and DeleteUser can remove an account and its passkeys in one
// script. With the default prefix they are
// sessionkit:{sessionkit:users}:passkeys and
// sessionkit:{sessionkit:users}:account-passkeys.
func (s *Store) passkeyKeys() (passkeys, accounts string) {
	tag := s.prefix + "{" + s.usersKey() + "}"
	return tag + ":passkeys", tag + ":account-passkeys"
}

// AddPasskey stores p, or returns store.ErrExists when a passkey with the
// same credential ID exists, whichever account it belongs to, in one
// script; of concurrent additions of one ID exactly one succeeds. It does
// not check that the account exists. It fails without adding when p.ID is
// empty or longer than 1023 bytes, or p.AccountID is empty.
func (s *Store) AddPasskey(ctx context.Context, p store.Passkey) error {
	switch {
	case len(p.ID) == 0:
		return errors.New("redisstore: add passkey: the credential id is empty")
	case len(p.ID) > maxPasskeyID:
		return fmt.Errorf("redisstore: add passkey: the credential id is %d bytes, longer than %d", len(p.ID), maxPasskeyID)
	case p.AccountID == "":
		return errors.New("redisstore: add passkey: the account id is empty")
	}
	n := nonce()
	passkeys, accounts := s.passkeyKeys()
	cmds, err := s.run(ctx, call{addPasskeyScript, []string{passkeys, accounts},
		[]any{p.ID, p.AccountID, encodePasskey(p, n), n}})
	if err != nil {
		return fmt.Errorf("redisstore: add passkey: %w", err)
	}
	if v, _ := cmds[0].Int64(); v == 0 {
		return store.ErrExists
	}
	return nil
}

// Passkey returns the passkey whose credential ID is id, or
// store.ErrNotFound, in one command.
func (s *Store) Passkey(ctx context.Context, id []byte) (store.Passkey, error) {
	passkeys, _ := s.passkeyKeys()
	v, err := s.client.HGet(ctx, passkeys, string(id)).Result()
	if errors.Is(err, redis.Nil) {
		return store.Passkey{}, store.ErrNotFound
	}
	if err != nil {
		return store.Passkey{}, fmt.Errorf("redisstore: get passkey: %w", err)
	}
	p, err := decodePasskey(string(id), v)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("redisstore: get passkey: %w", err)
	}
	return p, nil
}

// AccountPasskeys returns the passkeys of the account whose ID is
// accountID, oldest first (by Created; those registered at the same time
// in the order they were added), read in one script. It returns an empty
// slice, not an error, when there are none.
func (s *Store) AccountPasskeys(ctx context.Context, accountID string) ([]store.Passkey, error) {
	passkeys, accounts := s.passkeyKeys()
	cmds, err := s.run(ctx, call{accountPasskeysScript, []string{passkeys, accounts}, []any{accountID}})
	if err != nil {
		return nil, fmt.Errorf("redisstore: list passkeys: %w", err)
	}
	flat, err := cmds[0].StringSlice()
	if err != nil || len(flat)%2 != 0 {
		return nil, fmt.Errorf("redisstore: list passkeys: unexpected reply %v: %v", cmds[0].Val(), err)
	}
	out := make([]store.Passkey, 0, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		p, err := decodePasskey(flat[i], flat[i+1])
		if err != nil {
			return nil, fmt.Errorf("redisstore: list passkeys: %w", err)
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b store.Passkey) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// UsePasskey records a login with the passkey id: its SignCount becomes
// signCount, its BackupState backupState and its LastUsed used. One script
// checks the counter and writes, so of concurrent calls with the same
// nonzero count exactly one succeeds; the others return
// store.ErrSignCount, as does any call whose count did not increase
// (unless both counts are zero), changing nothing. It returns
// store.ErrNotFound when there is no such passkey. A call go-redis retries
// after its reply was lost is recognised by its nonce and succeeds.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, used time.Time) error {
	passkeys, _ := s.passkeyKeys()
	cmds, err := s.run(ctx, call{usePasskeyScript, []string{passkeys},
		[]any{id, strconv.FormatUint(uint64(signCount), 10), flag(backupState), optNanos(used), nonce()}})
	if err != nil {
		return fmt.Errorf("redisstore: use passkey: %w", err)
	}
	switch v, _ := cmds[0].Int64(); v {
	case 0:
		return store.ErrNotFound
	case 2:
		return store.ErrSignCount
	}
	return nil
}

// RenamePasskey sets the Name of the passkey id of the account accountID,
// in one script, or returns store.ErrNotFound when that account has no
// such passkey.
func (s *Store) RenamePasskey(ctx context.Context, accountID string, id []byte, name string) error {
	passkeys, _ := s.passkeyKeys()
	cmds, err := s.run(ctx, call{renamePasskeyScript, []string{passkeys}, []any{id, accountID, name}})
	if err != nil {
		return fmt.Errorf("redisstore: rename passkey: %w", err)
	}
	if v, _ := cmds[0].Int64(); v == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeletePasskey removes the passkey id of the account accountID, in one
// script, or returns store.ErrNotFound when that account has no such
// passkey.
func (s *Store) DeletePasskey(ctx context.Context, accountID string, id []byte) error {
	passkeys, accounts := s.passkeyKeys()
	cmds, err := s.run(ctx, call{deletePasskeyScript, []string{passkeys, accounts}, []any{id, accountID}})
	if err != nil {
		return fmt.Errorf("redisstore: delete passkey: %w", err)
	}
	if v, _ := cmds[0].Int64(); v == 0 {
		return store.ErrNotFound
	}
	return nil
}

// encodePasskey returns p as the passkeys' hash keeps it (without its
// credential ID, the hash's field), written with nonce.
func encodePasskey(p store.Passkey, nonce string) string {
	var transports strings.Builder
	for _, t := range p.Transports {
		writeField(&transports, t)
	}
	var b strings.Builder
	for _, f := range [...]string{
		p.AccountID,
		p.User,
		p.Name,
		string(p.PublicKey),
		string(p.AAGUID),
		transports.String(),
		strconv.FormatUint(uint64(p.SignCount), 10),
		flag(p.BackupEligible),
		flag(p.BackupState),
		optNanos(p.Created),
		optNanos(p.LastUsed),
		nonce,
	} {
		writeField(&b, f)
	}
	return b.String()
}

// decodePasskey reads the passkey id written by encodePasskey (and
// perhaps changed by the scripts).
func decodePasskey(id, v string) (store.Passkey, error) {
	bad := fmt.Errorf("malformed passkey %q", id)
	f, ok := splitFields(v)
	if !ok || len(f) < 12 {
		return store.Passkey{}, bad
	}
	transports, ok := splitFields(f[5])
	if !ok {
		return store.Passkey{}, bad
	}
	count, err := strconv.ParseUint(f[6], 10, 32)
	if err != nil {
		return store.Passkey{}, bad
	}
	created, err1 := parseOptNanos(f[9])
	lastUsed, err2 := parseOptNanos(f[10])
	if err1 != nil || err2 != nil {
		return store.Passkey{}, bad
	}
	p := store.Passkey{
		ID:             []byte(id),
		AccountID:      f[0],
		User:           f[1],
		Name:           f[2],
		PublicKey:      []byte(f[3]),
		AAGUID:         []byte(f[4]),
		Transports:     transports,
		SignCount:      uint32(count),
		BackupEligible: f[7] == "1",
		BackupState:    f[8] == "1",
		Created:        created,
		LastUsed:       lastUsed,
	}
	return p, nil
}

// writeField appends f to b as one field: its length, a colon and f.
func writeField(b *strings.Builder, f string) {
	b.WriteString(strconv.Itoa(len(f)))
	b.WriteByte(':')
	b.WriteString(f)
}

// splitFields reads fields written by writeField: nil for "", and false
// when v is not a sequence of them.
func splitFields(v string) ([]string, bool) {
	var out []string
	for v != "" {
		n, rest, ok := strings.Cut(v, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size < 0 || size > len(rest) {
			return nil, false
		}
		out = append(out, rest[:size])
		v = rest[size:]
	}
	return out, true
}

// flag returns "1" for true and "0" for false.
func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// optNanos returns t in Unix nanoseconds, in decimal, or "" for the zero
// time.
func optNanos(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return nanos(t)
}

// parseOptNanos reads a time written by optNanos.
func parseOptNanos(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseNanos(s)
}
