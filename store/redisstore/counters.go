package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A counter is a hash under its own key: its value (n), its expiry (e,
// Unix nanoseconds by the store's clock) and the nonce of its last add
// (x). Redis removes it at that expiry by TTL; reads also compare e with
// Options.Now, so an expired counter is never returned while Redis still
// holds it.

// AddCount adds delta to the counter named key and returns its new value
// and when it expires, in one script: atomic, so that of concurrent calls
// each sees the value its own delta made. A counter that is missing or
// has expired starts from zero and expires window from now; a live one
// keeps its expiry. A counter brought to zero or below is removed, and
// AddCount then returns the zero time. Key may hold any bytes.
//
// A call that go-redis retries after losing the reply is recognised and
// counted once, unless another add to the counter came in between.
func (s *Store) AddCount(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Time, error) {
	now := s.now()
	expNs := expiryNanos(now.Add(window))
	cmds, err := s.run(ctx, call{addCountScript, []string{s.counterKey(key)}, []any{
		strconv.FormatInt(delta, 10), strconv.FormatInt(expiryNanos(now), 10),
		strconv.FormatInt(expNs, 10), strconv.FormatInt(ceilMillis(expNs), 10), nonce(),
	}})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redisstore: add count: %w", err)
	}
	res, err := cmds[0].StringSlice()
	if err != nil || len(res) != 2 {
		return 0, time.Time{}, fmt.Errorf("redisstore: add count: unexpected reply %v: %v", cmds[0].Val(), err)
	}
	n, err := strconv.ParseInt(res[0], 10, 64)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redisstore: add count: malformed value %q", res[0])
	}
	if res[1] == "" {
		return n, time.Time{}, nil // removed
	}
	expires, err := parseNanos(res[1])
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redisstore: add count: malformed expiry %q", res[1])
	}
	return n, expires, nil
}

// Count returns the live value of the counter named key and when it
// expires, or 0 and the zero time when there is none, in one command.
func (s *Store) Count(ctx context.Context, key string) (int64, time.Time, error) {
	vs, err := s.client.HMGet(ctx, s.counterKey(key), "n", "e").Result()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redisstore: count: %w", err)
	}
	nv, _ := vs[0].(string)
	ev, _ := vs[1].(string)
	if nv == "" || ev == "" {
		return 0, time.Time{}, nil
	}
	n, err1 := strconv.ParseInt(nv, 10, 64)
	expires, err2 := parseNanos(ev)
	if err := errors.Join(err1, err2); err != nil {
		return 0, time.Time{}, fmt.Errorf("redisstore: count: malformed counter: %w", err)
	}
	if n <= 0 || !s.now().Before(expires) {
		return 0, time.Time{}, nil
	}
	return n, expires, nil
}

// DeleteCount removes the counter named key, in one command; a missing
// counter is not an error.
func (s *Store) DeleteCount(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.counterKey(key)).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: delete count: %w", err)
	}
	return nil
}
