package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessionkit/sessionkit/store"
)

// CreateUser adds u, or returns store.ErrExists when the name (compared
// case-insensitively) is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO users (name, password_hash, created, updated) VALUES (?, ?, ?, ?)`,
		u.Name, u.PasswordHash, u.Created.UnixNano(), u.Updated.UnixNano())
	if isConstraint(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: create user: %w", err)
	}
	return nil
}

// User returns the account named name, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	var u store.User
	var created, updated int64
	err := s.stmts.user.QueryRowContext(ctx, name).Scan(&u.Name, &u.PasswordHash, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlitestore: get user: %w", err)
	}
	u.Created, u.Updated = time.Unix(0, created), time.Unix(0, updated)
	return u, nil
}

// SetPasswordHash replaces the password hash of name, or returns
// store.ErrNotFound.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE users SET password_hash = ?, updated = ? WHERE name = ?`, hash, updated.UnixNano(), name)
	return oneRow(res, err, "set password")
}

// DeleteUser removes the account named name, or returns store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	return oneRow(res, err, "delete user")
}

// ListUsers returns every account ordered by name (case-insensitively).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT name, password_hash, created, updated FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		var u store.User
		var created, updated int64
		if err := rows.Scan(&u.Name, &u.PasswordHash, &created, &updated); err != nil {
			return nil, fmt.Errorf("sqlitestore: list users: %w", err)
		}
		u.Created, u.Updated = time.Unix(0, created), time.Unix(0, updated)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list users: %w", err)
	}
	return out, nil
}

// oneRow turns the result of a statement that must touch exactly one row
// into store.ErrNotFound when it touched none.
func oneRow(res sql.Result, err error, op string) error {
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// isConstraint reports whether err is a uniqueness or primary-key violation.
func isConstraint(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
