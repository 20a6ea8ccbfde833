package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/internal/groupcommit"
	"github.com/sessionkit/sessionkit/store"
)

// Group commit. Every request of a logged-in user saves its session, and
// with synchronous_commit on, a save's own commit, which waits for its WAL
// to be flushed, was most of its cost. So saves share transactions, in
// the line of internal/groupcommit: a SaveSession that finds fewer than
// concurrentBatches batches under way leads one at once; saves that arrive
// meanwhile wait in line, and the next batch takes them, up to maxBatch,
// in the order they arrived. The leader takes a pool connection, then the
// batch, and runs it:
//
//   - A batch of one save runs as every save did before: its statement on
//     its own, in autocommit, under its caller's context.
//   - A batch of several runs in one READ COMMITTED transaction, sent as
//     one pgx.Batch (BEGIN, each save's statement, COMMIT: one round
//     trip). Each statement's rows affected gives its save's
//     compare-and-swap result.
//   - If any statement of the transaction fails, PostgreSQL aborts it
//     whole, and nothing of it is saved. The leader rolls back and runs
//     each save on its own as above, so that a save the server refuses
//     fails alone, and a serialization failure (a save on its own, under a
//     pool whose default is REPEATABLE READ or SERIALIZABLE) is that save's
//     store.ErrConflict, as it always was.
//
// No caller hears before the statement or the COMMIT that holds its save
// has returned.
//
// The transaction is READ COMMITTED whatever the pool's default: each save
// is one compare-and-swap statement, which READ COMMITTED runs on the
// latest version of its row (a save that lost a race changes no row, and
// is a conflict as under the stricter levels, which would fail it with a
// serialization failure instead). Under SERIALIZABLE, a transaction of
// many saves would also be failed for the saves of other transactions
// that merely touched the same index pages, and every save of the batch
// would then run again on its own, some as spurious conflicts.

// maxBatch bounds the saves of one transaction, so that a batch holds its
// row locks, and the saves behind it wait, for a bounded time.
const maxBatch = 64

// concurrentBatches bounds the batches that run at once, each on a
// connection of its own.
const concurrentBatches = 2

// rollbackTimeout bounds the rollback of a batch that failed, in case the
// connection hangs.
const rollbackTimeout = 5 * time.Second

// A save is one SaveSession call on its way through a batch: the record to
// save and, once answered, its new version or its error (unwrapped).
type save = groupcommit.Call[store.Record, uint64]

// errRolledBack is the error of a batch whose COMMIT did not commit.
var errRolledBack = errors.New("the transaction was rolled back")

// commitSave queues sv, leads a batch when its turn comes, and returns sv's
// result as SaveSession does once it has been answered. A save whose
// context ends while it waits in line is withdrawn: it is not saved, and
// its caller gets the context's error at once.
func (s *Store) commitSave(sv *save) (uint64, error) {
	s.saves.Do(sv, s.lead)
	switch {
	case errors.Is(sv.Err, store.ErrConflict) || serializationFailure(sv.Err):
		// Under REPEATABLE READ or SERIALIZABLE (a pool's default, say),
		// PostgreSQL reports a save that raced another this way rather
		// than by changing no row. Nothing was saved either way.
		return 0, store.ErrConflict
	case sv.Err != nil:
		return 0, fmt.Errorf("pgstore: save session: %w", sv.Err)
	}
	return sv.Result, nil
}

