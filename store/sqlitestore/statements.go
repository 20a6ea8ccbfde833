package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// statements are the statements of every request's path, prepared once:
// SQLite compiles the SQL of an unprepared call every time, which was a
// fifth of the server's CPU on a session view. Reads are prepared on the
// readers' pool, writes on the writer.
type statements struct {
	session       *sql.Stmt
	insertSession *sql.Stmt
	updateSession *sql.Stmt
	touchSession  *sql.Stmt
	denied        *sql.Stmt
	deny          *sql.Stmt
	user          *sql.Stmt
}

// The statements' SQL.
const (
	selectSessionSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ? AND expires > ?`

	// insertSessionSQL inserts a record, or takes over the row of an
	// expired record that cleanup has not deleted yet.
	insertSessionSQL = `INSERT INTO sessions (` + sessionColumns + `) VALUES (?, ?, ?, 1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			user = excluded.user, data = excluded.data, version = 1,
			created = excluded.created, last_seen = excluded.last_seen,
			expires = excluded.expires, user_agent = excluded.user_agent
		WHERE sessions.expires <= ?`

	updateSessionSQL = `UPDATE sessions SET
			user = ?, data = ?, version = version + 1, created = ?,
			last_seen = ?, expires = ?, user_agent = ?
		WHERE id = ? AND version = ? AND expires > ?`

	// touchSessionSQL is updateSessionSQL for the usual save, which
	// changes neither the owner nor the creation time nor the user agent:
	// it does not name those columns, so that SQLite leaves the index of
	// users alone and the commit writes one page fewer. It changes no row
	// when they differ.
	touchSessionSQL = `UPDATE sessions SET
			data = ?, version = version + 1, last_seen = ?, expires = ?
		WHERE id = ? AND version = ? AND expires > ?
			AND user = ? COLLATE BINARY AND created = ? AND user_agent = ?`

	deniedSQL = `SELECT COUNT(*) FROM deny_list WHERE id = ? AND until > ?`

	denySQL = `INSERT INTO deny_list (id, until) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET until = MAX(until, excluded.until)`

	selectUserSQL = `SELECT name, password_hash, created, updated FROM users WHERE name = ?`
)

// prepare prepares the statements, reads on r and writes on w.
func prepare(ctx context.Context, r, w *sql.DB) (*statements, error) {
	st := &statements{}
	for _, p := range []struct {
		dst *(*sql.Stmt)
		db  *sql.DB
		sql string
	}{
		{&st.session, r, selectSessionSQL},
		{&st.insertSession, w, insertSessionSQL},
		{&st.updateSession, w, updateSessionSQL},
		{&st.touchSession, w, touchSessionSQL},
		{&st.denied, r, deniedSQL},
		{&st.deny, w, denySQL},
		{&st.user, r, selectUserSQL},
	} {
		s, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("sqlitestore: preparing statements: %w", err)
		}
		*p.dst = s
	}
	return st, nil
}

// close closes every statement that was prepared.
func (st *statements) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{st.session, st.insertSession, st.updateSession, st.touchSession, st.denied, st.deny, st.user} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
