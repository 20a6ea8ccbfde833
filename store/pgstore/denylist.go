package pgstore

import (
	"context"
	"fmt"
	"time"
)

// Deny refuses id until the time until, in one statement; denying an id
// again keeps the later of the two times. It fails without changing
// anything when id is not valid UTF-8 or holds a NUL byte.
func (s *Store) Deny(ctx context.Context, id string, until time.Time) error {
	if !storable(id) {
		return errUnstorable("deny", "the id")
	}
	if _, err := s.pool.Exec(ctx, s.q.deny, id, until.UnixNano()); err != nil {
		return fmt.Errorf("pgstore: deny: %w", err)
	}
	return nil
}

// Denied reports whether id is refused now, in one query. An error means
// the database did not answer (or ctx ended first): the caller must not
// take it as "not denied".
func (s *Store) Denied(ctx context.Context, id string) (bool, error) {
	if !storable(id) {
		// Deny refuses such ids, so none is on the list.
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("pgstore: denied: %w", err)
		}
		return false, nil
	}
	var denied bool
	if err := s.pool.QueryRow(ctx, s.q.denied, id, s.now().UnixNano()).Scan(&denied); err != nil {
		return false, fmt.Errorf("pgstore: denied: %w", err)
	}
	return denied, nil
}
