package memstore

import (
	"context"
	"time"
)

// Deny refuses id until the time until; a second call keeps the later time.
func (s *Store) Deny(ctx context.Context, id string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.deny[id]; !ok || until.After(cur) {
		s.deny[id] = until
	}
	return nil
}

// Denied reports whether id is refused now.
func (s *Store) Denied(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.RLock()
	until, ok := s.deny[id]
	s.mu.RUnlock()
	return ok && s.now().Before(until), nil
}
