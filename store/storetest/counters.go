package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// clockSlack is how far the expiry of a new counter may lie from now plus
// its window, as the test measures now: room for a backend that reads the
// clock of a database server rather than its own, and rounds to the
// millisecond. It is well under a second, so that a backend that rounds
// windows to whole seconds fails.
const clockSlack = 250 * time.Millisecond

// testCounters checks the life of one counter: created by its first add,
// counting up and down, removed when its value falls to zero or below,
// and deleted on demand.
func testCounters(t *testing.T, s store.Counters) {
	ctx := context.Background()
	checkNoCount(t, s, "a", "on an empty store")
	if err := s.DeleteCount(ctx, "a"); err != nil {
		t.Errorf("DeleteCount of a missing counter: %v", err)
	}
	checkNoCount(t, s, "a", "after DeleteCount of a missing counter")

	expires := addNew(t, s, "a", 1, time.Hour)
	steps := []struct {
		name  string
		delta int64
		want  int64
	}{
		{"adding 2", 2, 3},
		{"adding 0", 0, 3},
		{"adding -1", -1, 2},
		{"adding 40", 40, 42},
		{"adding -41", -41, 1},
	}
	for _, st := range steps {
		// A different window each time: a live counter keeps its expiry.
		n, exp, err := s.AddCount(ctx, "a", st.delta, time.Duration(st.want+2)*time.Hour)
		if err != nil {
			t.Fatalf("%s: AddCount: %v", st.name, err)
		}
		if n != st.want {
			t.Errorf("%s: AddCount = %d, want %d", st.name, n, st.want)
		}
		if !sameTime(exp, expires) {
			t.Errorf("%s: AddCount expires %v, want %v: a live counter keeps its expiry", st.name, exp, expires)
		}
		checkCount(t, s, "a", st.want, expires)
	}

	// Falling to zero removes the counter; the next add starts it again,
	// with a new window.
	if n, _, err := s.AddCount(ctx, "a", -1, time.Hour); err != nil || n != 0 {
		t.Errorf("AddCount(-1) of a counter at 1 = %d, %v; want 0, nil", n, err)
	}
	checkNoCount(t, s, "a", "after its value fell to 0")
	addNew(t, s, "a", 5, 2*time.Hour)

	// Falling below zero removes it too, and the value returned is the
	// one the delta made.
	if n, _, err := s.AddCount(ctx, "a", -7, time.Hour); err != nil || n != -2 {
		t.Errorf("AddCount(-7) of a counter at 5 = %d, %v; want -2, nil", n, err)
	}
	checkNoCount(t, s, "a", "after its value fell below 0")

	// A first add of zero or less leaves no counter.
	for _, delta := range []int64{0, -1, -100} {
		key := fmt.Sprintf("first %d", delta)
		if n, _, err := s.AddCount(ctx, key, delta, time.Hour); err != nil || n != delta {
			t.Errorf("first AddCount(%d) = %d, %v; want %d, nil", delta, n, err, delta)
		}
		checkNoCount(t, s, key, fmt.Sprintf("after a first add of %d", delta))
		addNew(t, s, key, 1, time.Hour)
	}

	// DeleteCount removes a live counter, and only that one.
	addNew(t, s, "b", 3, time.Hour)
	if err := s.DeleteCount(ctx, "a"); err != nil {
		t.Errorf("DeleteCount of a missing counter: %v", err)
	}
	if err := s.DeleteCount(ctx, "b"); err != nil {
		t.Fatalf("DeleteCount: %v", err)
	}
	checkNoCount(t, s, "b", "after DeleteCount")
	if n, _, err := s.Count(ctx, "first 0"); err != nil || n != 1 {
		t.Errorf("Count(first 0) after DeleteCount(b) = %d, %v; want 1, nil", n, err)
	}
	if err := s.DeleteCount(ctx, "b"); err != nil {
		t.Errorf("second DeleteCount: %v", err)
	}
	addNew(t, s, "b", 1, time.Minute)
}

