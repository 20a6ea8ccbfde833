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
	addCount      *sql.Stmt
	count         *sql.Stmt
	deleteCount   *sql.Stmt

	// A batch of saves (groupcommit.go) runs each after a savepoint.
	savepoint  *sql.Stmt
	release    *sql.Stmt
	rollbackTo *sql.Stmt
}

// The statements' SQL.
const (
	selectSessionSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ? AND expires > ?`

	// insertSessionSQL inserts a record, or takes over the row of an
	// expired record that cleanup has not deleted yet.
	insertSessionSQL = `INSERT INTO sessions (` + sessionColumns + `) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			user = excluded.user, data = excluded.data, version = 1,
			created = excluded.created, last_seen = excluded.last_seen,
			expires = excluded.expires, user_agent = excluded.user_agent,
			kind = excluded.kind, account_id = excluded.account_id,
			auth_time = excluded.auth_time
		WHERE sessions.expires <= ?`

	updateSessionSQL = `UPDATE sessions SET
			user = ?, data = ?, version = version + 1, created = ?,
			last_seen = ?, expires = ?, user_agent = ?,
			kind = ?, account_id = ?, auth_time = ?
		WHERE id = ? AND version = ? AND expires > ?`

	// touchSessionSQL is updateSessionSQL for the usual save, which
	// changes neither the owner nor the creation time nor the user agent:
	// it does not name those columns, so that SQLite leaves the index of
	// users alone and the commit writes one page fewer. It changes no row
	// when they differ. The kind, account id and auth time are in no
	// index: it sets them.
	touchSessionSQL = `UPDATE sessions SET
			data = ?, version = version + 1, last_seen = ?, expires = ?,
			kind = ?, account_id = ?, auth_time = ?
		WHERE id = ? AND version = ? AND expires > ?
			AND user = ? COLLATE BINARY AND created = ? AND user_agent = ?`

	deniedSQL = `SELECT COUNT(*) FROM deny_list WHERE id = ? AND until > ?`

	denySQL = `INSERT INTO deny_list (id, until) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET until = MAX(until, excluded.until)`

	selectUserSQL = `SELECT ` + userColumns + ` FROM users WHERE name = ?`

	// addCountSQL adds ?2 to the counter ?1 at time ?3 in one statement,
	// so that concurrent adds, from any connection or process, each see
	// the value they made. A row that has expired, or whose count fell to
	// zero or below, is no counter: the add starts it over, expiring at ?4
	// (now plus the window). A live row keeps its expiry.
	addCountSQL = `INSERT INTO counters (key, count, expires) VALUES (?1, ?2, ?4)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN counters.expires > ?3 AND counters.count > 0
				THEN counters.count + excluded.count ELSE excluded.count END,
			expires = CASE WHEN counters.expires > ?3 AND counters.count > 0
				THEN counters.expires ELSE excluded.expires END
		RETURNING count, expires`

	countSQL = `SELECT count, expires FROM counters WHERE key = ? AND expires > ? AND count > 0`

	deleteCountSQL = `DELETE FROM counters WHERE key = ?`

	savepointSQL  = `SAVEPOINT save`
	releaseSQL    = `RELEASE save`
	rollbackToSQL = `ROLLBACK TO save`
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
		{&st.addCount, w, addCountSQL},
		{&st.count, r, countSQL},
		{&st.deleteCount, w, deleteCountSQL},
		{&st.savepoint, w, savepointSQL},
		{&st.release, w, releaseSQL},
		{&st.rollbackTo, w, rollbackToSQL},
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
	for _, s := range []*sql.Stmt{st.session, st.insertSession, st.updateSession, st.touchSession, st.denied, st.deny, st.user,
		st.addCount, st.count, st.deleteCount, st.savepoint, st.release, st.rollbackTo} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// txStatements are the statements of a batch of saves, bound to its
// transaction.
type txStatements struct {
	insertSession, touchSession, updateSession *sql.Stmt
	savepoint, release, rollbackTo             *sql.Stmt
}

// inTx binds the statements of a batch of saves to tx. They are closed
// when tx ends.
func (st *statements) inTx(ctx context.Context, tx *sql.Tx) txStatements {
	return txStatements{
		insertSession: tx.StmtContext(ctx, st.insertSession),
		touchSession:  tx.StmtContext(ctx, st.touchSession),
		updateSession: tx.StmtContext(ctx, st.updateSession),
		savepoint:     tx.StmtContext(ctx, st.savepoint),
		release:       tx.StmtContext(ctx, st.release),
		rollbackTo:    tx.StmtContext(ctx, st.rollbackTo),
	}
}
