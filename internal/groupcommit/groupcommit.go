// Package groupcommit lets calls that arrive together share one costly
// step, such as the commit of a database transaction: the stores use it so
// that the session saves of different users share transactions.
//
// The protocol is a line of calls and a leader for each batch. A call that
// finds no batch under way (or fewer than [Queue.Leaders]) leads one at
// once: nothing waits for company. Calls that arrive while batches run
// wait in line, and the next batch takes them, up to the number its leader
// asks for, in the order they arrived. The leader is a caller, on its own
// goroutine (the Queue starts none): it prepares what the batch needs (a
// database connection, say), takes the batch, runs it and sets the result
// of each of its calls. Only then are the callers answered, all at once,
// and the lead passes to the first call in line, if any: a call is never
// answered before its batch is done.
//
// A call whose context ends while it waits in line is withdrawn: it is not
// run, and its caller gets the context's error at once. A call whose
// context ends once it is in a batch, or once it has been asked to lead
// one, is not withdrawn: it is answered with its batch, as the leader
// decides. A leader that fails to prepare (it returns without taking a
// batch) is answered alone, and the next call in line leads in its own
// right.
package groupcommit

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// ErrAbandoned is the error of the calls of a batch whose leader panicked
// before they were answered. Whatever the leader set is discarded: their
// callers cannot know whether the batch was done.
var ErrAbandoned = errors.New("groupcommit: the batch's leader panicked")

// A Call is one caller's request on its way through a Queue: the context
// it is made under, what it asks for and, once it has been answered, its
// result.
type Call[T, R any] struct {
	// Ctx is the caller's context. If it ends while the call waits in
	// line, the call is withdrawn.
	Ctx context.Context

	// Value is what the call asks the leader that runs it to do.
	Value T

	// Result and Err are the call's answer, set by the leader that runs
	// it (or, for a withdrawn call, by Do) before Do returns.
	Result R
	Err    error

	// wake receives when the call has been answered and, before that,
	// when its caller is to lead the next batch (lead is set, under the
	// Queue's mutex). The caller reads one signal before the next is
	// sent, so one slot is enough.
	wake chan struct{}
	lead bool
}

// A LeadFunc runs one batch, on the goroutine of leader, the call whose
// turn it is to lead. It prepares what the batch needs, calls take once to
// take the batch (leader first, then up to n-1 calls from the front of the
// line), runs each call of the batch and sets its Result and Err. A call
// whose context has ended by then may be skipped, with its context's
// error. The batch's callers are answered once the LeadFunc returns.
//
// A LeadFunc that cannot prepare sets leader.Err and returns without
// calling take: only the leader fails, and the next call in line leads.
type LeadFunc[T, R any] func(leader *Call[T, R], take func(n int) []*Call[T, R])

// A Queue is a line of calls waiting for a batch. The zero Queue is empty,
// runs one batch at a time and is ready to use. It is safe for concurrent
// use, and must not be copied after first use.
type Queue[T, R any] struct {
	// Leaders bounds the batches that run at once; zero or less means one.
	// With more than one, a call leads a batch at once while fewer run,
	// and a batch that ends hands the lead to the first call in line.
	// Batches that run at once may end in any order. Set Leaders before
	// the Queue is first used.
	Leaders int

	mu      sync.Mutex
	waiting []*Call[T, R] // in arrival order; a call woken to lead leaves it
	leading int           // calls that lead a batch or have been woken to
	untaken int           // leaders that have not taken their batch yet

	// batches and calls count the batches that Count was told of and the
	// calls they held.
	batches, calls int
}

// Do puts c at the end of q's line and returns once c has been answered:
// c.Result and c.Err are then set. If c's turn to lead comes, Do calls lead
// with c, then answers the batch lead took and hands the lead on, before
// it returns. If c.Ctx ends while c waits in line, Do withdraws c and
// returns at once with c.Err set to the context's error.
//
// Do panics with lead's panic, after answering the other calls of the
// batch with ErrAbandoned and handing the lead on.
func (q *Queue[T, R]) Do(c *Call[T, R], lead LeadFunc[T, R]) {
	c.wake = make(chan struct{}, 1)
	c.lead = false
	q.add(c)
	select {
	case <-c.wake:
	case <-c.Ctx.Done():
		if q.withdraw(c) {
			c.Err = c.Ctx.Err()
			return
		}
		<-c.wake // in a batch already, or asked to lead one
	}
	if c.lead {
		q.lead(c, lead) // answers c, first of its batch
	}
}

// lead has c lead one batch with fn, then answers the batch and hands the
// lead on, even if fn panics.
func (q *Queue[T, R]) lead(c *Call[T, R], fn LeadFunc[T, R]) {
	var batch []*Call[T, R]
	taken, done := false, false
	defer func() {
		if !taken {
			batch = q.take(c, 1) // c alone
		}
		if !done {
			for _, b := range batch {
				var zero R
				b.Result, b.Err = zero, ErrAbandoned
			}
		}
		q.answer(batch)
	}()
	fn(c, func(n int) []*Call[T, R] {
		if taken {
			panic("groupcommit: a leader took two batches")
		}
		taken = true
		batch = q.take(c, max(n, 1))
		return batch
	})
	done = true
}

// add puts c at the end of the line, or wakes it to lead if fewer batches
// than q.Leaders are under way.
func (q *Queue[T, R]) add(c *Call[T, R]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.leading < max(q.Leaders, 1) {
		q.wakeToLead(c)
		return
	}
	q.waiting = append(q.waiting, c)
}

// withdraw takes c out of the line and reports whether it did. It does not
// when c is in a batch already, or has been asked to lead one (its leader
// decides what becomes of it).
func (q *Queue[T, R]) withdraw(c *Call[T, R]) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c.lead {
		return false
	}
	i := slices.Index(q.waiting, c)
	if i < 0 {
		return false
	}
	q.waiting = slices.Delete(q.waiting, i, i+1)
	return true
}

// take returns the batch of leader: leader, and up to n-1 calls it removes
// from the front of the line.
func (q *Queue[T, R]) take(leader *Call[T, R], n int) []*Call[T, R] {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.untaken--
	n = min(n-1, len(q.waiting))
	batch := append([]*Call[T, R]{leader}, q.waiting[:n]...)
	q.waiting = slices.Delete(q.waiting, 0, n)
	return batch
}

// answer wakes the callers of batch, whose results are set, and hands the
// lead of the batch to the first call in line, if any.
func (q *Queue[T, R]) answer(batch []*Call[T, R]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range batch {
		c.wake <- struct{}{} // the leader's own is never read
	}
	q.leading--
	if len(q.waiting) > 0 {
		c := q.waiting[0]
		q.waiting = slices.Delete(q.waiting, 0, 1)
		q.wakeToLead(c)
	}
}

// wakeToLead asks the caller of c, which is not in line, to lead the next
// batch. q.mu is held.
func (q *Queue[T, R]) wakeToLead(c *Call[T, R]) {
	q.leading++
	q.untaken++
	c.lead = true
	c.wake <- struct{}{}
}

// Len returns how many calls wait in line, counting the leaders that have
// not taken their batch yet.
func (q *Queue[T, R]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting) + q.untaken
}

// Count records a batch that held n calls, for Counts. A leader calls it
// for the batches it wants counted: those that committed, say.
func (q *Queue[T, R]) Count(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches++
	q.calls += n
}

// Counts returns how many batches Count has recorded, and the calls they
// held.
func (q *Queue[T, R]) Counts() (batches, calls int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.batches, q.calls
}
