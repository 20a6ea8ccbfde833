package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// passkeyColumns are the columns scanPasskey reads, in its order.
const passkeyColumns = `id, account_id, user, name, public_key, aaguid, transports,
	sign_count, backup_eligible, backup_state, created, last_used`

// usePasskeySQL records a use of the passkey ?1 (count ?2, backup state
// ?3, at ?4) only if the count moved forward, or stays at zero: the check
// and the change are one statement, so that of concurrent uses with the
// same count, from any connection or process, exactly one changes the row.
const usePasskeySQL = `UPDATE passkeys SET sign_count = ?2, backup_state = ?3, last_used = ?4
	WHERE id = ?1 AND (sign_count < ?2 OR (sign_count = 0 AND ?2 = 0))`

// AddPasskey stores p, or returns store.ErrExists when a passkey with the
// same ID exists, whichever account it belongs to. A passkey with no
// AccountID, or an ID that is not 1 to 1023 bytes, is an error, but not
// store.ErrExists.
func (s *Store) AddPasskey(ctx context.Context, p store.Passkey) error {
	transports := p.Transports
	if transports == nil {
		transports = []string{} // "[]", not "null"
	}
	tj, err := json.Marshal(transports)
	if err != nil {
		return fmt.Errorf("sqlitestore: add passkey: %w", err)
	}
	_, err = s.w.ExecContext(ctx,
		`INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.AccountID, p.User, p.Name, notNil(p.PublicKey), notNil(p.AAGUID), string(tj),
		int64(p.SignCount), p.BackupEligible, p.BackupState, p.Created.UnixNano(), zeroOrUnixNano(p.LastUsed))
	if isConstraint(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: add passkey: %w", err)
	}
	return nil
}

// Passkey returns the passkey whose credential ID is id, or
// store.ErrNotFound.
func (s *Store) Passkey(ctx context.Context, id []byte) (store.Passkey, error) {
	p, err := scanPasskey(s.db.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Passkey{}, store.ErrNotFound
	}
	if err != nil {
		return store.Passkey{}, fmt.Errorf("sqlitestore: get passkey: %w", err)
	}
	return p, nil
}

// AccountPasskeys returns the passkeys of the account accountID, oldest (by
// Created, then the order they were added in) first, or an empty slice when
// it has none.
func (s *Store) AccountPasskeys(ctx context.Context, accountID string) ([]store.Passkey, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+passkeyColumns+` FROM passkeys WHERE account_id = ? ORDER BY created, rowid`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list passkeys: %w", err)
	}
	defer rows.Close()
	out := []store.Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list passkeys: %w", err)
	}
	return out, nil
}

// UsePasskey records a login with the passkey id. The sign-count check and
// the change are one UPDATE, so of concurrent calls with the same count,
// from any connection or process, exactly one succeeds. It returns
// store.ErrSignCount, changing nothing, when the count did not increase
// (and is not zero again after zero), and store.ErrNotFound when there is
// no such passkey.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, used time.Time) error {
	res, err := s.w.ExecContext(ctx, usePasskeySQL, id, int64(signCount), backupState, zeroOrUnixNano(used))
	if err != nil {
		return fmt.Errorf("sqlitestore: use passkey: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: use passkey: %w", err)
	}
	if n > 0 {
		return nil
	}
	// Nothing changed: tell a missing passkey from a refused count. The
	// UPDATE decided; this only names the reason.
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM passkeys WHERE id = ?`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqlitestore: use passkey: %w", err)
	}
	return store.ErrSignCount
}

// RenamePasskey sets the Name of the passkey id of the account accountID,
// or returns store.ErrNotFound when that account has no such passkey.
func (s *Store) RenamePasskey(ctx context.Context, accountID string, id []byte, name string) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE passkeys SET name = ? WHERE id = ? AND account_id = ?`, name, id, accountID)
	return oneRow(res, err, "rename passkey")
}

// DeletePasskey removes the passkey id of the account accountID, or returns
// store.ErrNotFound when that account has no such passkey.
func (s *Store) DeletePasskey(ctx context.Context, accountID string, id []byte) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND account_id = ?`, id, accountID)
	return oneRow(res, err, "delete passkey")
}

// scanPasskey reads one row of passkeyColumns.
func scanPasskey(row interface{ Scan(...any) error }) (store.Passkey, error) {
	var p store.Passkey
	var transports string
	var signCount, created, lastUsed int64
	if err := row.Scan(&p.ID, &p.AccountID, &p.User, &p.Name, &p.PublicKey, &p.AAGUID, &transports,
		&signCount, &p.BackupEligible, &p.BackupState, &created, &lastUsed); err != nil {
		return store.Passkey{}, err
	}
	if err := json.Unmarshal([]byte(transports), &p.Transports); err != nil {
		return store.Passkey{}, fmt.Errorf("passkey %x: transports: %w", p.ID, err)
	}
	p.SignCount = uint32(signCount)
	p.Created = time.Unix(0, created)
	if lastUsed != 0 {
		p.LastUsed = time.Unix(0, lastUsed)
	}
	return p, nil
}

// notNil returns b, or an empty slice for nil: the blob columns are NOT
// NULL, and nil and empty mean the same.
func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
