package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
)

// RunCountersClocked runs the checks of store.Counters that need the
// store's clock in the test's hands: subtests CountersClocked,
// CounterExpiryClocked and CounterKeysClocked. open must return a new
// store, with no counters, that tells the time by calling now (a
// backend's Options.Now, say); it may register cleanups on t.
//
// [RunCounters] can only read the real clock around a call, so it allows
// a counter's expiry some slack, and sees a counter expire only by waiting
// for it. Here the test moves the clock, so the checks are exact, to the
// nanosecond, and wait for nothing: a new counter expires at now plus its
// window, a live one keeps its expiry whatever window later adds ask for,
// a counter is live until the nanosecond before its expiry and gone to
// every method from then on, though the backend still holds it, one
// brought to zero or below is gone and the next add starts it afresh,
// and every key, of any bytes, keeps a counter and an expiry of its own.
// RunCounters still matters: it checks the backend's ordinary clock, and
// concurrent adds.
//
// The clock starts at the real time, to within a millisecond, with
// nanoseconds that a backend keeping only microseconds or milliseconds
// loses, and never stands before its start; the checks move it ahead by up
// to an hour or so. Every counter they expect to be live has a window of a
// minute or more, so a backend whose server also drops counters by its own
// clock (Redis, by TTL) still holds them while the test runs.
func RunCountersClocked(t *testing.T, open func(t *testing.T, now func() time.Time) store.Counters) {
	clocked := func(test func(*testing.T, store.Counters, *fakeclock.Clock)) func(*testing.T) {
		return func(t *testing.T) {
			clock := fakeclock.New(time.Now().Truncate(time.Millisecond).Add(234567 * time.Nanosecond))
			test(t, open(t, clock.Now), clock)
		}
	}
	for _, c := range []check{
		{"CountersClocked", clocked(testCountersClocked)},
		{"CounterExpiryClocked", clocked(testCounterExpiryClocked)},
		{"CounterKeysClocked", clocked(testCounterKeysClocked)},
	} {
		t.Run(c.name, c.run)
	}
}

// testCountersClocked checks the life of counters by the store's clock:
// a new counter expires exactly a window from now, and later adds, with
// longer or shorter windows, keep that expiry; a counter brought to zero
// or below, or deleted, is gone, and the next add starts it afresh with a
// new window; a counter whose window is over when it starts is never
// live.
func testCountersClocked(t *testing.T, s store.Counters, clock *fakeclock.Clock) {
	ctx := context.Background()
	start := clock.Now()

	checkNoCount(t, s, "a", "on an empty store")
	addExact(t, s, clock, "a", 1, time.Minute, 1, start.Add(time.Minute))
	clock.Advance(30 * time.Second)
	addExact(t, s, clock, "a", 2, time.Hour, 3, start.Add(time.Minute)) // a longer window
	checkCountExact(t, s, clock, "a", 3, start.Add(time.Minute))

	bExpires := clock.Now().Add(time.Hour)
	addExact(t, s, clock, "b", 1, time.Hour, 1, bExpires)
	clock.Advance(time.Minute)
	addExact(t, s, clock, "b", 2, time.Minute, 3, bExpires) // a shorter window
	addExact(t, s, clock, "b", 0, 2*time.Hour, 3, bExpires)
	checkCountExact(t, s, clock, "b", 3, bExpires)

	// Brought to zero, then below zero: gone, and the next add starts
	// afresh, a window from the time of that add.
	clock.Advance(10 * time.Second)
	addRemoves(t, s, clock, "b", -3, 0)
	addExact(t, s, clock, "b", 4, 2*time.Hour, 4, clock.Now().Add(2*time.Hour))
	clock.Advance(time.Second)
	addRemoves(t, s, clock, "b", -5, -1)
	addExact(t, s, clock, "b", 1, time.Minute, 1, clock.Now().Add(time.Minute))

	// A first add of zero or less leaves no counter.
	addRemoves(t, s, clock, "missing", -1, -1)
	addRemoves(t, s, clock, "zero", 0, 0)

	// DeleteCount removes a live counter, and only that one; the next add
	// starts it afresh.
	cExpires := clock.Now().Add(time.Hour)
	addExact(t, s, clock, "c", 7, time.Hour, 7, cExpires)
	if err := s.DeleteCount(ctx, "b"); err != nil {
		t.Fatalf("DeleteCount(b): %v", err)
	}
	checkNoCount(t, s, "b", "after DeleteCount")
	checkCountExact(t, s, clock, "c", 7, cExpires)
	if err := s.DeleteCount(ctx, "b"); err != nil {
		t.Errorf("DeleteCount of a missing counter: %v", err)
	}
	clock.Advance(time.Second)
	addExact(t, s, clock, "b", 2, time.Hour, 2, clock.Now().Add(time.Hour))

	// A window that is over, or ends now, when the counter starts: the add
	// counts and returns that expiry, but the counter is never live, and
	// the next add starts it afresh.
	for _, window := range []time.Duration{-2 * time.Hour, -time.Nanosecond, 0} {
		key := "over " + window.String()
		addExact(t, s, clock, key, 1, window, 1, clock.Now().Add(window))
		checkNoCount(t, s, key, "when its window ("+window.String()+") was over as it started")
		addExact(t, s, clock, key, 2, time.Hour, 2, clock.Now().Add(time.Hour))
	}
}

