package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

var (
	_ store.Keys  = (*Store)(nil)
	_ store.Clock = (*Store)(nil)
)

// Keys are rows of the keys table, ordered within their purpose by seq.
// Created, SignsFrom and Retires are Unix nanoseconds; SignsFrom and
// Retires are 0 for the zero time (so a time at the very start of 1970
// would read back as the zero time: no key is that old).

// keyColumns are the columns of a key, in the order addKeySQL and
// addFirstKeySQL take them and Keys reads them.
const keyColumns = `id, secret, created, signs_from, retires`

// addKeySQL appends a key to its purpose: ?1 purpose, ?2 id, ?3 secret,
// ?4 created, ?5 signs from, ?6 retires.
const addKeySQL = `INSERT INTO keys (purpose, ` + keyColumns + `, seq)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM keys WHERE purpose = ?1))`

// addFirstKeySQL adds a key to its purpose only when the purpose has none,
// with the parameters of addKeySQL. It is one statement, and SQLite runs
// a writing statement under the database's write lock from its start, so
// the check and the insert are one step for every connection and process.
const addFirstKeySQL = `INSERT INTO keys (purpose, ` + keyColumns + `, seq)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, 1
	WHERE NOT EXISTS (SELECT 1 FROM keys WHERE purpose = ?1)`

// Keys returns the keys of purpose, oldest (first added) first, or an
// empty slice when there are none. It fails when the database does not
// answer before ctx ends.
func (s *Store) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+keyColumns+` FROM keys WHERE purpose = ? ORDER BY seq`, purpose)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list keys: %w", err)
	}
	defer rows.Close()
	out := []store.Key{}
	for rows.Next() {
		var k store.Key
		var created, signsFrom, retires int64
		if err := rows.Scan(&k.ID, &k.Secret, &created, &signsFrom, &retires); err != nil {
			return nil, fmt.Errorf("sqlitestore: list keys: %w", err)
		}
		k.Created = time.Unix(0, created)
		k.SignsFrom = fromZeroOrUnixNano(signsFrom)
		k.Retires = fromZeroOrUnixNano(retires)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list keys: %w", err)
	}
	return out, nil
}

// AddKey appends k to the keys of purpose, or returns store.ErrExists when
// the purpose has a key with the same ID. It fails when the database does
// not answer before ctx ends.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	_, err := s.w.ExecContext(ctx, addKeySQL, keyArgs(purpose, k)...)
	if isConstraint(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: add key: %w", err)
	}
	return nil
}

// AddFirstKey adds k to purpose only when the purpose has no key, in one
// statement, and returns store.ErrExists otherwise: of processes and
// goroutines that start at once on an empty purpose, exactly one adds its
// key. It fails when the database does not answer before ctx ends.
func (s *Store) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	res, err := s.w.ExecContext(ctx, addFirstKeySQL, keyArgs(purpose, k)...)
	if err != nil {
		return fmt.Errorf("sqlitestore: add first key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: add first key: %w", err)
	}
	if n == 0 {
		return store.ErrExists
	}
	return nil
}

// RotateKey appends k to the keys of purpose and sets Retires to retire on
// every other key of purpose whose Retires is zero, in one transaction
// (which takes the write lock when it begins). It returns store.ErrExists,
// changing nothing, when the purpose has a key with k's ID, and fails,
// changing nothing, when the database does not answer before ctx ends.
func (s *Store) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: rotate key: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE keys SET retires = ? WHERE purpose = ? AND retires = 0`,
		zeroOrUnixNano(retire), purpose); err != nil {
		return fmt.Errorf("sqlitestore: rotate key: %w", err)
	}
	_, err = tx.ExecContext(ctx, addKeySQL, keyArgs(purpose, k)...)
	if isConstraint(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: rotate key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: rotate key: %w", err)
	}
	return nil
}

// ReplaceKeySecret sets the secret of the key of purpose named id to
// secret if it is still old (compared byte for byte), keeping its other
// fields and its place, in one transaction. It returns store.ErrNotFound
// when the purpose has no such key and store.ErrConflict when its secret
// is no longer old; it fails, changing nothing, when the database does not
// answer before ctx ends.
func (s *Store) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: replace key secret: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE keys SET secret = ? WHERE purpose = ? AND id = ? AND secret = ?`,
		notNil(secret), purpose, id, notNil(old))
	if err != nil {
		return fmt.Errorf("sqlitestore: replace key secret: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: replace key secret: %w", err)
	}
	if n == 0 {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM keys WHERE purpose = ? AND id = ?)`,
			purpose, id).Scan(&exists); err != nil {
			return fmt.Errorf("sqlitestore: replace key secret: %w", err)
		}
		if exists {
			return store.ErrConflict
		}
		return store.ErrNotFound
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: replace key secret: %w", err)
	}
	return nil
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound. It fails when the database does not answer before
// ctx ends.
func (s *Store) DeleteKey(ctx context.Context, purpose, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM keys WHERE purpose = ? AND id = ?`, purpose, id)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: delete key: %w", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// StoreTime returns the store's clock: Options.Now, which is the machine's
// clock (time.Now) unless a test set it. The database is a file that only
// processes on this machine open (SQLite's locking does not work across
// network file systems), so they all share that clock. It returns ctx's
// error if ctx has ended.
func (s *Store) StoreTime(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("sqlitestore: store time: %w", err)
	}
	return s.now(), nil
}

// keyArgs returns the parameters of addKeySQL and addFirstKeySQL for k. A
// nil secret is stored as an empty one: the column is NOT NULL.
func keyArgs(purpose string, k store.Key) []any {
	return []any{purpose, k.ID, notNil(k.Secret), k.Created.UnixNano(), zeroOrUnixNano(k.SignsFrom), zeroOrUnixNano(k.Retires)}
}

// fromZeroOrUnixNano reads a time written by zeroOrUnixNano.
func fromZeroOrUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