// testCounterExpiry checks that a counter lives until the expiry its first
// add set, whatever later adds ask for, and is gone to every method once
// that has passed: it counts from zero again with a new window.
func testCounterExpiry(t *testing.T, s store.Counters) {
	ctx := context.Background()
	const window = 1500 * time.Millisecond
	keys := []string{"up", "down", "count", "delete"}
	var expires time.Time
	for i, key := range keys {
		exp := addNew(t, s, key, 2, window)
		if i == 0 {
			expires = exp
		}
		// A later add with a longer window keeps the first expiry.
		n, later, err := s.AddCount(ctx, key, 1, time.Hour)
		if err != nil {
			t.Fatalf("AddCount(%q) with a longer window: %v", key, err)
		}
		if n != 3 || !sameTime(later, exp) {
			t.Errorf("AddCount(%q) with a longer window = %d expiring %v, want 3 expiring %v", key, n, later, exp)
		}
		if exp.After(expires) {
			expires = exp
		}
	}
	time.Sleep(time.Until(expires) + clockSlack)

	// Each key meets one method first, so that every method sees an
	// expired counter the backend may still hold.
	checkNoCount(t, s, "count", "once its window has passed")
	addNew(t, s, "up", 1, time.Hour)
	if n, _, err := s.AddCount(ctx, "down", -1, time.Hour); err != nil || n != -1 {
		t.Errorf("AddCount(-1) of an expired counter at 3 = %d, %v; want -1, nil: it starts from zero", n, err)
	}
	checkNoCount(t, s, "down", "after AddCount(-1) of the expired counter")
	if err := s.DeleteCount(ctx, "delete"); err != nil {
		t.Errorf("DeleteCount of an expired counter: %v", err)
	}
	checkNoCount(t, s, "delete", "after DeleteCount of the expired counter")
	addNew(t, s, "count", 4, time.Minute)
}

// testCountersConcurrent has many goroutines add to one counter at once,
// then take away from it: each add is atomic, so each sees a different
// value, and together they see every value in between.
func testCountersConcurrent(t *testing.T, s store.Counters) {
	const workers = 20
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		delta int64
		want  []int64 // the values the adds return, in order
	}{
		{"adding 1", 1, countRange(1, workers)},
		{"adding -1", -1, countRange(0, workers-1)},
	} {
		var wg sync.WaitGroup
		counts := make([]int64, workers)
		expires := make([]time.Time, workers)
		errs := make([]error, workers)
		for i := range workers {
			wg.Go(func() { counts[i], expires[i], errs[i] = s.AddCount(ctx, "raced", c.delta, time.Hour) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s: goroutine %d: %v", c.name, i, err)
			}
		}
		if slices.Sort(counts); !slices.Equal(counts, c.want) {
			t.Errorf("%s from %d goroutines at once returned %v, want %v", c.name, workers, counts, c.want)
		}
		if c.delta > 0 {
			// The counter had no expiry before: one add set it, and every
			// other kept it.
			for i, exp := range expires {
				if !sameTime(exp, expires[0]) {
					t.Errorf("%s: goroutine %d saw expiry %v, goroutine 0 %v", c.name, i, exp, expires[0])
				}
			}
			checkCount(t, s, "raced", workers, expires[0])
		}
	}
	checkNoCount(t, s, "raced", "after as many -1 as +1")
}