// lead runs one batch for me, the first save in line: it takes a pool
// connection, then the saves waiting by then, skipping those whose context
// has ended, and runs them. When no connection can be had before me's
// context ends, or the pool is closed, only me fails: the next in line
// tries in its own right.
func (s *Store) lead(me *save, take func(int) []*save) {
	conn, err := s.pool.Acquire(me.Ctx)
	if err != nil {
		me.Err = err
		return
	}
	// The connection goes back before the callers hear, so that the next
	// leader may have it.
	released := false
	defer func() {
		if !released {
			conn.Release()
		}
	}()
	var batch []*save
	for _, sv := range take(maxBatch) {
		if err := sv.Ctx.Err(); err != nil {
			sv.Err = err
			continue
		}
		batch = append(batch, sv)
	}
	switch len(batch) {
	case 0:
		return
	case 1:
		s.saveAlone(conn, batch[0])
		return
	}
	err = s.saveTogether(me.Ctx, conn, batch)
	conn.Release()
	released = true
	if err == nil {
		s.saves.Count(len(batch))
		return
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) && !errors.Is(err, errRolledBack) {
		// The database did not answer, or the connection broke: the
		// others would fare no better.
		for _, sv := range batch {
			sv.Result, sv.Err = 0, err
		}
		return
	}
	// The server refused the transaction, and none of it was saved:
	// each save on its own, so that each fails or not by itself. A save
	// whose context has ended by now is not made.
	for _, sv := range batch {
		if err := sv.Ctx.Err(); err != nil {
			sv.Result, sv.Err = 0, err
			continue
		}
		s.saveAlone(s.pool, sv)
	}
}

// An execer runs a statement: a pool, or a connection taken from it.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// saveAlone runs the statement of sv on its own, in autocommit, under its
// caller's context, and sets sv's result.
func (s *Store) saveAlone(db execer, sv *save) {
	sql, args := s.saveStatement(sv.Value, s.now().UnixNano())
	tag, err := db.Exec(sv.Ctx, sql, args...)
	sv.Result, sv.Err = result(sv.Value, tag, err)
	if err == nil {
		s.saves.Count(1)
	}
}

// saveTogether runs the saves of batch, two or more, in one READ COMMITTED
// transaction on conn, sent as one pgx.Batch, and sets their results once it has
// committed. An error means it did not commit, and the results are not
// set: a *pgconn.PgError or errRolledBack when the server refused it (conn
// is then rolled back, unless it broke), another error when the server did
// not answer.
//
// The transaction does not end with any caller's context: once a save is
// in the batch its statement runs whatever its caller does meanwhile, as
// canceling a statement would abort the whole transaction. It ends with
// the deadline of the save that has the latest, if every save has one:
// by then no caller of the batch waits for it. The statements run in the
// order of the sessions' ids (the saves of one id in arrival order), so
// that the batches of several instances lock rows in one order, and never
// deadlock one another.
func (s *Store) saveTogether(leader context.Context, conn *pgxpool.Conn, batch []*save) error {
	ctx, cancel := batchContext(leader, batch)
	defer cancel()
	batch = slices.Clone(batch)
	slices.SortStableFunc(batch, func(a, b *save) int { return bytes.Compare(a.Value.ID[:], b.Value.ID[:]) })
	now := s.now().UnixNano()
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	for _, sv := range batch {
		sql, args := s.saveStatement(sv.Value, now)
		b.Queue(sql, args...)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	tags := make([]pgconn.CommandTag, len(batch))
	_, err := br.Exec() // BEGIN
	for i := range batch {
		if err == nil {
			tags[i], err = br.Exec()
		}
	}
	var commit pgconn.CommandTag
	if err == nil {
		commit, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && commit.String() != "COMMIT" {
		err = errRolledBack
	}
	if err != nil {
		if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(leader), rollbackTimeout)
			defer cancel()
			conn.Exec(rctx, "ROLLBACK") // if it fails, the pool drops the connection
		}
		return err
	}
	for i, sv := range batch {
		sv.Result, sv.Err = result(sv.Value, tags[i], nil)
	}
	return nil
}

// batchContext returns the context of a batch's transaction: that of its
// leader without its end, bounded by the latest deadline of the batch's
// saves if each has one.
func batchContext(leader context.Context, batch []*save) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(leader)
	var last time.Time
	for _, sv := range batch {
		d, ok := sv.Ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(ctx, last)
}

// result returns the result of the save of r whose statement returned tag
// and err.
func result(r store.Record, tag pgconn.CommandTag, err error) (uint64, error) {
	switch {
	case err != nil:
		return 0, err
	case tag.RowsAffected() == 0:
		return 0, store.ErrConflict
	}
	return r.Version + 1, nil
}
