package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AddCount adds delta to the counter key and returns its new value and
// expiry, in one statement: of concurrent adds, from any connection or
// process, each sees the value its own delta made. A missing or expired
// counter starts from zero and expires window from now; a live one keeps
// its expiry. A counter whose value falls to zero or below is removed.
// An error means the database did not answer (or ctx ended first); the
// add may then have been made or not.
func (s *Store) AddCount(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Time, error) {
	now := s.now()
	var n, expires int64
	err := s.stmts.addCount.QueryRowContext(ctx, []byte(key), delta, now.UnixNano(), now.Add(window).UnixNano()).
		Scan(&n, &expires)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlitestore: add count: %w", err)
	}
	if n <= 0 {
		// The row is no counter any more to every statement (they all want
		// count > 0); this only tidies it away. Should it fail, or race an
		// add that starts the counter over, cleanup deletes the row when it
		// expires.
		_, _ = s.w.ExecContext(ctx, `DELETE FROM counters WHERE key = ? AND count <= 0`, []byte(key))
	}
	return n, time.Unix(0, expires), nil
}

// Count returns the value and expiry of the live counter key, or 0 and the
// zero time when there is none. An error means the database did not answer
// (or ctx ended first).
func (s *Store) Count(ctx context.Context, key string) (int64, time.Time, error) {
	var n, expires int64
	err := s.stmts.count.QueryRowContext(ctx, []byte(key), s.now().UnixNano()).Scan(&n, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlitestore: count: %w", err)
	}
	return n, time.Unix(0, expires), nil
}

// DeleteCount removes the counter key; a missing counter is not an error.
// An error means the database did not answer (or ctx ended first).
func (s *Store) DeleteCount(ctx context.Context, key string) error {
	if _, err := s.stmts.deleteCount.ExecContext(ctx, []byte(key)); err != nil {
		return fmt.Errorf("sqlitestore: delete count: %w", err)
	}
	return nil
}
