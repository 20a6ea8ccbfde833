package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// Keys returns the keys of purpose, oldest first.
func (s *Store) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, secret, created FROM keys WHERE purpose = ? ORDER BY seq`, purpose)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list keys: %w", err)
	}
	defer rows.Close()
	out := []store.Key{}
	for rows.Next() {
		var k store.Key
		var created int64
		if err := rows.Scan(&k.ID, &k.Secret, &created); err != nil {
			return nil, fmt.Errorf("sqlitestore: list keys: %w", err)
		}
		k.Created = time.Unix(0, created)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list keys: %w", err)
	}
	return out, nil
}

// AddKey appends k to the keys of purpose, or returns store.ErrExists when
// the purpose has a key with the same ID.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO keys (purpose, id, secret, created, seq)
		 VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM keys WHERE purpose = ?))`,
		purpose, k.ID, k.Secret, k.Created.UnixNano(), purpose)
	if isConstraint(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: add key: %w", err)
	}
	return nil
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound.
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
