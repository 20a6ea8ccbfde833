package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestCountersClocked runs the exact checks of counters, by a clock the
// test moves (Options.Now).
func TestCountersClocked(t *testing.T) {
	storetest.RunCountersClocked(t, func(t *testing.T, now func() time.Time) store.Counters {
		s, _ := openTest(t, Options{Now: now})
		return s
	})
}

// TestCounterTTL checks what Redis holds of counters, which
// RunCountersClocked cannot see: Redis removes a counter by TTL at its
// expiry by the store's clock, which Redis's own clock need not follow; a
// counter brought to zero or below, or whose window is over when it
// starts, is deleted from Redis at once; and AddCount returns the zero
// time for a counter it removes.
func TestCounterTTL(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s, c := openTest(t, Options{Now: clock.Now})
	add := func(key string, delta int64, window time.Duration, wantN int64, wantExp time.Time) {
		t.Helper()
		n, exp, err := s.AddCount(ctx, key, delta, window)
		if err != nil || n != wantN || !exp.Equal(wantExp) {
			t.Errorf("AddCount(%q, %d, %v) = %d, %v, %v; want %d, %v", key, delta, window, n, exp, err, wantN, wantExp)
		}
	}
	var never time.Time

	start := clock.Now()
	add("k", 1, time.Hour, 1, start.Add(time.Hour))
	clock.Advance(time.Minute)
	add("k", 2, time.Minute, 3, start.Add(time.Hour))
	ttl := c.PTTL(ctx, s.counterKey("k")).Val()
	if ttl <= 58*time.Minute || ttl > time.Hour+time.Second {
		t.Errorf("PTTL of a counter expiring in an hour = %v", ttl)
	}

	// Expired by the store's clock, though Redis holds it for the rest of
	// its hour: started again, to expire by Redis's clock, an hour behind
	// the store's, in 3h.
	clock.Set(start.Add(time.Hour))
	now := clock.Now()
	add("k", 5, 2*time.Hour, 5, now.Add(2*time.Hour))
	// (PEXPIREAT is rounded up to the millisecond, and Redis's clock
	// reads whole milliseconds: the TTL may exceed 3h by a millisecond.)
	if ttl := c.PTTL(ctx, s.counterKey("k")).Val(); ttl < 3*time.Hour-time.Minute || ttl > 3*time.Hour+time.Second {
		t.Errorf("PTTL of a counter started again, expiring in 2h by a clock 1h ahead = %v, want 3h", ttl)
	}

	// Brought to zero or below: deleted from Redis.
	add("k", -5, time.Hour, 0, never)
	if n := c.Exists(ctx, s.counterKey("k")).Val(); n != 0 {
		t.Error("a counter at zero is still in Redis")
	}
	add("missing", -3, time.Hour, -3, never)
	if n := c.Exists(ctx, s.counterKey("missing")).Val(); n != 0 {
		t.Error("a counter created below zero is in Redis")
	}

	// A window over by both clocks: Redis drops the counter at once.
	add("gone", 1, -2*time.Hour, 1, now.Add(-2*time.Hour))
	if n := c.Exists(ctx, s.counterKey("gone")).Val(); n != 0 {
		t.Error("a counter whose window is over is still in Redis")
	}
}

// TestCounterRetry checks that an add sent again with the same nonce (as
// go-redis does when a reply is lost) is counted once, unless another add
// came in between.
func TestCounterRetry(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	now := time.Now()
	key := s.counterKey("retried")
	exp := strconv.FormatInt(now.Add(time.Hour).UnixNano(), 10)
	send := func(delta int64, tag string) string {
		t.Helper()
		cmds, err := s.run(ctx, call{addCountScript, []string{key}, []any{
			strconv.FormatInt(delta, 10), strconv.FormatInt(now.UnixNano(), 10),
			exp, strconv.FormatInt(ceilMillis(now.Add(time.Hour).UnixNano()), 10), tag,
		}})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := cmds[0].StringSlice()
		return res[0]
	}
	for _, step := range []struct {
		delta int64
		tag   string
		want  string
	}{
		{1, "a", "1"},
		{1, "a", "1"}, // a retry
		{2, "b", "3"},
		{2, "b", "3"}, // a retry
		{1, "a", "4"}, // not the last add: counted
	} {
		if got := send(step.delta, step.tag); got != step.want {
			t.Errorf("add %d tagged %s = %s, want %s", step.delta, step.tag, got, step.want)
		}
	}
}
