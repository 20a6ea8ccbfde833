package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
// single HSETNX. A value is "@len(id):id" followed by
// "created:updated:len(name):name" and the password hash, times in Unix
// nanoseconds: binary-safe, and the name keeps the spelling it was created
// with. An account written before accounts had ids lacks the "@len(id):id"
// part; the first read gives it one (see assignIDs).

// CreateUser adds u, or returns store.ErrExists when an account with the same
// name (compared case-insensitively in ASCII) exists. Of concurrent creations
// of one name exactly one succeeds. It fails without adding when u.ID is
// empty.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return errors.New("redisstore: create user: the account id is empty")
	}
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
// store.ErrNotFound. It costs one command, and a script more the first
// time an account written before accounts had ids is read: that gives it
// one. Any other error means Redis did not answer (or ctx ended first).
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	folded := store.FoldName(name)
	v, err := s.client.HGet(ctx, s.usersKey(), folded).Result()
	if errors.Is(err, redis.Nil) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("redisstore: get user: %w", err)
	}
	u, hasID, err := decodeUser(v)
	if err != nil {
		return store.User{}, fmt.Errorf("redisstore: get user %q: %w", name, err)
	}
	if hasID {
		return u, nil
	}
	vs, err := s.assignIDs(ctx, []string{folded})
	if err != nil {
		return store.User{}, fmt.Errorf("redisstore: get user: %w", err)
	}
	if vs[0] == nil {
		return store.User{}, store.ErrNotFound // deleted meanwhile
	}
	if u, _, err = decodeUser(*vs[0]); err != nil {
		return store.User{}, fmt.Errorf("redisstore: get user %q: %w", name, err)
	}
	return u, nil
}

// assignIDs gives each account named (folded) that has no id a new random
// one, in one script, so that of concurrent readers one assigns it and all
// read the same, and returns the accounts as they then are: nil for one
// that does not exist.
func (s *Store) assignIDs(ctx context.Context, folded []string) ([]*string, error) {
	args := make([]any, 0, 2*len(folded))
	for _, f := range folded {
		args = append(args, f, newAccountID())
	}
	cmds, err := s.run(ctx, call{assignIDsScript, []string{s.usersKey()}, args})
	if err != nil {
		return nil, err
	}
	res, err := cmds[0].Slice()
	if err != nil || len(res) != len(folded) {
		return nil, fmt.Errorf("unexpected reply %v: %v", cmds[0].Val(), err)
	}
	out := make([]*string, len(res))
	for i, r := range res {
		if v, ok := r.(string); ok {
			out[i] = &v
		}
	}
	return out, nil
}

// newAccountID returns a random account id, for an account written before
// accounts had ids: 32 hex digits.
func newAccountID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SetPasswordHash replaces the password hash of the account named name and
// sets its Updated time, in one script; the account keeps its ID. It
// returns store.ErrNotFound when there is no such account.
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

// DeleteUser removes the account named name and its passkeys, in one
// script over the accounts' hash and the two passkey hashes (one hash
// slot), or returns store.ErrNotFound. It does not remove the user's
// sessions: see DeleteUserSessions.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	passkeys, accounts := s.passkeyKeys()
	cmds, err := s.run(ctx, call{deleteUserScript, []string{s.usersKey(), passkeys, accounts},
		[]any{store.FoldName(name)}})
	if err != nil {
		return fmt.Errorf("redisstore: delete user: %w", err)
	}
	if n, _ := cmds[0].Int64(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ListUsers returns every account, ordered by name compared
// case-insensitively. It reads them all in one command, and gives those
// written before accounts had ids one, in one script.
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
	var noID []int     // indexes in out
	var names []string // and their fields
	for _, k := range folded {
		u, hasID, err := decodeUser(m[k])
		if err != nil {
			return nil, fmt.Errorf("redisstore: list users: %q: %w", k, err)
		}
		if !hasID {
			noID, names = append(noID, len(out)), append(names, k)
		}
		out = append(out, u)
	}
	if len(noID) == 0 {
		return out, nil
	}
	vs, err := s.assignIDs(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("redisstore: list users: %w", err)
	}
	gone := map[int]bool{}
	for i, j := range noID {
		if vs[i] == nil {
			gone[j] = true // deleted meanwhile
			continue
		}
		if out[j], _, err = decodeUser(*vs[i]); err != nil {
			return nil, fmt.Errorf("redisstore: list users: %q: %w", names[i], err)
		}
	}
	if len(gone) > 0 {
		kept := out[:0]
		for j, u := range out {
			if !gone[j] {
				kept = append(kept, u)
			}
		}
		out = kept
	}
	return out, nil
}

func encodeUser(u store.User) string {
	var b strings.Builder
	b.WriteByte('@')
	b.WriteString(strconv.Itoa(len(u.ID)))
	b.WriteByte(':')
	b.WriteString(u.ID)
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

// decodeUser reads an account written by encodeUser, or by a version that
// gave accounts no id: then hasID is false and u.ID empty.
func decodeUser(v string) (u store.User, hasID bool, err error) {
	bad := errors.New("malformed account")
	if rest, ok := strings.CutPrefix(v, "@"); ok {
		n, rest, ok := strings.Cut(rest, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size < 0 || size > len(rest) {
			return store.User{}, false, bad
		}
		u.ID, v, hasID = rest[:size], rest[size:], true
	}
	created, rest, ok1 := strings.Cut(v, ":")
	updated, rest, ok2 := strings.Cut(rest, ":")
	n, rest, ok3 := strings.Cut(rest, ":")
	size, err := strconv.Atoi(n)
	if !ok1 || !ok2 || !ok3 || err != nil || size < 0 || size > len(rest) {
		return store.User{}, false, bad
	}
	u.Name, u.PasswordHash = rest[:size], rest[size:]
	if u.Created, err = parseNanos(created); err != nil {
		return store.User{}, false, bad
	}
	if u.Updated, err = parseNanos(updated); err != nil {
		return store.User{}, false, bad
	}
	return u, hasID, nil
}
