package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// A purpose's keys live in two keys of one hash slot: a list of IDs in the
// order added and a hash from ID to the key: "@created:signs:retires:"
// followed by the secret (times in Unix nanoseconds; signs and retires ""
// for the zero time). A key written before keys had SignsFrom and Retires
// is "created:" followed by the secret, and reads back with neither;
// RotateKey rewrites it in the new layout when it retires it. Scripts
// change and read both keys atomically.

var (
	_ store.Keys  = (*Store)(nil)
	_ store.Clock = (*Store)(nil)
)

// Keys returns the keys of purpose in the order they were added, in one
// script. It returns an empty slice, not an error, when there are none. The
// caller owns the returned secrets. It fails when Redis does not answer
// before ctx ends, or holds a key it cannot read.
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
		k, err := decodeKey(flat[i], flat[i+1])
		if err != nil {
			return nil, fmt.Errorf("redisstore: list keys: malformed key %q of %q: %w", flat[i], purpose, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// AddKey adds k after the keys of purpose, or returns store.ErrExists when
// the purpose has a key with the same ID. An ID that was deleted can be
// added again, and goes last. It fails when Redis does not answer before
// ctx ends.
func (s *Store) AddKey(ctx context.Context, purpose string, k store.Key) error {
	ids, keys := s.purposeKeys(purpose)
	cmds, err := s.run(ctx, call{addKeyScript, []string{ids, keys}, []any{k.ID, encodeKey(k)}})
	if err != nil {
		return fmt.Errorf("redisstore: add key: %w", err)
	}
	if n, _ := cmds[0].Int64(); n == 0 {
		return store.ErrExists
	}
	return nil
}

// AddFirstKey adds k to purpose only when the purpose has no key, in one
// script, and returns store.ErrExists otherwise: of instances that start
// at once on an empty purpose, exactly one adds its key. A call that
// go-redis sent again, after the reply to the first was lost, reports
// ErrExists though its key was added: the caller reads the keys, as any
// loser does, and finds its own. It fails when Redis does not answer
// before ctx ends.
func (s *Store) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	ids, keys := s.purposeKeys(purpose)
	cmds, err := s.run(ctx, call{addFirstKeyScript, []string{ids, keys}, []any{k.ID, encodeKey(k)}})
	if err != nil {
		return fmt.Errorf("redisstore: add first key: %w", err)
	}
	if n, _ := cmds[0].Int64(); n == 0 {
		return store.ErrExists
	}
	return nil
}

// RotateKey adds k after the keys of purpose and sets Retires to retire on
// every other key of purpose whose Retires is zero, in one script. It
// returns store.ErrExists, changing nothing, when the purpose has a key
// with k's ID; a call that go-redis sent again, after the reply to the
// first was lost, reports ErrExists too, though the first was applied
// (the keys then hold k, newest). It fails, changing nothing, when Redis
// does not answer before ctx ends or holds a key of purpose it cannot read.
func (s *Store) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	ids, keys := s.purposeKeys(purpose)
	cmds, err := s.run(ctx, call{rotateKeyScript, []string{ids, keys}, []any{k.ID, encodeKey(k), optNanos(retire)}})
	if err != nil {
		return fmt.Errorf("redisstore: rotate key: %w", err)
	}
	if n, _ := cmds[0].Int64(); n == 0 {
		return store.ErrExists
	}
	return nil
}

// ReplaceKeySecret sets the secret of the key of purpose named id to
// secret if it is still old (compared byte for byte), keeping its other
// fields and its place, in one script. It returns store.ErrNotFound when
// the purpose has no such key and store.ErrConflict when its secret is no
// longer old (a call go-redis sent again after the reply to the first was
// lost included: the caller reads the key and finds its secret). It fails,
// changing nothing, when Redis does not answer before ctx ends.
func (s *Store) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	_, keys := s.purposeKeys(purpose)
	cmds, err := s.run(ctx, call{replaceKeySecretScript, []string{keys}, []any{id, old, secret}})
	if err != nil {
		return fmt.Errorf("redisstore: replace key secret: %w", err)
	}
	switch n, _ := cmds[0].Int64(); n {
	case 1:
		return nil
	case 2:
		return store.ErrConflict
	}
	return store.ErrNotFound
}

// DeleteKey removes the key of purpose named id, or returns
// store.ErrNotFound when the purpose has no such key. It fails when Redis
// does not answer before ctx ends.
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

// StoreTime returns the Redis server's clock, by the TIME command, to the
// microsecond: every instance sharing the store gets the same clock,
// whatever its own says. On a Cluster the command goes to one of its
// nodes, whose clocks should agree (Redis itself relies on that for
// expiry); behind Sentinels, to the primary. It fails when Redis does not
// answer before ctx ends.
func (s *Store) StoreTime(ctx context.Context) (time.Time, error) {
	t, err := s.client.Time(ctx).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("redisstore: store time: %w", err)
	}
	return t, nil
}

// encodeKey returns k as its purpose's hash keeps it.
func encodeKey(k store.Key) string {
	return "@" + nanos(k.Created) + ":" + optNanos(k.SignsFrom) + ":" + optNanos(k.Retires) + ":" + string(k.Secret)
}

// decodeKey reads the key named id, written by encodeKey or, without
// SignsFrom and Retires, by earlier versions.
func decodeKey(id, v string) (store.Key, error) {
	k := store.Key{ID: id}
	var created, signs, retires, secret string
	if rest, ok := strings.CutPrefix(v, "@"); ok {
		var ok1, ok2, ok3 bool
		created, rest, ok1 = strings.Cut(rest, ":")
		signs, rest, ok2 = strings.Cut(rest, ":")
		retires, secret, ok3 = strings.Cut(rest, ":")
		if !ok1 || !ok2 || !ok3 {
			return store.Key{}, errors.New("too few fields")
		}
	} else {
		var ok bool
		created, secret, ok = strings.Cut(v, ":")
		if !ok {
			return store.Key{}, errors.New("no creation time")
		}
	}
	var err1, err2, err3 error
	k.Created, err1 = parseNanos(created)
	k.SignsFrom, err2 = parseOptNanos(signs)
	k.Retires, err3 = parseOptNanos(retires)
	if err := errors.Join(err1, err2, err3); err != nil {
		return store.Key{}, err
	}
	k.Secret = []byte(secret)
	return k, nil
}
