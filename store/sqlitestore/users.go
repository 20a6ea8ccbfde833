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

// userColumns are the columns scanUser reads, in its order.
const userColumns = `id, name, password_hash, created, updated`

// CreateUser adds u, ID and all, or returns store.ErrExists when the name
// (compared case-insensitively) is taken. An ID that another account has
// is an error too, but not store.ErrExists: IDs are random and never
// reused, so it means the caller is broken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.PasswordHash, u.Created.UnixNano(), u.Updated.UnixNano())
	if constraintCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		// The name is the primary key: a unique index is the account id's.
		return fmt.Errorf("sqlitestore: create user: account id %q is taken: %w", u.ID, err)
	}
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
	u, err := scanUser(s.stmts.user.QueryRowContext(ctx, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlitestore: get user: %w", err)
	}
	return u, nil
}

// SetPasswordHash replaces the password hash and Updated time of name, or
// returns store.ErrNotFound. The account keeps its ID.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE users SET password_hash = ?, updated = ? WHERE name = ?`, hash, updated.UnixNano(), name)
	return oneRow(res, err, "set password")
}

// DeleteUser removes the account named name and its passkeys, in one
// transaction, or returns store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	defer tx.Rollback()
	var id string
	err = tx.QueryRowContext(ctx, `DELETE FROM users WHERE name = ? RETURNING id`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE account_id = ?`, id); err != nil {
		return fmt.Errorf("sqlitestore: delete user's passkeys: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	return nil
}

// ListUsers returns every account ordered by name (case-insensitively).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list users: %w", err)
	}
	return out, nil
}

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
	code := constraintCode(err)
	return code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// constraintCode returns the extended result code of err when it is a
// SQLite error, and 0 otherwise.
func constraintCode(err error) int {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return 0
	}
	return se.Code()
}
