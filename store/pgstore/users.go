package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionkit/sessionkit/store"
)

// CreateUser adds u, or returns store.ErrExists when the name (compared
// case-insensitively, ASCII only) is taken. It fails without adding when
// u.ID is empty or another account has it, or when u.ID, u.Name or
// u.PasswordHash is not valid UTF-8 or holds a NUL byte.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return errors.New("pgstore: create user: the account id is empty")
	}
	if !storable(u.ID) {
		return errUnstorable("create user", "the account id")
	}
	if !storable(u.Name) {
		return errUnstorable("create user", "the name")
	}
	if !storable(u.PasswordHash) {
		return errUnstorable("create user", "the password hash")
	}
	_, err := s.pool.Exec(ctx, s.q.createUser,
		store.FoldName(u.Name), u.Name, u.PasswordHash, u.Created.UnixNano(), u.Updated.UnixNano(), u.ID)
	if uniqueViolation(err) {
		// Account ids are random: one taken is a caller's bug, not a
		// name someone else registered.
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.ConstraintName == userIDConstraint {
			return fmt.Errorf("pgstore: create user: another account has the id %q", u.ID)
		}
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("pgstore: create user: %w", err)
	}
	return nil
}

// User returns the account named name (compared case-insensitively), or
// store.ErrNotFound. Any other error means the database did not answer (or
// ctx ended first).
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	if !storable(name) {
		if err := ctx.Err(); err != nil {
			return store.User{}, fmt.Errorf("pgstore: get user: %w", err)
		}
		return store.User{}, store.ErrNotFound
	}
	u, err := scanUser(s.pool.QueryRow(ctx, s.q.user, store.FoldName(name)))
	if errNoRows(err) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("pgstore: get user: %w", err)
	}
	return u, nil
}

// SetPasswordHash replaces the password hash of name and sets its Updated
// time, or returns store.ErrNotFound when there is no such account. The
// account keeps its ID. It fails without changing anything when hash is
// not valid UTF-8 or holds a NUL byte.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	if !storable(hash) {
		return errUnstorable("set password", "the password hash")
	}
	if !storable(name) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pgstore: set password: %w", err)
		}
		return store.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, s.q.setPasswordHash, hash, updated.UnixNano(), store.FoldName(name))
	return oneRow(tag, err, "set password")
}

// DeleteUser removes the account named name and its passkeys, in one
// statement, or returns store.ErrNotFound. It leaves the account's
// sessions alone (see DeleteUserSessions).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	if !storable(name) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pgstore: delete user: %w", err)
		}
		return store.ErrNotFound
	}
	var n int64
	err := retrySerialization(ctx, func() error {
		return s.pool.QueryRow(ctx, s.q.deleteUser, store.FoldName(name)).Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("pgstore: delete user: %w", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ListUsers returns every account ordered by name (case-insensitively,
// bytewise after folding ASCII letters, whatever the database's locale).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, s.q.listUsers)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list users: %w", err)
	}
	defer rows.Close()
	out := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list users: %w", err)
	}
	return out, nil
}

// userIDConstraint is the unique constraint on account ids.
const userIDConstraint = "sessionkit_users_id"

// scanUser reads one row of userColumns.
func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Name, &u.PasswordHash, &created, &updated); err != nil {
		return store.User{}, err
	}
	u.Created, u.Updated = time.Unix(0, created), time.Unix(0, updated)
	return u, nil
}

// oneRow turns the result of a statement that must touch exactly one row
// into store.ErrNotFound when it touched none.
func oneRow(tag pgconn.CommandTag, err error, op string) error {
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}
