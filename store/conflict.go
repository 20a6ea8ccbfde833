package store

import (
	"context"
	"math/rand/v2"
	"time"
)

// Bounds of WaitAfterConflict's pause.
const (
	conflictPauseMin = 500 * time.Microsecond
	conflictPauseMax = 50 * time.Millisecond
)

// WaitAfterConflict pauses before a caller that lost a compare-and-swap
// (ErrConflict) reads the record again and retries: a random time up to
// 0.5 ms × 2^attempt, at most 50 ms, so that savers racing on one record
// (several processes, each behind its own lock) spread out instead of
// colliding again at once. attempt counts from 0. It returns ctx's error if
// ctx ends first.
func WaitAfterConflict(ctx context.Context, attempt int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	limit := conflictPauseMax
	if attempt < 7 {
		limit = min(conflictPauseMin<<attempt, conflictPauseMax)
	}
	t := time.NewTimer(rand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
