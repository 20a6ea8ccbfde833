package sqlitestore

import (
	"context"
	"fmt"
	"time"
)

// Deny refuses id until the time until; a second call keeps the later time.
func (s *Store) Deny(ctx context.Context, id string, until time.Time) error {
	_, err := s.stmts.deny.ExecContext(ctx, id, until.UnixNano())
	if err != nil {
		return fmt.Errorf("sqlitestore: deny: %w", err)
	}
	return nil
}

// Denied reports whether id is refused now.
func (s *Store) Denied(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.stmts.denied.QueryRowContext(ctx, id, s.now().UnixNano()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: denied: %w", err)
	}
	return n > 0, nil
}
