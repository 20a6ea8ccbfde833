package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionkit/sessionkit/store"
)

// Passkeys live in sessionkit_passkeys, keyed by credential ID (bytea),
// with an index on account_id. No foreign key ties them to accounts:
// DeleteUser deletes the account's passkeys in its own statement.

var _ store.Passkeys = (*Store)(nil)

// maxPasskeyID is the longest credential ID WebAuthn allows, in bytes.
const maxPasskeyID = 1023

// passkeyColumns are the columns scanPasskey reads, in its order.
const passkeyColumns = `id, account_id, user_name, name, public_key, aaguid, transports,
	sign_count, backup_eligible, backup_state, created, last_used`

// AddPasskey stores p, or returns store.ErrExists when a passkey with the
// same credential ID exists, whichever account it belongs to. It does not
// check that the account exists. It fails without adding when p.ID is
// empty or longer than 1023 bytes, p.AccountID is empty, or p.AccountID,
// p.User, p.Name or a transport is not valid UTF-8 or holds a NUL byte.
func (s *Store) AddPasskey(ctx context.Context, p store.Passkey) error {
	switch {
	case len(p.ID) == 0:
		return errors.New("pgstore: add passkey: the credential id is empty")
	case len(p.ID) > maxPasskeyID:
		return fmt.Errorf("pgstore: add passkey: the credential id is %d bytes, longer than %d", len(p.ID), maxPasskeyID)
	case p.AccountID == "":
		return errors.New("pgstore: add passkey: the account id is empty")
	case !storable(p.AccountID):
		return errUnstorable("add passkey", "the account id")
	case !storable(p.User):
		return errUnstorable("add passkey", "the user name")
	case !storable(p.Name):
		return errUnstorable("add passkey", "the passkey's name")
	}
	transports := make([]string, len(p.Transports)) // the column is NOT NULL
	for i, tr := range p.Transports {
		if !storable(tr) {
			return errUnstorable("add passkey", "a transport")
		}
		transports[i] = tr
	}
	_, err := s.pool.Exec(ctx, s.q.addPasskey,
		p.ID, p.AccountID, p.User, p.Name, nonNil(p.PublicKey), nonNil(p.AAGUID), transports,
		int64(p.SignCount), p.BackupEligible, p.BackupState, nullTime(p.Created), nullTime(p.LastUsed))
	if uniqueViolation(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("pgstore: add passkey: %w", err)
	}
	return nil
}

// Passkey returns the passkey whose credential ID is id, or
// store.ErrNotFound.
func (s *Store) Passkey(ctx context.Context, id []byte) (store.Passkey, error) {
	p, err := scanPasskey(s.pool.QueryRow(ctx, s.q.passkey, nonNil(id)))
	if errNoRows(err) {
		return store.Passkey{}, store.ErrNotFound
	}
	if err != nil {
		return store.Passkey{}, fmt.Errorf("pgstore: get passkey: %w", err)
	}
	return p, nil
}

// AccountPasskeys returns the passkeys of the account whose ID is
// accountID, oldest first (by Created; those registered at the same time
// in the order they were added). It returns an empty slice, not an error,
// when there are none.
func (s *Store) AccountPasskeys(ctx context.Context, accountID string) ([]store.Passkey, error) {
	out := []store.Passkey{}
	if !storable(accountID) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pgstore: list passkeys: %w", err)
		}
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.q.accountPasskeys, accountID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list passkeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list passkeys: %w", err)
	}
	return out, nil
}

// UsePasskey records a login with the passkey id: its SignCount becomes
// signCount, its BackupState backupState and its LastUsed used. The
// counter check and the update are one UPDATE … WHERE, so of concurrent
// calls with the same nonzero count exactly one succeeds; the others
// return store.ErrSignCount, as does any call whose count did not increase
// (unless both counts are zero), changing nothing. It returns
// store.ErrNotFound when there is no such passkey.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, used time.Time) error {
	var updated int64
	err := retrySerialization(ctx, func() error {
		tag, err := s.pool.Exec(ctx, s.q.usePasskey,
			nonNil(id), int64(signCount), backupState, nullTime(used))
		updated = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: use passkey: %w", err)
	}
	if updated > 0 {
		return nil
	}
	// Nothing changed: either there is no such passkey or the counter
	// check failed. Only which error to return depends on this read.
	var exists bool
	if err := s.pool.QueryRow(ctx, s.q.passkeyExists, nonNil(id)).Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: use passkey: %w", err)
	}
	if !exists {
		return store.ErrNotFound
	}
	return store.ErrSignCount
}

// RenamePasskey sets the Name of the passkey id of the account accountID,
// or returns store.ErrNotFound when that account has no such passkey. It
// fails without changing anything when name is not valid UTF-8 or holds a
// NUL byte.
func (s *Store) RenamePasskey(ctx context.Context, accountID string, id []byte, name string) error {
	if !storable(name) {
		return errUnstorable("rename passkey", "the name")
	}
	if !storable(accountID) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pgstore: rename passkey: %w", err)
		}
		return store.ErrNotFound
	}
	var tag pgconn.CommandTag
	err := retrySerialization(ctx, func() (err error) {
		tag, err = s.pool.Exec(ctx, s.q.renamePasskey, accountID, nonNil(id), name)
		return err
	})
	return oneRow(tag, err, "rename passkey")
}

// DeletePasskey removes the passkey id of the account accountID, or
// returns store.ErrNotFound when that account has no such passkey.
func (s *Store) DeletePasskey(ctx context.Context, accountID string, id []byte) error {
	if !storable(accountID) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pgstore: delete passkey: %w", err)
		}
		return store.ErrNotFound
	}
	var tag pgconn.CommandTag
	err := retrySerialization(ctx, func() (err error) {
		tag, err = s.pool.Exec(ctx, s.q.deletePasskey, accountID, nonNil(id))
		return err
	})
	return oneRow(tag, err, "delete passkey")
}

// scanPasskey reads one row of passkeyColumns.
func scanPasskey(row interface{ Scan(...any) error }) (store.Passkey, error) {
	var p store.Passkey
	var signCount int64
	var created, lastUsed *int64
	if err := row.Scan(&p.ID, &p.AccountID, &p.User, &p.Name, &p.PublicKey, &p.AAGUID, &p.Transports,
		&signCount, &p.BackupEligible, &p.BackupState, &created, &lastUsed); err != nil {
		return store.Passkey{}, err
	}
	if signCount < 0 || signCount > 1<<32-1 {
		return store.Passkey{}, fmt.Errorf("passkey sign count %d out of range", signCount)
	}
	p.SignCount = uint32(signCount)
	if len(p.Transports) == 0 {
		p.Transports = nil
	}
	p.Created, p.LastUsed = fromNullTime(created), fromNullTime(lastUsed)
	return p, nil
}

// nullTime returns t in Unix nanoseconds, or nil (NULL) for the zero time.
func nullTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ns := t.UnixNano()
	return &ns
}

// fromNullTime reads a time written by nullTime.
func fromNullTime(ns *int64) time.Time {
	if ns == nil {
		return time.Time{}
	}
	return time.Unix(0, *ns)
}

// nonNil returns b, or an empty slice for nil, which pgx would send as
// NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
