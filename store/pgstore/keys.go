package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionkit/sessionkit/store"
)

// Keys live in sessionkit_keys, one row per key, ordered within their
// purpose by seq (an identity column: the order they were added in).
// Created is bigint Unix nanoseconds; signs_from and retires too, NULL for
// the zero time.

var (
	_ store.Keys  = (*Store)(nil)
	_ store.Clock = (*Store)(nil)
)

// Keys returns the keys of purpose in the order they were added (not by
// Created): the order the caller rotated them in. It returns an empty
// slice when there are none. The secrets are the caller's own copies. It
// fails when the database does not answer before ctx ends.
func (s *Store) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	out := []store.Key{}
	if !storable(purpose) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pgstore: list keys: %w", err)
		}
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.q.keys, purpose)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k store.Key
		var created int64
		var signsFrom, retires *int64
		if err := rows.Scan(&k.ID, &k.Secret, &created, &signsFrom, &retires); err != nil {
			return nil, fmt.Errorf("pgstore: list keys: %w", err)
		}
		k.Created = time.Unix(0, created)
		k.SignsFrom = fromNullTime(signsFrom)
		k.Retires = fromNullTime(retires)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list keys: %w", err)
	}
	return out, nil
}

// AddKey appends k to the keys of purpose, or returns store.ErrExists when
// the purpose has a key with the same ID. A key whose ID was deleted may be
// added again and then comes last. It fails without adding when purpose or
// k.ID is not valid UTF-8 or holds a NUL byte, and when the database does
// not answer before ctx ends.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	if err := checkKey("add key", purpose, k); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, s.q.addKey, keyArgs(purpose, k)...)
	if uniqueViolation(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("pgstore: add key: %w", err)
	}
	return nil
}

// AddFirstKey adds k to purpose only when the purpose has no key, and
// returns store.ErrExists otherwise: of instances that start at once on
// an empty purpose, exactly one adds its key. It is one transaction under
// the purpose's advisory lock (see [Store.RotateKey]). It fails without
// adding when purpose or k.ID is not valid UTF-8 or holds a NUL byte, and
// when the database does not answer before ctx ends.
func (s *Store) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	if err := checkKey("add first key", purpose, k); err != nil {
		return err
	}
	return s.withKeyLock(ctx, "add first key", purpose, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.q.addFirstKey, keyArgs(purpose, k)...)
		switch {
		case uniqueViolation(err):
			// An AddKey of the same ID, which takes no lock, came first.
			return store.ErrExists
		case err != nil:
			return err
		case tag.RowsAffected() == 0:
			return store.ErrExists
		}
		return nil
	})
}

// RotateKey appends k to the keys of purpose and sets Retires to retire on
// every other key of purpose whose Retires is zero, in one transaction. It
// returns store.ErrExists, changing nothing, when the purpose has a key
// with k's ID.
//
// The transaction runs at READ COMMITTED, whatever the pool's default, and
// first takes a transaction-scoped advisory lock (pg_advisory_xact_lock)
// derived from the schema and the purpose, which AddFirstKey takes too:
// rotations of one purpose, from any instance, run one after the other,
// each seeing the keys the previous one added, so that every key but the
// newest is retired. It is four statements (BEGIN, the lock, the change,
// COMMIT). It fails without changing anything when purpose or k.ID is not
// valid UTF-8 or holds a NUL byte, and when the database does not answer
// before ctx ends.
func (s *Store) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	if err := checkKey("rotate key", purpose, k); err != nil {
		return err
	}
	return s.withKeyLock(ctx, "rotate key", purpose, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, s.q.rotateKey, append(keyArgs(purpose, k), nullTime(retire))...)
		if uniqueViolation(err) {
			return store.ErrExists
		}
		return err
	})
}

// ReplaceKeySecret sets the secret of the key of purpose named id to
// secret if it is still old (compared byte for byte), keeping its other
// fields and its place, in one statement. It returns store.ErrNotFound when
// the purpose has no such key (a purpose or id PostgreSQL text cannot hold
// included) and store.ErrConflict when its secret is no longer old, when
// a concurrent DeleteKey removed the key while the statement ran, or when,
// under REPEATABLE READ or SERIALIZABLE, a concurrent transaction changed
// the key: a caller that reads the keys again sees which. It fails,
// changing nothing, when the database does not answer before ctx ends.
func (s *Store) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	if !storable(purpose) || !storable(id) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pgstore: replace key secret: %w", err)
		}
		return store.ErrNotFound
	}
	var exists, changed bool
	err := s.pool.QueryRow(ctx, s.q.replaceKeySecret, purpose, id, nonNil(old), nonNil(secret)).Scan(&exists, &changed)
	switch {
	case serializationFailure(err):
		return store.ErrConflict
	case err != nil:
		return fmt.Errorf("pgstore: replace key secret: %w", err)
	case changed:
		return nil
	case exists:
		return store.ErrConflict
	}
	return store.ErrNotFound
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound when the purpose has no such key. It fails when the
// database does not answer before ctx ends.
func (s *Store) DeleteKey(ctx context.Context, purpose, id string) error {
	if !storable(purpose) || !storable(id) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pgstore: delete key: %w", err)
		}
		return store.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, s.q.deleteKey, purpose, id)
	return oneRow(tag, err, "delete key")
}

// StoreTime returns the database server's clock, by SELECT
// clock_timestamp(), to the microsecond: every instance sharing the
// database gets the same clock, whatever its own says. clock_timestamp()
// is the time the function runs; now() would be the time the surrounding
// transaction began, the same here, where the query is a transaction of
// its own, but stale inside a longer one. It fails when the database does
// not answer before ctx ends.
func (s *Store) StoreTime(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := s.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("pgstore: store time: %w", err)
	}
	return t, nil
}

// withKeyLock runs f in a READ COMMITTED transaction that holds the
// advisory lock of purpose's keys, and commits it if f returns nil. Under
// READ COMMITTED each statement sees what was committed before it began,
// so f's statements, which run after the lock is taken, see every key that
// the previous holder added. It returns f's sentinel errors as they are and
// wraps the others, with op, as pgstore errors.
func (s *Store) withKeyLock(ctx context.Context, op, purpose string, f func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	defer func() {
		// No effect after Commit. Bounded, in case the connection hangs.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tx.Rollback(rctx)
	}()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keysLockKey(s.q.schema, purpose)); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	if err := f(tx); err != nil {
		if errors.Is(err, store.ErrExists) {
			return err
		}
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return nil
}

// checkKey refuses a purpose or key ID that PostgreSQL text cannot hold.
func checkKey(op, purpose string, k store.Key) error {
	if !storable(purpose) {
		return errUnstorable(op, "the purpose")
	}
	if !storable(k.ID) {
		return errUnstorable(op, "the key id")
	}
	return nil
}

// keyArgs returns the parameters $1 to $6 of the statements that add k to
// purpose. A nil secret is sent as an empty one: the column is NOT NULL.
func keyArgs(purpose string, k store.Key) []any {
	return []any{purpose, k.ID, nonNil(k.Secret), k.Created.UnixNano(), nullTime(k.SignsFrom), nullTime(k.Retires)}
}
