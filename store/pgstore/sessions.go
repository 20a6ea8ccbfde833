package pgstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// Session returns the record named id, or store.ErrNotFound when there is
// none or it has expired. It runs one query. Any other error means the
// database did not answer (or ctx ended first).
func (s *Store) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, s.q.session, id[:], s.now().UnixNano()))
	if errNoRows(err) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("pgstore: get session: %w", err)
	}
	return r, nil
}

// SaveSession stores r if the stored record still has version r.Version (0:
// no live record named r.ID exists) and returns the new version, r.Version+1.
// Otherwise it changes nothing and returns store.ErrConflict. Each case is
// one statement, so of concurrent saves naming the same version exactly one
// succeeds, across connections and instances. It fails without saving when
// r.Kind, r.User or r.UserAgent is not valid UTF-8 or holds a NUL byte
// (r.AccountID may hold any bytes). Any other error means the database did
// not answer, or ctx ended first: when that happened while the statement
// or its COMMIT was under way, the database may still have applied it, as
// with any statement whose answer is lost; the next save then gets
// store.ErrConflict and reads the record again.
//
// Saves that arrive together share one transaction (see the package
// documentation): SaveSession returns once the statement or the COMMIT
// that holds its save has returned, so a save it reports is as durable as
// the server's synchronous_commit makes a commit. A save that runs alone
// is one statement under ctx, as any other call. One that shares a
// transaction runs whatever ctx does once the transaction has started,
// until the latest deadline of the transaction's saves, and SaveSession
// waits for its outcome.
func (s *Store) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	if !storable(string(r.Kind)) {
		return 0, errUnstorable("save session", "the kind")
	}
	if !storable(r.User) {
		return 0, errUnstorable("save session", "the user")
	}
	if !storable(r.UserAgent) {
		return 0, errUnstorable("save session", "the user agent")
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("pgstore: save session: %w", err)
	}
	if r.Version >= math.MaxInt64 {
		// No stored record reaches this version: versions are bigints,
		// and this one could not be incremented.
		return 0, store.ErrConflict
	}
	return s.commitSave(&save{Ctx: ctx, Value: r})
}

// saveStatement returns the statement that saves r at time now (Unix
// nanoseconds) by compare-and-swap, and its arguments: an insert when
// r.Version is 0, an update otherwise. The statement changes one row when
// the save is made and none when it conflicts. r.Version must be below
// math.MaxInt64.
func (s *Store) saveStatement(r store.Record, now int64) (sql string, args []any) {
	accountID := []byte(r.AccountID)
	if accountID == nil {
		accountID = []byte{} // the column is NOT NULL
	}
	var authTime *int64 // NULL for the zero time
	if !r.AuthTime.IsZero() {
		ns := r.AuthTime.UnixNano()
		authTime = &ns
	}
	data := r.Data
	if data == nil {
		data = []byte{} // the column is NOT NULL; nil and empty mean the same
	}
	if r.Version == 0 {
		return s.q.createSession, []any{
			r.ID[:], store.FoldName(r.User), r.User, data,
			r.Created.UnixNano(), r.LastSeen.UnixNano(), r.Expires.UnixNano(), r.UserAgent, now,
			string(r.Kind), accountID, authTime}
	}
	return s.q.updateSession, []any{
		store.FoldName(r.User), r.User, data,
		r.Created.UnixNano(), r.LastSeen.UnixNano(), r.Expires.UnixNano(), r.UserAgent,
		r.ID[:], int64(r.Version), now,
		string(r.Kind), accountID, authTime}
}

// DeleteSession removes the record named id; a missing record is not an
// error. An error means the database did not answer (or ctx ended first).
func (s *Store) DeleteSession(ctx context.Context, id store.SessionID) error {
	if _, err := s.pool.Exec(ctx, s.q.deleteSession, id[:]); err != nil {
		return fmt.Errorf("pgstore: delete session: %w", err)
	}
	return nil
}

// userSessionsSQL lists the live records of the user $1 (folded) at time
// $2, newest first. The user's rows are found by the equality on user_key
// alone, in a MATERIALIZED CTE, and only then filtered by expiry: the
// planner cannot push "expires > $2" into the CTE, so it cannot combine the
// user index with the expires index. On a table without statistics (right
// after a bulk load, before ANALYZE) it did: "expires > now" was estimated
// to keep a third of the table, and the listing ANDed the user's index
// entries with those of every live row (24 ms at a million sessions,
// against 0.05 ms on the user index). Materializing the user's rows costs
// little: the query returns them all but the expired ones anyway.
// TestUserQueriesUseUserIndex checks the plans. The condition that user_key
// is not empty (the partial index's) is repeated so that the planner may use
// that index, and so that the empty user matches nothing.
const userSessionsSQL = `WITH mine AS MATERIALIZED (
		SELECT ` + sessionColumns + ` FROM {schema}.sessionkit_sessions
		WHERE user_key = $1 AND user_key <> '')
	SELECT ` + sessionColumns + ` FROM mine
	WHERE expires > $2
	ORDER BY created DESC, id`

// UserSessions returns the live records of user (compared
// case-insensitively, ASCII only, like account names), most recently created
// first, in one query on the per-user index, whatever the table's
// statistics (see userSessionsSQL). An empty user has no sessions: records
// without a User are never listed. An error means the database did not
// answer (or ctx ended first).
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	out := []store.Record{}
	if !storable(user) {
		// No record can be owned by it.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pgstore: list sessions: %w", err)
		}
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.q.userSessions, store.FoldName(user), s.now().UnixNano())
	if err != nil {
		return nil, fmt.Errorf("pgstore: list sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list sessions: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list sessions: %w", err)
	}
	return out, nil
}

// DeleteUserSessions removes every record of user (compared
// case-insensitively), expired ones included, in one statement, and returns
// how many live records it removed. The statement finds the rows by the
// equality on user_key alone, so the user index is the only one it can
// use, with statistics or without (TestUserQueriesUseUserIndex). An empty
// user matches nothing, so anonymous sessions are never removed this way.
// An error means the database did not answer (or ctx ended first); the
// statement is atomic, so either all of them are gone or none.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	if !storable(user) {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("pgstore: delete user sessions: %w", err)
		}
		return 0, nil
	}
	var n int64
	if err := s.pool.QueryRow(ctx, s.q.deleteUserSessions, store.FoldName(user), s.now().UnixNano()).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: delete user sessions: %w", err)
	}
	return int(n), nil
}

// scanRecord reads one row of sessionColumns.
func scanRecord(row interface{ Scan(...any) error }) (store.Record, error) {
	var r store.Record
	var id []byte
	var kind string
	var accountID []byte
	var authTime *int64
	var version, created, lastSeen, expires int64
	if err := row.Scan(&id, &kind, &r.User, &accountID, &authTime, &r.Data, &version,
		&created, &lastSeen, &expires, &r.UserAgent); err != nil {
		return store.Record{}, err
	}
	r.Kind, r.AccountID = store.Kind(kind), string(accountID)
	if authTime != nil {
		r.AuthTime = time.Unix(0, *authTime)
	}
	if len(id) != len(r.ID) {
		return store.Record{}, fmt.Errorf("session id of %d bytes, want %d", len(id), len(r.ID))
	}
	copy(r.ID[:], id)
	r.Version = uint64(version)
	r.Created = time.Unix(0, created)
	r.LastSeen = time.Unix(0, lastSeen)
	r.Expires = time.Unix(0, expires)
	return r, nil
}
