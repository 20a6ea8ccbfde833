package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Deny refuses id until the time until; denying it again keeps the later of
// the two times. The entry expires from Redis at until.
func (s *Store) Deny(ctx context.Context, id string, until time.Time) error {
	ns := expiryNanos(until)
	_, err := s.run(ctx, call{denyScript, []string{s.denyKey(id)}, []any{
		strconv.FormatInt(ns, 10), strconv.FormatInt(ceilMillis(ns), 10),
	}})
	if err != nil {
		return fmt.Errorf("redisstore: deny: %w", err)
	}
	return nil
}

// Denied reports whether id is refused now, in one command. An error means
// Redis did not answer (or ctx ended first), never that id is allowed.
func (s *Store) Denied(ctx context.Context, id string) (bool, error) {
	v, err := s.client.Get(ctx, s.denyKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redisstore: denied: %w", err)
	}
	until, err := parseNanos(v)
	if err != nil {
		return false, fmt.Errorf("redisstore: denied: malformed entry for %q", id)
	}
	return s.now().Before(until), nil
}
