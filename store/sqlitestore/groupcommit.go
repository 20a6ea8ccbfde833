package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sessionkit/sessionkit/internal/groupcommit"
	"github.com/sessionkit/sessionkit/store"
)

// Group commit. Every request of a logged-in user saves its session, and
// with a transaction per save the commit was most of a save's cost. So
// saves share transactions: a SaveSession that finds no batch under way
// leads one at once (nothing waits for company); saves that arrive while a
// batch runs wait in line, and the next batch takes them, up to maxBatch,
// in the order they arrived. A batch runs each save's compare-and-swap
// after a savepoint of its own, commits once, and only then answers its
// callers. The leader is a caller of SaveSession, on its own goroutine: it
// leads one batch, then hands the lead to the first save in line. The line
// and its protocol are internal/groupcommit's; this file runs the batches.

// maxBatch bounds the saves of one transaction, so that a batch holds the
// write lock, and makes the writes and saves behind it wait, for a bounded
// time.
const maxBatch = 64

// A save is one SaveSession call on its way through a batch: the record to
// save and, once answered, its new version or its error.
type save = groupcommit.Call[store.Record, uint64]

// saveQueue is the line of saves waiting for a batch. It counts the
// transactions that committed and the saves they held, for tests.
type saveQueue struct {
	groupcommit.Queue[store.Record, uint64]
}

// commitSave queues sv, leads a batch when its turn comes, and returns sv's
// result once the transaction that holds it has committed or failed. A save
// whose context ends while it waits in line is withdrawn: it is not saved,
// and its caller gets the context's error at once. A save whose context
// ends once it is in a batch is saved or not as the batch is; a leader
// whose context ends while it waits for the writer's connection gives up
// the lead, and one whose context ends later sees its batch through.
func (s *Store) commitSave(sv *save) (uint64, error) {
	s.saves.Do(sv, s.lead)
	switch {
	case errors.Is(sv.Err, store.ErrConflict):
		return 0, store.ErrConflict
	case sv.Err != nil:
		return 0, fmt.Errorf("sqlitestore: save session: %w", sv.Err)
	}
	return sv.Result, nil
}

// lead runs one batch for me, the first save in line: it takes the writer's
// connection, then the saves waiting by then, runs and commits them and
// sets their results; the queue then answers them and hands the lead on.
// When the connection cannot be had, because me's context ended or the
// store is closed, only me fails: the next in line tries in its own right.
func (s *Store) lead(me *save, take func(int) []*save) {
	conn, err := s.w.Conn(me.Ctx)
	if err != nil {
		me.Err = err
		return
	}
	// The connection goes back before the callers hear, so that the next
	// leader finds it free. Closing a Conn only returns it to the pool.
	defer conn.Close()
	batch := take(maxBatch)
	ran, err := s.runBatch(conn, batch)
	if err != nil {
		// The transaction did not commit: no save of the batch was made,
		// whatever its statements said.
		for _, sv := range batch {
			sv.Result, sv.Err = 0, err
		}
		return
	}
	s.saves.Count(ran)
}

// runBatch runs the saves of batch in one transaction on conn, in order,
// and commits it. It sets the result of each save and returns how many it
// ran; an error means the transaction did not commit (it could not begin,
// a failure rolled it back whole, or the commit failed), and the results
// are void.
//
// The transaction does not end with any caller's context: once a save is
// in the batch, its statements run whatever its caller does meanwhile, as
// an interrupted statement would roll back the whole transaction. A save
// whose context ended before its turn is skipped instead.
func (s *Store) runBatch(conn *sql.Conn, batch []*save) (ran int, err error) {
	ctx := context.WithoutCancel(batch[0].Ctx)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // after a commit, does nothing
	st := s.stmts.inTx(ctx, tx)
	for _, sv := range batch {
		if err := sv.Ctx.Err(); err != nil {
			sv.Err = err
			continue
		}
		if err := st.saveOne(ctx, sv, s.now().UnixNano()); err != nil {
			return 0, err
		}
		ran++
	}
	return ran, tx.Commit()
}

// saveOne runs the compare-and-swap of sv in the batch's transaction after
// a savepoint, and sets sv's result. When one of its statements fails it
// rolls back to the savepoint, so that the save leaves nothing behind and
// the batch goes on. It returns an error only when the transaction itself
// is lost: SQLite rolls back the whole transaction on some failures (a full
// disk, an I/O error, a trigger's RAISE(ROLLBACK)), and a batch that went
// on would then run each save in a transaction of its own.
func (st txStatements) saveOne(ctx context.Context, sv *save, now int64) error {
	if _, err := st.savepoint.ExecContext(ctx); err != nil {
		return err
	}
	sv.Result, sv.Err = st.compareAndSwap(ctx, sv.Value, now)
	if sv.Err != nil && !errors.Is(sv.Err, store.ErrConflict) { // a conflict changed nothing
		if _, err := st.rollbackTo.ExecContext(ctx); err != nil {
			return fmt.Errorf("%w, which ended the transaction (%v)", sv.Err, err)
		}
	}
	_, err := st.release.ExecContext(ctx)
	return err
}
