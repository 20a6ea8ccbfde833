package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/store"
)

// Accounts live in one hash, keyed by folded name, so that CreateUser is a
// single HSETNX. A value is "created:updated:len(name):name" followed by the
// password hash, times in Unix nanoseconds: binary-safe, and the name keeps
// the spelling it was created with.

// CreateUser adds u, or returns store.ErrExists when an account with the same
// name (compared case-insensitively in ASCII) exists. Of concurrent creations
// of one name exactly one succeeds.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	ok, err := s.client.HSetNX(ctx, s.usersKey(), store.FoldName(u.Name), encodeUser(u)).Result()
	if err != nil {
		return fmt.Errorf("redisstore: create user: %w", err)
	}
	if !ok {
		return store.ErrExists
	}
	return nil
}

// User returns the account named name (compared case-insensitively), or
// store.ErrNotFound. Any other error means Redis did not answer (or ctx
// ended first).
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	v, err := s.client.HGet(ctx, s.usersKey(), store.FoldName(name)).Result()
	if errors.Is(err, redis.Nil) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("redisstore: get user: %w", err)
	}
	u, err := decodeUser(v)
	if err != nil {
		return store.User{}, fmt.Errorf("redisstore: get user %q: %w", name, err)
	}
	return u, nil
}

// SetPasswordHash replaces the password hash of the account named name and
// sets its Updated time, in one script. It returns store.ErrNotFound when
// there is no such account.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	cmds, err := s.run(ctx, call{setPasswordScript, []string{s.usersKey()}, []any{store.FoldName(name), hash, nanos(updated)}})
	if err != nil {
		return fmt.Errorf("redisstore: set password: %w", err)
	}
	if n, _ := cmds[0].Int64(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteUser removes the account named name, or returns store.ErrNotFound.
// It does not remove the user's sessions: see DeleteUserSessions.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	n, err := s.client.HDel(ctx, s.usersKey(), store.FoldName(name)).Result()
	if err != nil {
		return fmt.Errorf("redisstore: delete user: %w", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ListUsers returns every account, ordered by name compared
// case-insensitively. It reads them all in one command.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	m, err := s.client.HGetAll(ctx, s.usersKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list users: %w", err)
	}
	folded := make([]string, 0, len(m))
	for k := range m {
		folded = append(folded, k)
	}
	slices.Sort(folded)
	out := make([]store.User, 0, len(m))
	for _, k := range folded {
		u, err := decodeUser(m[k])
		if err != nil {
			return nil, fmt.Errorf("redisstore: list users: %q: %w", k, err)
		}
		out = append(out, u)
	}
	return out, nil
}

func encodeUser(u store.User) string {
	var b strings.Builder
	b.WriteString(nanos(u.Created))
	b.WriteByte(':')
	b.WriteString(nanos(u.Updated))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(len(u.Name)))
	b.WriteByte(':')
	b.WriteString(u.Name)
	b.WriteString(u.PasswordHash)
	return b.String()
}

func decodeUser(v string) (store.User, error) {
	bad := errors.New("malformed account")
	created, rest, ok1 := strings.Cut(v, ":")
	updated, rest, ok2 := strings.Cut(rest, ":")
	n, rest, ok3 := strings.Cut(rest, ":")
	size, err := strconv.Atoi(n)
	if !ok1 || !ok2 || !ok3 || err != nil || size < 0 || size > len(rest) {
		return store.User{}, bad
	}
	u := store.User{Name: rest[:size], PasswordHash: rest[size:]}
	if u.Created, err = parseNanos(created); err != nil {
		return store.User{}, bad
	}
	if u.Updated, err = parseNanos(updated); err != nil {
		return store.User{}, bad
	}
	return u, nil
}
