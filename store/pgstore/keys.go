package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// Keys returns the keys of purpose in the order they were added (not by
// Created): the order the caller rotated them in. It returns an empty
// slice when there are none. The secrets are the caller's own copies.
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
		if err := rows.Scan(&k.ID, &k.Secret, &created); err != nil {
			return nil, fmt.Errorf("pgstore: list keys: %w", err)
		}
		k.Created = time.Unix(0, created)
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
// k.ID is not valid UTF-8 or holds a NUL byte.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	if !storable(purpose) {
		return errUnstorable("add key", "the purpose")
	}
	if !storable(k.ID) {
		return errUnstorable("add key", "the key id")
	}
	secret := k.Secret
	if secret == nil {
		secret = []byte{} // the column is NOT NULL
	}
	_, err := s.pool.Exec(ctx, s.q.addKey, purpose, k.ID, secret, k.Created.UnixNano())
	if uniqueViolation(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("pgstore: add key: %w", err)
	}
	return nil
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound when the purpose has no such key.
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
