package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// sessionColumns are the columns scanRecord reads, in its order.
const sessionColumns = `id, user, data, version, created, last_seen, expires, user_agent, kind, account_id, auth_time`

// Session returns the record named id, or store.ErrNotFound when there is
// none or it has expired. Any other error means the database did not answer
// (or ctx ended first).
func (s *Store) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	row := s.stmts.session.QueryRowContext(ctx, id[:], s.now().UnixNano())
	r, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("sqlitestore: get session: %w", err)
	}
	return r, nil
}

// SaveSession stores r if the stored record still has version r.Version (0:
// no live record named r.ID exists) and returns the new version, r.Version+1.
// Otherwise it changes nothing and returns store.ErrConflict. Of concurrent
// saves naming the same version exactly one succeeds, across connections
// and processes.
//
// Saves that arrive together share one transaction (see the package
// documentation): SaveSession returns once the transaction that holds its
// save has committed, so a save it reports is as durable as a commit is.
// Any other error means nothing was saved: the database did not answer,
// the transaction failed, or ctx ended before the save's turn came. Once
// its turn has come, the save is made or not with the others of its
// transaction, whatever ctx does meanwhile.
func (s *Store) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	if r.Version >= math.MaxInt64 {
		// No stored record reaches this version: versions are SQLite
		// integers, and this one could not be incremented.
		return 0, store.ErrConflict
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sqlitestore: save session: %w", err)
	}
	return s.commitSave(&save{Ctx: ctx, Value: r})
}

// compareAndSwap runs the statements of one save of r at time now (Unix
// nanoseconds) in st's transaction, and returns the new version, or
// store.ErrConflict when the stored record is not at r.Version, or a
// statement's error. Each case changes the record, if at all, in one
// statement, so the check and the change are one step, across connections
// and processes. r.Version must be below math.MaxInt64.
func (st txStatements) compareAndSwap(ctx context.Context, r store.Record, now int64) (uint64, error) {
	data := r.Data
	if data == nil {
		data = []byte{} // the column is NOT NULL; nil and empty mean the same
	}
	authTime := zeroOrUnixNano(r.AuthTime)
	var res sql.Result
	var err error
	if r.Version == 0 {
		// Insert, or take over the row of an expired record that cleanup
		// has not deleted yet.
		res, err = st.insertSession.ExecContext(ctx,
			r.ID[:], r.User, data, r.Created.UnixNano(), r.LastSeen.UnixNano(),
			r.Expires.UnixNano(), r.UserAgent, string(r.Kind), r.AccountID, authTime, now)
	} else {
		res, err = st.touchSession.ExecContext(ctx,
			data, r.LastSeen.UnixNano(), r.Expires.UnixNano(), string(r.Kind), r.AccountID, authTime,
			r.ID[:], int64(r.Version), now, r.User, r.Created.UnixNano(), r.UserAgent)
		if err == nil {
			if n, nerr := res.RowsAffected(); nerr == nil && n == 0 {
				// A conflict, or a save that changes the owner, the creation
				// time or the user agent: the statement that sets them all.
				res, err = st.updateSession.ExecContext(ctx,
					r.User, data, r.Created.UnixNano(), r.LastSeen.UnixNano(),
					r.Expires.UnixNano(), r.UserAgent, string(r.Kind), r.AccountID, authTime,
					r.ID[:], int64(r.Version), now)
			}
		}
	}
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, store.ErrConflict
	}
	return r.Version + 1, nil
}

// DeleteSession removes the record named id; a missing record is not an
// error. An error means the database did not answer (or ctx ended first).
func (s *Store) DeleteSession(ctx context.Context, id store.SessionID) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id[:]); err != nil {
		return fmt.Errorf("sqlitestore: delete session: %w", err)
	}
	return nil
}