// testCounterKeys checks that every key names a counter of its own: keys
// that differ only in case, in a byte after a NUL, or in the last of 128
// bytes, and keys of any bytes.
func testCounterKeys(t *testing.T, s store.Counters) {
	ctx := context.Background()
	var low, high []byte
	for b := range 128 {
		low, high = append(low, byte(b)), append(high, byte(128+b))
	}
	keys := []string{
		"a", "A", "b", "ab",
		"throttle:user:AbCd", "throttle:user:abcd",
		"\x00", "\x00\x00", "a\x00b", "a\x00c",
		":", "::", " ", "a ",
		"ünïcödé ☃", "\xff\xfe invalid UTF-8",
		strings.Repeat("k", 128), strings.Repeat("k", 127) + "l", strings.Repeat("k", 127),
		string(low), string(high),
	}
	expires := make([]time.Time, len(keys))
	for i, key := range keys {
		if len(key) > 128 {
			t.Fatalf("test key %d is %d bytes, more than a store must take", i, len(key))
		}
		expires[i] = addNew(t, s, key, int64(i+1), time.Duration(i+1)*time.Minute)
	}
	for i, key := range keys {
		checkCount(t, s, key, int64(i+1), expires[i])
	}
	// Adding to, removing and deleting some counters leaves the others as
	// they were.
	for i, key := range keys {
		switch i % 3 {
		case 0:
			if n, _, err := s.AddCount(ctx, key, 1, time.Hour); err != nil || n != int64(i+2) {
				t.Errorf("AddCount(%q, 1) of a counter at %d = %d, %v; want %d", key, i+1, n, err, i+2)
			}
		case 1:
			if err := s.DeleteCount(ctx, key); err != nil {
				t.Errorf("DeleteCount(%q): %v", key, err)
			}
		case 2:
			if n, _, err := s.AddCount(ctx, key, -int64(i+1), time.Hour); err != nil || n != 0 {
				t.Errorf("AddCount(%q, %d) of a counter at %d = %d, %v; want 0", key, -(i + 1), i+1, n, err)
			}
		}
	}
	for i, key := range keys {
		if i%3 == 0 {
			checkCount(t, s, key, int64(i+2), expires[i])
		} else {
			checkNoCount(t, s, key, "after it was deleted or fell to 0")
		}
	}
}

// addNew adds delta to the counter key, which must not exist, and checks
// that it starts from zero and expires window from now. It returns the
// expiry.
func addNew(t *testing.T, s store.Counters, key string, delta int64, window time.Duration) time.Time {
	t.Helper()
	before := time.Now()
	n, expires, err := s.AddCount(context.Background(), key, delta, window)
	after := time.Now()
	if err != nil {
		t.Fatalf("AddCount(%q, %d, %v): %v", key, delta, window, err)
	}
	if n != delta {
		t.Errorf("AddCount(%q, %d, %v) of a missing counter = %d, want %d", key, delta, window, n, delta)
	}
	if lo, hi := before.Add(window-clockSlack), after.Add(window+clockSlack); expires.Before(lo) || expires.After(hi) {
		t.Errorf("AddCount(%q, %d, %v) of a missing counter expires %v, want %v from now (%v to %v)",
			key, delta, window, expires, window, lo, hi)
	}
	checkCount(t, s, key, delta, expires)
	return expires
}

// checkCount reports an error unless the counter key is live with value
// want and expiry expires.
func checkCount(t *testing.T, s store.Counters, key string, want int64, expires time.Time) {
	t.Helper()
	n, exp, err := s.Count(context.Background(), key)
	if err != nil {
		t.Fatalf("Count(%q): %v", key, err)
	}
	if n != want || !sameTime(exp, expires) {
		t.Errorf("Count(%q) = %d expiring %v, want %d expiring %v", key, n, exp, want, expires)
	}
}

// checkNoCount reports an error unless there is no live counter key: Count
// returns 0 and the zero time.
func checkNoCount(t *testing.T, s store.Counters, key, when string) {
	t.Helper()
	n, exp, err := s.Count(context.Background(), key)
	if err != nil {
		t.Fatalf("Count(%q) %s: %v", key, when, err)
	}
	if n != 0 || !exp.IsZero() {
		t.Errorf("Count(%q) %s = %d expiring %v, want 0 and the zero time", key, when, n, exp)
	}
}

// countRange returns the numbers from lo to hi, in order.
func countRange(lo, hi int64) []int64 {
	var out []int64
	for n := lo; n <= hi; n++ {
		out = append(out, n)
	}
	return out
}
