package session

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// A loadGroup reads session records for the requests of a burst together.
// A request that finds no read of its session in flight reads it itself.
// One that finds a read in flight does not take that read's answer (the
// read began before the request arrived, and may predate a logout the
// request must see); it waits for the next read, which begins as soon as
// the one in flight ends and serves every request that arrived meanwhile.
// So every request sees the store as it was after it arrived, and a burst
// of requests on one session costs a read per batch, not per request.
//
// Waiting for another's read costs a goroutine switch or two, more than a
// read of a store in memory: while reads take less than coalesceAbove on
// average, each request reads for itself.
type loadGroup struct {
	store store.Sessions
	avg   atomic.Int64 // moving average of the time a read takes, in ns
	// newContext bounds a read made for a batch, which runs on its own
	// goroutine, not under any one request's context.
	newContext func() (context.Context, context.CancelFunc)

	mu    sync.Mutex
	calls map[store.SessionID]*loadCall // the read in flight for each id
}

// loadCall is one read of a session record.
type loadCall struct {
	done chan struct{} // closed when rec and err are set
	rec  store.Record
	err  error
	next *loadCall // the read for the requests that arrived while this one was in flight
	// waiters counts the requests waiting for this read (all but the one
	// that makes it, for a read that is not a batch's).
	waiters int
}

func newLoadGroup(st store.Sessions, newContext func() (context.Context, context.CancelFunc)) *loadGroup {
	return &loadGroup{store: st, newContext: newContext, calls: map[store.SessionID]*loadCall{}}
}

// load returns the record named id as the store holds it after the call
// began (store.ErrNotFound when there is none). The records returned to
// the requests of one batch share their Data, which must not be changed.
func (g *loadGroup) load(ctx context.Context, id store.SessionID) (store.Record, error) {
	if time.Duration(g.avg.Load()) < coalesceAbove {
		return g.read(ctx, id)
	}
	g.mu.Lock()
	c := g.calls[id]
	if c == nil {
		c = &loadCall{done: make(chan struct{})}
		g.calls[id] = c
		g.mu.Unlock()
		g.run(ctx, id, c)
		return c.rec, c.err
	}
	if c.next == nil {
		c.next = &loadCall{done: make(chan struct{})}
	}
	next := c.next
	next.waiters++
	g.mu.Unlock()
	select {
	case <-next.done:
		return next.rec, next.err
	case <-ctx.Done():
		return store.Record{}, ctx.Err()
	}
}

// run reads the record for c, then starts the read queued behind it, if
// any.
func (g *loadGroup) run(ctx context.Context, id store.SessionID, c *loadCall) {
	c.rec, c.err = g.read(ctx, id)
	g.mu.Lock()
	next := c.next
	if next != nil {
		g.calls[id] = next
	} else {
		delete(g.calls, id)
	}
	g.mu.Unlock()
	close(c.done)
	if next != nil {
		go func() {
			ctx, cancel := g.newContext()
			defer cancel()
			g.run(ctx, id, next)
		}()
	}
}

// coalesceAbove is the average read time above which the reads of a burst
// are made together.
const coalesceAbove = 20 * time.Microsecond

// read reads the record named id and counts the time it took in the
// average.
func (g *loadGroup) read(ctx context.Context, id store.SessionID) (store.Record, error) {
	start := time.Now()
	rec, err := g.store.Session(ctx, id)
	// Concurrent updates may lose one another's sample; the average stays
	// an average.
	avg := g.avg.Load()
	g.avg.Store(avg + (int64(time.Since(start))-avg)/8)
	return rec, err
}