// UserSessions returns the live records of user (compared
// case-insensitively, ASCII only, like account names), most recently created
// first. An empty user has no sessions: records without a User are never
// listed. An error means the database did not answer (or ctx ended first).
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions
		 WHERE user = ? AND user <> '' AND expires > ?
		 ORDER BY created DESC, id`,
		user, s.now().UnixNano())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list sessions: %w", err)
	}
	defer rows.Close()
	out := []store.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list sessions: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list sessions: %w", err)
	}
	return out, nil
}

// userDeleteBatch bounds the records one statement of DeleteUserSessions
// removes. Each batch is its own transaction: the only write lock is
// released between batches, so that the logins and saves of other users
// wait for one batch at most (a few milliseconds), not for the whole
// deletion (312 ms for a user with 10,000 logins in one statement).
const userDeleteBatch = 500

// deleteUserBatchSQL removes one batch of the records of user ?1 whose
// rowid is at most ?2, found on the index of users, and returns their
// expiry times.
const deleteUserBatchSQL = `DELETE FROM sessions WHERE rowid IN (
		SELECT rowid FROM sessions WHERE user = ?1 AND user <> '' AND rowid <= ?2 LIMIT ?3)
	RETURNING expires`

// testHookUserDeleteBatch, when not nil, is called by DeleteUserSessions
// between two batches: after one has committed, with the write lock and
// the writer's connection released, before the next. Tests only.
var testHookUserDeleteBatch func()

// DeleteUserSessions removes every record of user (compared
// case-insensitively), expired ones included, and returns how many live
// records it removed. An empty user matches nothing, so anonymous sessions
// are never removed this way.
//
// It removes userDeleteBatch records per transaction, releasing the write
// lock between batches, so that other writers are not held up for as long
// as a user with many logins takes to end. Every record of user that
// existed when it was called is removed; a record created (or moved to
// user) during the call may be removed or not. The records are bounded by
// the largest rowid when it begins, so that logins created meanwhile
// cannot keep it going. An error means the database did not answer (or
// ctx ended first): the batches before it are gone, the rest are not.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	if user == "" {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("sqlitestore: delete user sessions: %w", err)
		}
		return 0, nil
	}
	now := s.now().UnixNano()
	// Every record committed before the call has a rowid at most this one:
	// a row keeps its rowid when it is updated, and a new row gets a larger
	// one (unless the largest was deleted meanwhile: then it may get this
	// one or below, and be removed or not, as a record created during the
	// call may be). It is read on a reader, which does not queue for the
	// writer: in WAL mode its snapshot begins now, after those commits.
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(rowid) FROM sessions`).Scan(&last); err != nil {
		return 0, fmt.Errorf("sqlitestore: delete user sessions: %w", err)
	}
	if !last.Valid {
		return 0, nil // no records at all
	}
	n := 0
	for {
		removed, live, err := s.deleteUserBatch(ctx, user, last.Int64, now)
		n += live
		if err != nil {
			return n, fmt.Errorf("sqlitestore: delete user sessions: %w", err)
		}
		if removed < userDeleteBatch {
			return n, nil
		}
		if testHookUserDeleteBatch != nil {
			testHookUserDeleteBatch()
		}
	}
}

// deleteUserBatch removes up to userDeleteBatch records of user with a
// rowid at most last, in one statement (one transaction), and returns how
// many it removed and how many of those were live at now.
func (s *Store) deleteUserBatch(ctx context.Context, user string, last, now int64) (removed, live int, err error) {
	// SQLite makes all the changes of a DELETE ... RETURNING on its first
	// step, before the first row comes back: the rows describe a delete that
	// has already happened as a whole, and Close commits it.
	rows, err := s.w.QueryContext(ctx, deleteUserBatchSQL, user, last, userDeleteBatch)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var expires int64
		if err := rows.Scan(&expires); err != nil {
			return 0, 0, err
		}
		removed++
		if expires > now {
			live++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	return removed, live, rows.Close()
}

// scanRecord reads one row of sessionColumns.
func scanRecord(row interface{ Scan(...any) error }) (store.Record, error) {
	var r store.Record
	var id []byte
	var kind string
	var version, created, lastSeen, expires, authTime int64
	if err := row.Scan(&id, &r.User, &r.Data, &version, &created, &lastSeen, &expires, &r.UserAgent,
		&kind, &r.AccountID, &authTime); err != nil {
		return store.Record{}, err
	}
	if len(id) != len(r.ID) {
		return store.Record{}, fmt.Errorf("session id of %d bytes, want %d", len(id), len(r.ID))
	}
	copy(r.ID[:], id)
	r.Version = uint64(version)
	r.Created = time.Unix(0, created)
	r.LastSeen = time.Unix(0, lastSeen)
	r.Expires = time.Unix(0, expires)
	r.Kind = store.Kind(kind)
	if authTime != 0 {
		r.AuthTime = time.Unix(0, authTime)
	}
	return r, nil
}

// zeroOrUnixNano returns t in Unix nanoseconds, as the auth_time column
// keeps it, or 0 for the zero time, which has no such number. (A time at
// the very start of 1970 would read back as the zero time: no login is
// that old.)
func zeroOrUnixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