// testCounterExpiryClocked checks that a counter is live until the
// nanosecond before its expiry, whatever later adds ask for, and from its
// expiry on is gone to every method, though the backend may still hold
// it: it counts from zero again with a new window.
func testCounterExpiryClocked(t *testing.T, s store.Counters, clock *fakeclock.Clock) {
	ctx := context.Background()
	expires := clock.Now().Add(time.Minute)
	// Each key meets one method first once the counter has expired, so
	// that every method sees an expired counter the backend may still
	// hold.
	keys := []string{"count", "up", "down", "delete"}
	for _, key := range keys {
		addExact(t, s, clock, key, 3, time.Minute, 3, expires)
	}

	clock.Set(expires.Add(-time.Nanosecond))
	for _, key := range keys {
		checkCountExact(t, s, clock, key, 3, expires)
	}
	addExact(t, s, clock, "up", 1, time.Hour, 4, expires) // still live: keeps its expiry

	clock.Set(expires)
	checkNoCount(t, s, "count", "at its expiry")
	addExact(t, s, clock, "up", 1, time.Hour, 1, expires.Add(time.Hour)) // from zero, not 4
	addRemoves(t, s, clock, "down", -1, -1)                              // from zero, not 3
	if err := s.DeleteCount(ctx, "delete"); err != nil {
		t.Errorf("DeleteCount of an expired counter: %v", err)
	}
	checkNoCount(t, s, "delete", "after DeleteCount of the expired counter")
	addExact(t, s, clock, "count", 5, time.Minute, 5, expires.Add(time.Minute))

	// The counter started again lives by its new expiry.
	clock.Set(expires.Add(time.Hour - time.Nanosecond))
	checkCountExact(t, s, clock, "up", 1, expires.Add(time.Hour))
	clock.Advance(time.Nanosecond)
	checkNoCount(t, s, "up", "at the expiry of its second window")
}

// testCounterKeysClocked checks that keys of any bytes (empty, with NULs,
// invalid UTF-8) each keep a counter and an expiry of their own: none is
// cut at a NUL, trimmed, or changed to valid UTF-8.
func testCounterKeysClocked(t *testing.T, s store.Counters, clock *fakeclock.Clock) {
	keys := []string{
		"plain", "nul\x00byte", "bad\xffutf8", "", "\x00",
		string(make([]byte, 128)), strings.Repeat("\xff", 128),
	}
	start := clock.Now()
	expires := make([]time.Time, len(keys))
	for i, key := range keys {
		// A different start and window for each key: a different expiry.
		clock.Set(start.Add(time.Duration(i) * time.Second))
		checkNoCount(t, s, key, "before its first add")
		window := time.Duration(i+1) * time.Minute
		expires[i] = clock.Now().Add(window)
		addExact(t, s, clock, key, 1, window, 1, expires[i])
		clock.Advance(30 * time.Second)
		addExact(t, s, clock, key, int64(i+1), time.Hour, int64(i+2), expires[i])
	}
	clock.Set(start.Add(30 * time.Second))
	for i, key := range keys {
		checkCountExact(t, s, clock, key, int64(i+2), expires[i])
	}
	// What a backend that cut, trimmed or mended keys would have stored
	// them as.
	for _, key := range []string{"nul", "bad", "bad\uFFFDutf8", "bad?utf8"} {
		checkNoCount(t, s, key, "(a key no counter has, though one like it does)")
	}
}

// addExact adds delta to the counter key, with window, and reports an
// error unless AddCount returns want and expires, exactly.
func addExact(t *testing.T, s store.Counters, clock *fakeclock.Clock, key string, delta int64, window time.Duration, want int64, expires time.Time) {
	t.Helper()
	now := clock.Now()
	n, exp, err := s.AddCount(context.Background(), key, delta, window)
	if err != nil {
		t.Fatalf("AddCount(%q, %d, %v) at %v: %v", key, delta, window, now, err)
	}
	if n != want || !exp.Equal(expires) {
		t.Errorf("AddCount(%q, %d, %v) at %v = %d expiring %v, want %d expiring %v%s",
			key, delta, window, now, n, exp, want, expires, offBy(exp, expires))
	}
}

// addRemoves adds delta to the counter key, which the add must bring to
// zero or below, and reports an error unless AddCount returns want and
// the counter is gone. What expiry AddCount returns then is the backend's
// choice.
func addRemoves(t *testing.T, s store.Counters, clock *fakeclock.Clock, key string, delta, want int64) {
	t.Helper()
	now := clock.Now()
	n, _, err := s.AddCount(context.Background(), key, delta, time.Hour)
	if err != nil {
		t.Fatalf("AddCount(%q, %d, 1h) at %v: %v", key, delta, now, err)
	}
	if n != want {
		t.Errorf("AddCount(%q, %d, 1h) at %v = %d, want %d", key, delta, now, n, want)
	}
	checkNoCount(t, s, key, fmt.Sprintf("after an add brought it to %d", n))
}

// checkCountExact reports an error unless the counter key is live with
// value want and expiry expires, exactly.
func checkCountExact(t *testing.T, s store.Counters, clock *fakeclock.Clock, key string, want int64, expires time.Time) {
	t.Helper()
	now := clock.Now()
	n, exp, err := s.Count(context.Background(), key)
	if err != nil {
		t.Fatalf("Count(%q) at %v: %v", key, now, err)
	}
	if n != want || !exp.Equal(expires) {
		t.Errorf("Count(%q) at %v = %d expiring %v, want %d expiring %v%s",
			key, now, n, exp, want, expires, offBy(exp, expires))
	}
}

// offBy says, for an error message, how far a non-zero expiry got lies
// from the one wanted, when they differ.
func offBy(got, want time.Time) string {
	if got.IsZero() || got.Equal(want) {
		return ""
	}
	return " (off by " + got.Sub(want).String() + ")"
}
