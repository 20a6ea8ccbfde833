package pgstore

import (
	"context"
	"fmt"
	"math"
	"time"
)

// AddCount adds delta to the counter named key and returns its new value
// and when it expires, in one statement (an INSERT … ON CONFLICT DO
// UPDATE), so that of concurrent calls each sees the value its own delta
// made, across connections and instances. A counter that is missing or has
// expired by the store's clock starts from zero and expires window from
// now; a live one keeps its expiry. A counter brought to zero or below is
// removed, by a second statement, and AddCount then returns the zero time.
// Key may hold any bytes.
func (s *Store) AddCount(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Time, error) {
	now := s.now()
	var count, expires int64
	err := retrySerialization(ctx, func() error {
		return s.pool.QueryRow(ctx, s.q.addCount,
			[]byte(key), delta, addNanos(now, window), now.UnixNano()).Scan(&count, &expires)
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("pgstore: add count: %w", err)
	}
	if count > 0 {
		return count, time.Unix(0, expires), nil
	}
	// The row is no counter any more whether or not this runs: every
	// statement treats a count of zero or below as missing.
	err = retrySerialization(ctx, func() error {
		_, err := s.pool.Exec(ctx, s.q.dropCount, []byte(key))
		return err
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("pgstore: add count: %w", err)
	}
	return count, time.Time{}, nil
}

// Count returns the live value of the counter named key and when it
// expires, or 0 and the zero time when there is none, in one query.
func (s *Store) Count(ctx context.Context, key string) (int64, time.Time, error) {
	var count, expires int64
	err := s.pool.QueryRow(ctx, s.q.count, []byte(key), s.now().UnixNano()).Scan(&count, &expires)
	if errNoRows(err) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("pgstore: count: %w", err)
	}
	return count, time.Unix(0, expires), nil
}

// DeleteCount removes the counter named key, in one statement; a missing
// counter is not an error.
func (s *Store) DeleteCount(ctx context.Context, key string) error {
	err := retrySerialization(ctx, func() error {
		_, err := s.pool.Exec(ctx, s.q.deleteCount, []byte(key))
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: delete count: %w", err)
	}
	return nil
}

// retrySerialization runs f, a single statement, again while it fails
// with a serialization failure and ctx lasts. Under REPEATABLE READ or
// SERIALIZABLE (a pool's default, say) a statement that changes a row a
// concurrent transaction changed fails that way, having done nothing,
// where under READ COMMITTED it would wait and apply to the new row.
func retrySerialization(ctx context.Context, f func() error) error {
	for {
		err := f()
		if !serializationFailure(err) || ctx.Err() != nil {
			return err
		}
	}
}

// addNanos returns t+d in Unix nanoseconds, kept within the years
// 1970–2262 that the store's times lie in.
func addNanos(t time.Time, d time.Duration) int64 {
	ns := t.UnixNano()
	switch {
	case d > 0 && ns > math.MaxInt64-int64(d):
		return math.MaxInt64
	case d < 0 && ns < math.MinInt64-int64(d):
		return math.MinInt64
	}
	return ns + int64(d)
}
