package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// storeClock tells the time by the store's clock: the machine's clock plus
// the offset last measured against the store (store.Clock). Every instance
// sharing a store then agrees on when a refresh token's grace window ends,
// when a session or a login expires (Redis deletes it by the time the
// server computed), and when a key starts signing or retires, whatever its
// own clock says. The offset is measured at start and again every
// keyReloadInterval; between measurements the machine's monotonic clock
// carries it.
//
// A server given Config.Now (a test's clock) tells the time by that
// instead, for keys as for everything else.
type storeClock struct {
	store  store.Clock      // nil when now is set
	now    func() time.Time // Config.Now, when given
	offset atomic.Int64     // nanoseconds to add to the machine's clock
}

// newStoreClock returns the clock of a server: now when it is not nil,
// else the store's, whose offset it measures once.
func newStoreClock(ctx context.Context, s store.Clock, now func() time.Time) (*storeClock, error) {
	if now != nil {
		return &storeClock{now: now}, nil
	}
	c := &storeClock{store: s}
	if _, err := c.StoreTime(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Now returns the store's time, as last measured.
func (c *storeClock) Now() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// StoreTime asks the store for its time, and takes the offset from the
// answer.
func (c *storeClock) StoreTime(ctx context.Context) (time.Time, error) {
	if c.now != nil {
		return c.now(), nil
	}
	sent := time.Now()
	t, err := c.store.StoreTime(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("server: reading the store's clock: %w", err)
	}
	// The store read its clock somewhere between sending and receiving:
	// take the middle.
	received := time.Now()
	mid := sent.Add(received.Sub(sent) / 2)
	c.offset.Store(int64(t.Sub(mid)))
	return t, nil
}
