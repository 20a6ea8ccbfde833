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
type storeClock struct {
	store  store.Clock
	offset atomic.Int64 // nanoseconds to add to the machine's clock
}

// newStoreClock measures the offset of the store's clock once.
func newStoreClock(ctx context.Context, s store.Clock) (*storeClock, error) {
	c := &storeClock{store: s}
	if err := c.measure(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Now returns the store's time, as last measured.
func (c *storeClock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// StoreTime asks the store for its time, and takes the offset from the
// answer.
func (c *storeClock) StoreTime(ctx context.Context) (time.Time, error) {
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

// measure reads the store's clock and keeps its offset.
func (c *storeClock) measure(ctx context.Context) error {
	_, err := c.StoreTime(ctx)
	return err
}
