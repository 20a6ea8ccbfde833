package memstore

import (
	"context"
	"slices"

	"github.com/sessionkit/sessionkit/store"
)

// Keys returns the keys of purpose, oldest first.
func (s *Store) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := s.keys[purpose]
	out := make([]store.Key, len(keys))
	for i, k := range keys {
		out[i] = k
		out[i].Secret = slices.Clone(k.Secret)
	}
	return out, nil
}

// AddKey appends k to the keys of purpose, or returns store.ErrExists when
// the purpose has a key with the same ID.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.Secret = slices.Clone(k.Secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.keys[purpose] {
		if have.ID == k.ID {
			return store.ErrExists
		}
	}
	s.keys[purpose] = append(s.keys[purpose], k)
	return nil
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound.
func (s *Store) DeleteKey(ctx context.Context, purpose, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := s.keys[purpose]
	i := slices.IndexFunc(keys, func(k store.Key) bool { return k.ID == id })
	if i < 0 {
		return store.ErrNotFound
	}
	s.keys[purpose] = slices.Delete(keys, i, i+1)
	return nil
}
