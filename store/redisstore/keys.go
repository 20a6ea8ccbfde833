package redisstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/sessionkit/sessionkit/store"
)

// A purpose's keys live in two keys of one hash slot: a list of IDs in the
// order added and a hash from ID to "created:" followed by the secret
// (created in Unix nanoseconds). Scripts change and read both atomically.

// Keys returns the keys of purpose in the order they were added, in one
// script. It returns an empty slice, not an error, when there are none. The
// caller owns the returned secrets.
func (s *Store) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	ids, keys := s.purposeKeys(purpose)
	cmds, err := s.run(ctx, call{keysScript, []string{ids, keys}, nil})
	if err != nil {
		return nil, fmt.Errorf("redisstore: list keys: %w", err)
	}
	flat, err := cmds[0].StringSlice()
	if err != nil || len(flat)%2 != 0 {
		return nil, fmt.Errorf("redisstore: list keys: unexpected reply %v: %v", cmds[0].Val(), err)
	}
	out := make([]store.Key, 0, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		created, secret, ok := strings.Cut(flat[i+1], ":")
		t, err := parseNanos(created)
		if !ok || err != nil {
			return nil, fmt.Errorf("redisstore: list keys: malformed key %q of %q", flat[i], purpose)
		}
		out = append(out, store.Key{ID: flat[i], Secret: []byte(secret), Created: t})
	}
	return out, nil
}

// AddKey adds k after the keys of purpose, or returns store.ErrExists when
// the purpose has a key with the same ID. An ID that was deleted can be
// added again, and goes last.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	ids, keys := s.purposeKeys(purpose)
	v := nanos(k.Created) + ":" + string(k.Secret)
	cmds, err := s.run(ctx, call{addKeyScript, []string{ids, keys}, []any{k.ID, v}})
	if err != nil {
		return fmt.Errorf("redisstore: add key: %w", err)
	}
	if n, _ := cmds[0].Int64(); n == 0 {
		return store.ErrExists
	}
	return nil
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound when the purpose has no such key.
func (s *Store) DeleteKey(ctx context.Context, purpose, id string) error {
	ids, keys := s.purposeKeys(purpose)
	cmds, err := s.run(ctx, call{deleteKeyScript, []string{ids, keys}, []any{id}})
	if err != nil {
		return fmt.Errorf("redisstore: delete key: %w", err)
	}
	if n, _ := cmds[0].Int64(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}
