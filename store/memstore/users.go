package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// CreateUser adds u, ID and all, or returns store.ErrExists when the name
// (compared case-insensitively) is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := store.FoldName(u.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[k]; ok {
		return store.ErrExists
	}
	s.users[k] = u
	return nil
}

// User returns the account named name, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	if err := ctx.Err(); err != nil {
		return store.User{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[store.FoldName(name)]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

// SetPasswordHash replaces the password hash and Updated time of name, or
// returns store.ErrNotFound. The account keeps its ID.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := store.FoldName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[k]
	if !ok {
		return store.ErrNotFound
	}
	u.PasswordHash = hash
	u.Updated = updated
	s.users[k] = u
	return nil
}

// DeleteUser removes the account named name and, in the same step, its
// passkeys, or returns store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := store.FoldName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[k]
	if !ok {
		return store.ErrNotFound
	}
	delete(s.users, k)
	s.deleteAccountPasskeys(u.ID)
	return nil
}

// ListUsers returns every account ordered by name (case-insensitively).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]store.User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b store.User) int {
		return strings.Compare(store.FoldName(a.Name), store.FoldName(b.Name))
	})
	return out, nil
}
