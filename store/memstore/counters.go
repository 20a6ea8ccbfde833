package memstore

import (
	"context"
	"time"
)

// counter is a live or expired counter of store.Counters.
type counter struct {
	n       int64
	expires time.Time
}

// AddCount adds delta to the counter key and returns its new value and
// expiry. A missing or expired counter starts from zero and expires window
// from now; a live one keeps its expiry. A counter whose value falls to
// zero or below is removed. It returns ctx's error, changing nothing, if
// ctx has ended.
func (s *Store) AddCount(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.counters[key]
	if !ok || !now.Before(c.expires) {
		c = counter{expires: now.Add(window)}
	}
	c.n += delta
	if c.n <= 0 {
		delete(s.counters, key)
	} else {
		s.counters[key] = c
	}
	return c.n, c.expires, nil
}

// Count returns the value and expiry of the live counter key, or 0 and the
// zero time when there is none. It returns ctx's error if ctx has ended.
func (s *Store) Count(ctx context.Context, key string) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	now := s.now()
	s.mu.RLock()
	c, ok := s.counters[key]
	s.mu.RUnlock()
	if !ok || !now.Before(c.expires) {
		return 0, time.Time{}, nil
	}
	return c.n, c.expires, nil
}

// DeleteCount removes the counter key; a missing counter is not an error.
// It returns ctx's error, removing nothing, if ctx has ended.
func (s *Store) DeleteCount(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.counters, key)
	s.mu.Unlock()
	return nil
}
