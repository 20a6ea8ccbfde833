package memstore

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

var (
	_ store.Keys  = (*Store)(nil)
	_ store.Clock = (*Store)(nil)
)

// Keys returns the keys of purpose, oldest (first added) first, or an
// empty slice when there are none. The caller owns the returned secrets.
// It returns ctx's error if ctx has ended.
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
// the purpose has a key with the same ID. It returns ctx's error, adding
// nothing, if ctx has ended.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.Secret = slices.Clone(k.Secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keyIndex(purpose, k.ID) >= 0 {
		return store.ErrExists
	}
	s.keys[purpose] = append(s.keys[purpose], k)
	return nil
}

// AddFirstKey adds k to purpose only when the purpose has no key, under
// the store's lock: of concurrent calls on an empty purpose exactly one
// succeeds, and the others get store.ErrExists. It returns ctx's error,
// adding nothing, if ctx has ended.
func (s *Store) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.Secret = slices.Clone(k.Secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys[purpose]) > 0 {
		return store.ErrExists
	}
	s.keys[purpose] = []store.Key{k}
	return nil
}

// RotateKey appends k to the keys of purpose and, under the same lock,
// sets Retires to retire on every other key of purpose whose Retires is
// zero. It returns store.ErrExists, changing nothing, when the purpose has
// a key with k's ID, and ctx's error, changing nothing, if ctx has ended.
func (s *Store) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.Secret = slices.Clone(k.Secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keyIndex(purpose, k.ID) >= 0 {
		return store.ErrExists
	}
	keys := s.keys[purpose]
	for i := range keys {
		if keys[i].Retires.IsZero() {
			keys[i].Retires = retire
		}
	}
	s.keys[purpose] = append(keys, k)
	return nil
}

// ReplaceKeySecret sets the secret of the key of purpose named id to
// secret if it is still old (compared byte for byte), keeping its other
// fields and its place. It returns store.ErrNotFound when the purpose has
// no such key, store.ErrConflict when its secret is no longer old, and
// ctx's error, changing nothing, if ctx has ended.
func (s *Store) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	secret = slices.Clone(secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.keyIndex(purpose, id)
	if i < 0 {
		return store.ErrNotFound
	}
	k := &s.keys[purpose][i]
	if !bytes.Equal(k.Secret, old) {
		return store.ErrConflict
	}
	k.Secret = secret
	return nil
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound. It returns ctx's error, removing nothing, if ctx has
// ended.
func (s *Store) DeleteKey(ctx context.Context, purpose, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.keyIndex(purpose, id)
	if i < 0 {
		return store.ErrNotFound
	}
	s.keys[purpose] = slices.Delete(s.keys[purpose], i, i+1)
	return nil
}

// StoreTime returns the store's clock: Options.Now, or time.Now when it
// is nil. A memory store has one process, so every caller shares that
// clock. It returns ctx's error if ctx has ended.
func (s *Store) StoreTime(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return s.now(), nil
}

// keyIndex returns the index of the key of purpose named id in s.keys,
// or -1 when there is none. The caller holds s.mu.
func (s *Store) keyIndex(purpose, id string) int {
	return slices.IndexFunc(s.keys[purpose], func(k store.Key) bool { return k.ID == id })
}
