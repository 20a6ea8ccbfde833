package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"

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
// leads one batch, then hands the lead to the first save in line.

// maxBatch bounds the saves of one transaction, so that a batch holds the
// write lock, and makes the writes and saves behind it wait, for a bounded
// time.
const maxBatch = 64

// A save is one SaveSession call on its way through a batch.
type save struct {
	ctx context.Context
	r   store.Record

	// wake receives when the save has been answered (version and err are
	// set) and, before that, when its caller is to lead the next batch
	// (lead is set, under saveQueue.mu). The caller reads one signal
	// before the next is sent, so one slot is enough.
	wake chan struct{}
	lead bool

	version uint64
	err     error
}

// saveQueue is the line of saves waiting for a batch.
type saveQueue struct {
	mu      sync.Mutex
	waiting []*save // in arrival order; while a caller leads, its save is first
	leading bool    // a caller leads a batch or has been woken to; if not, waiting is empty

	// batches and batched count the transactions that committed and the
	// saves they held, for tests.
	batches, batched int
}

// commitSave queues sv, leads a batch when its turn comes, and returns sv's
// result once the transaction that holds it has committed or failed. A save
// whose context ends while it waits in line is withdrawn: it is not saved,
// and its caller gets the context's error at once. A save whose context
// ends once it is in a batch is saved or not as the batch is; a leader
// whose context ends while it waits for the writer's connection gives up
// the lead, and one whose context ends later sees its batch through.
func (s *Store) commitSave(sv *save) (uint64, error) {
	sv.wake = make(chan struct{}, 1)
	s.saves.add(sv)
	select {
	case <-sv.wake:
	case <-sv.ctx.Done():
		if s.saves.withdraw(sv) {
			sv.err = sv.ctx.Err()
			return sv.result()
		}
		<-sv.wake // in a batch already, or asked to lead one
	}
	if sv.lead {
		s.lead(sv) // answers sv, first of its batch
	}
	return sv.result()
}

// result returns the answer to sv as SaveSession returns it.
func (sv *save) result() (uint64, error) {
	switch {
	case errors.Is(sv.err, store.ErrConflict):
		return 0, store.ErrConflict
	case sv.err != nil:
		return 0, fmt.Errorf("sqlitestore: save session: %w", sv.err)
	}
	return sv.version, nil
}

// lead runs one batch for me, the first save in line: it takes the writer's
// connection, then the saves waiting by then, runs and commits them, answers
// them and hands the lead to the next save in line, if any. When the
// connection cannot be had, because me's context ended or the store is
// closed, only me fails: the next in line tries in its own right.
func (s *Store) lead(me *save) {
	conn, err := s.w.Conn(me.ctx)
	if err != nil {
		me.err = err
		s.saves.answer(s.saves.take(1))
		return
	}
	batch := s.saves.take(maxBatch)
	ran, err := s.runBatch(conn, batch)
	if err != nil {
		// The transaction did not commit: no save of the batch was made,
		// whatever its statements said.
		for _, sv := range batch {
			sv.version, sv.err = 0, err
		}
	} else {
		s.saves.count(ran)
	}
	// The connection goes back before the callers hear, so that the next
	// leader finds it free. Closing a Conn only returns it to the pool.
	conn.Close()
	s.saves.answer(batch)
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
	ctx := context.WithoutCancel(batch[0].ctx)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // after a commit, does nothing
	st := s.stmts.inTx(ctx, tx)
	for _, sv := range batch {
		if err := sv.ctx.Err(); err != nil {
			sv.err = err
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
	sv.version, sv.err = st.compareAndSwap(ctx, sv.r, now)
	if sv.err != nil && !errors.Is(sv.err, store.ErrConflict) { // a conflict changed nothing
		if _, err := st.rollbackTo.ExecContext(ctx); err != nil {
			return fmt.Errorf("%w, which ended the transaction (%v)", sv.err, err)
		}
	}
	_, err := st.release.ExecContext(ctx)
	return err
}

// add puts sv at the end of the line, and wakes it to lead if no batch is
// under way.
func (q *saveQueue) add(sv *save) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, sv)
	if !q.leading {
		q.leading = true
		q.wakeToLead(sv)
	}
}

// withdraw takes sv out of the line and reports whether it did. It does
// not when sv is in a batch already, or has been asked to lead one (its
// leader then skips it, as its context has ended).
func (q *saveQueue) withdraw(sv *save) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if sv.lead {
		return false
	}
	i := slices.Index(q.waiting, sv)
	if i < 0 {
		return false
	}
	q.waiting = slices.Delete(q.waiting, i, i+1)
	return true
}

// take removes up to n saves from the front of the line, the leader's
// first, and returns them: they make up a batch.
func (q *saveQueue) take(n int) []*save {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.waiting))
	batch := slices.Clone(q.waiting[:n])
	q.waiting = slices.Delete(q.waiting, 0, n)
	return batch
}

// answer wakes the callers of batch, whose results are set, and hands the
// lead to the first save in line, or ends it if there is none.
func (q *saveQueue) answer(batch []*save) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, sv := range batch {
		sv.wake <- struct{}{} // the leader's own is never read
	}
	if len(q.waiting) == 0 {
		q.leading = false
		return
	}
	q.wakeToLead(q.waiting[0])
}

// wakeToLead asks the caller of sv to lead the next batch. q.mu is held.
func (q *saveQueue) wakeToLead(sv *save) {
	sv.lead = true
	sv.wake <- struct{}{}
}

// count records a committed batch that ran n saves.
func (q *saveQueue) count(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches++
	q.batched += n
}
