package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// errCannotLead is the error of a leader that a test has fail to prepare.
var errCannotLead = errors.New("cannot lead")

// TestQueue lines up calls behind a first leader that waits, so that they
// queue in the order given, and checks the batches that run, who led them
// and what each caller hears. Call i has value i; a call that runs gets
// result 10*i.
func TestQueue(t *testing.T) {
	tests := []struct {
		name     string
		calls    int
		max      int           // calls a batch takes
		cancel   []int         // calls whose context ends while they wait
		failLead []int         // calls that fail to lead, without taking a batch
		batches  [][]int       // calls of each batch run, in order
		leaders  []int         // calls that led, batch or not, in order
		errs     map[int]error // calls that fail, and how
	}{{
		name:    "one call",
		calls:   1,
		max:     64,
		batches: [][]int{{0}},
		leaders: []int{0},
	}, {
		name:    "order kept",
		calls:   6,
		max:     64,
		batches: [][]int{{0, 1, 2, 3, 4, 5}},
		leaders: []int{0},
	}, {
		name:    "at most max a batch, the lead handed to the next in line",
		calls:   10,
		max:     4,
		batches: [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}},
		leaders: []int{0, 4, 8},
	}, {
		name:    "a batch of one at a time",
		calls:   3,
		max:     1,
		batches: [][]int{{0}, {1}, {2}},
		leaders: []int{0, 1, 2},
	}, {
		name:    "withdrawn calls never run",
		calls:   6,
		max:     64,
		cancel:  []int{2, 3, 5},
		batches: [][]int{{0, 1, 4}},
		leaders: []int{0},
		errs:    map[int]error{2: context.Canceled, 3: context.Canceled, 5: context.Canceled},
	}, {
		name:    "a withdrawn call is not counted against max",
		calls:   6,
		max:     3,
		cancel:  []int{1},
		batches: [][]int{{0, 2, 3}, {4, 5}},
		leaders: []int{0, 4},
		errs:    map[int]error{1: context.Canceled},
	}, {
		name:     "the leader fails alone, the next leads",
		calls:    4,
		max:      64,
		failLead: []int{0},
		batches:  [][]int{{1, 2, 3}},
		leaders:  []int{0, 1},
		errs:     map[int]error{0: errCannotLead},
	}, {
		name:     "leaders fail in turn",
		calls:    4,
		max:      64,
		failLead: []int{0, 1},
		batches:  [][]int{{2, 3}},
		leaders:  []int{0, 1, 2},
		errs:     map[int]error{0: errCannotLead, 1: errCannotLead},
	}, {
		// A leader is not withdrawn: its lead function sees its context
		// ended, and fails to lead.
		name:    "the leader's context ends",
		calls:   4,
		max:     64,
		cancel:  []int{0},
		batches: [][]int{{1, 2, 3}},
		leaders: []int{0, 1},
		errs:    map[int]error{0: context.Canceled},
	}, {
		name:     "the last in line fails to lead",
		calls:    5,
		max:      4,
		failLead: []int{4},
		batches:  [][]int{{0, 1, 2, 3}},
		leaders:  []int{0, 4},
		errs:     map[int]error{4: errCannotLead},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer checkNoLeak(t, runtime.NumGoroutine())
			var q Queue[int, int]
			hold := make(chan struct{})
			var mu sync.Mutex
			var batches [][]int
			var leaders []int
			lead := func(leader *Call[int, int], take func(int) []*Call[int, int]) {
				mu.Lock()
				leaders = append(leaders, leader.Value)
				first := len(leaders) == 1
				mu.Unlock()
				if first {
					<-hold // until every call has queued
				}
				if err := leader.Ctx.Err(); err != nil {
					leader.Err = err
					return
				}
				if slices.Contains(tt.failLead, leader.Value) {
					leader.Err = errCannotLead
					return
				}
				var values []int
				for _, c := range take(tt.max) {
					values = append(values, c.Value)
					c.Result = 10 * c.Value
				}
				mu.Lock()
				batches = append(batches, values)
				mu.Unlock()
			}

			calls := make([]*Call[int, int], tt.calls)
			cancels := make([]context.CancelFunc, tt.calls)
			returned := make([]chan struct{}, tt.calls)
			for i := range calls {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				calls[i], cancels[i], returned[i] = &Call[int, int]{Ctx: ctx, Value: i}, cancel, make(chan struct{})
				go func() {
					defer close(returned[i])
					q.Do(calls[i], lead)
				}()
				waitLen(t, &q, i+1)
			}
			for _, i := range tt.cancel {
				cancels[i]()
				if i != 0 { // the leader is not withdrawn
					await(t, returned[i], "withdrawn call %d", i)
				}
			}
			close(hold)
			for i := range calls {
				await(t, returned[i], "call %d", i)
			}

			if !slices.EqualFunc(batches, tt.batches, slices.Equal) {
				t.Errorf("batches %v, want %v", batches, tt.batches)
			}
			if !slices.Equal(leaders, tt.leaders) {
				t.Errorf("leaders %v, want %v", leaders, tt.leaders)
			}
			for i, c := range calls {
				want, wantResult := tt.errs[i], 10*i
				if want != nil {
					wantResult = 0
				}
				if !errors.Is(c.Err, want) || c.Result != wantResult {
					t.Errorf("call %d: %d, %v; want %d, %v", i, c.Result, c.Err, wantResult, want)
				}
			}
			if n := q.Len(); n != 0 {
				t.Errorf("%d calls still in line", n)
			}
			// The line is free: a call now leads at once.
			c := &Call[int, int]{Ctx: context.Background(), Value: 99}
			q.Do(c, lead)
			if c.Result != 990 || c.Err != nil {
				t.Errorf("a call after the batches: %d, %v; want 990, <nil>", c.Result, c.Err)
			}
		})
	}
}

// TestLeaders checks that with Leaders set to two, two calls lead at once,
// that the calls that arrive meanwhile wait for the first of them to take
// a batch, and that each batch ends on its own.
func TestLeaders(t *testing.T) {
	defer checkNoLeak(t, runtime.NumGoroutine())
	q := Queue[int, int]{Leaders: 2}
	entered := make(chan int)
	proceed := map[int]chan struct{}{0: make(chan struct{}), 1: make(chan struct{})}
	var mu sync.Mutex
	var batches [][]int
	lead := func(leader *Call[int, int], take func(int) []*Call[int, int]) {
		if ch, ok := proceed[leader.Value]; ok {
			entered <- leader.Value
			<-ch
		}
		var values []int
		for _, c := range take(64) {
			values = append(values, c.Value)
			c.Result = 10 * c.Value
		}
		mu.Lock()
		batches = append(batches, values)
		mu.Unlock()
	}
	calls := make([]*Call[int, int], 5)
	returned := make([]chan struct{}, len(calls))
	for i := range calls {
		calls[i], returned[i] = &Call[int, int]{Ctx: context.Background(), Value: i}, make(chan struct{})
		go func() {
			defer close(returned[i])
			q.Do(calls[i], lead)
		}()
		if i < 2 {
			select {
			case v := <-entered:
				if v != i {
					t.Fatalf("call %d leads, want %d", v, i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("call %d does not lead while %d batches run", i, i)
			}
		}
		waitLen(t, &q, i+1)
	}
	// The second leader takes the calls in line; the first, none.
	close(proceed[1])
	await(t, returned[1], "call 1")
	close(proceed[0])
	for i, r := range returned {
		await(t, r, "call %d", i)
	}
	if want := [][]int{{1, 2, 3, 4}, {0}}; !slices.EqualFunc(batches, want, slices.Equal) {
		t.Errorf("batches %v, want %v", batches, want)
	}
	for i, c := range calls {
		if c.Err != nil || c.Result != 10*i {
			t.Errorf("call %d: %d, %v; want %d, <nil>", i, c.Result, c.Err, 10*i)
		}
	}
}

// TestCanceledInBatch checks that a call whose context ends once it is in
// a batch is answered with its batch, not withdrawn: its caller waits for
// the leader's answer.
func TestCanceledInBatch(t *testing.T) {
	defer checkNoLeak(t, runtime.NumGoroutine())
	var q Queue[int, int]
	hold, taken, finish := make(chan struct{}), make(chan struct{}), make(chan struct{})
	lead := func(leader *Call[int, int], take func(int) []*Call[int, int]) {
		if leader.Value == 0 {
			<-hold
		}
		batch := take(64)
		if leader.Value == 0 {
			close(taken)
			<-finish
		}
		for _, c := range batch {
			c.Result = 10 * c.Value
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := []*Call[int, int]{{Ctx: context.Background(), Value: 0}, {Ctx: ctx, Value: 1}}
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() { q.Do(c, lead) })
		waitLen(t, &q, i+1)
	}
	close(hold)
	<-taken
	cancel()
	time.Sleep(10 * time.Millisecond) // time for a wrong Do to return
	close(finish)
	wg.Wait()
	if c := calls[1]; c.Result != 10 || c.Err != nil {
		t.Errorf("canceled in its batch: %d, %v; want 10, <nil>", c.Result, c.Err)
	}
}

// TestLeaderPanics checks that a leader's panic reaches its caller, that
// the others of its batch hear ErrAbandoned, and that the line goes on.
func TestLeaderPanics(t *testing.T) {
	for _, afterTake := range []bool{false, true} {
		t.Run(fmt.Sprint("after take ", afterTake), func(t *testing.T) {
			defer checkNoLeak(t, runtime.NumGoroutine())
			var q Queue[int, int]
			hold := make(chan struct{})
			lead := func(leader *Call[int, int], take func(int) []*Call[int, int]) {
				if leader.Value == 0 {
					<-hold
					if !afterTake {
						panic("before take")
					}
				}
				batch := take(2)
				for _, c := range batch {
					c.Result = 10 * c.Value
				}
				if leader.Value == 0 {
					panic("after take")
				}
			}
			calls := make([]*Call[int, int], 4)
			var panicked any
			var wg sync.WaitGroup
			for i := range calls {
				calls[i] = &Call[int, int]{Ctx: context.Background(), Value: i}
				wg.Go(func() {
					defer func() {
						if p := recover(); p != nil {
							panicked = p
						}
					}()
					q.Do(calls[i], lead)
				})
				waitLen(t, &q, i+1)
			}
			close(hold)
			done := make(chan struct{})
			go func() {
				wg.Wait()
				close(done)
			}()
			await(t, done, "a call")
			want := map[bool]any{false: "before take", true: "after take"}[afterTake]
			if panicked != want {
				t.Errorf("the leader's caller recovered %v, want %v", panicked, want)
			}
			abandoned := 0
			if afterTake {
				abandoned = 1 // call 1 was in the leader's batch
			}
			for i, c := range calls[1:] {
				i++
				if i <= abandoned {
					if !errors.Is(c.Err, ErrAbandoned) || c.Result != 0 {
						t.Errorf("call %d: %d, %v; want 0, ErrAbandoned", i, c.Result, c.Err)
					}
				} else if c.Err != nil || c.Result != 10*i {
					t.Errorf("call %d: %d, %v; want %d, <nil>", i, c.Result, c.Err, 10*i)
				}
			}
		})
	}
}

// TestUnderLoad has many goroutines make calls as they come, some of them
// withdrawn, with one leader at a time and with several, and checks that
// every call that is not withdrawn runs exactly once and hears its own
// result, that batches were shared, that no more batches than Leaders ran
// at once, and that no goroutine is left behind.
func TestUnderLoad(t *testing.T) {
	for _, leaders := range []int{0, 3} {
		t.Run(fmt.Sprint("leaders=", leaders), func(t *testing.T) {
			defer checkNoLeak(t, runtime.NumGoroutine())
			const goroutines, each, maxBatch = 48, 200, 8
			q := Queue[int, int]{Leaders: leaders}
			var ran sync.Map
			var running, most atomic.Int32
			lead := func(_ *Call[int, int], take func(int) []*Call[int, int]) {
				n := running.Add(1)
				defer running.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				batch := take(maxBatch)
				if len(batch) > maxBatch {
					t.Errorf("a batch of %d", len(batch))
				}
				time.Sleep(50 * time.Microsecond) // a commit
				made := 0
				for _, c := range batch {
					if err := c.Ctx.Err(); err != nil {
						c.Err = err
						continue
					}
					if _, dup := ran.LoadOrStore(c.Value, true); dup {
						t.Errorf("call %d ran twice", c.Value)
					}
					c.Result = 2 * c.Value
					made++
				}
				q.Count(made)
			}
			var wg sync.WaitGroup
			var canceled, succeeded [goroutines]int
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						v := g*each + i
						ctx, cancel := context.WithCancel(context.Background())
						if rand.IntN(10) == 0 {
							time.AfterFunc(time.Duration(rand.IntN(100))*time.Microsecond, cancel)
						}
						c := &Call[int, int]{Ctx: ctx, Value: v}
						q.Do(c, lead)
						cancel()
						_, didRun := ran.Load(v)
						switch {
						case errors.Is(c.Err, context.Canceled):
							canceled[g]++
							if didRun {
								t.Errorf("call %d ran but heard %v", v, c.Err)
							}
						case c.Err != nil || c.Result != 2*v:
							t.Errorf("call %d: %d, %v; want %d, <nil>", v, c.Result, c.Err, 2*v)
						default:
							succeeded[g]++
						}
					}
				})
			}
			wg.Wait()
			var ok, gaveUp int
			for g := range goroutines {
				ok += succeeded[g]
				gaveUp += canceled[g]
			}
			batches, calls := q.Counts()
			if ok+gaveUp != goroutines*each || calls != ok {
				t.Errorf("%d calls ran, %d succeeded and %d were canceled of %d", calls, ok, gaveUp, goroutines*each)
			}
			if batches >= calls {
				t.Errorf("%d calls took %d batches: none was shared", calls, batches)
			}
			if m := int(most.Load()); m > max(leaders, 1) || leaders > 1 && m < 2 {
				t.Errorf("at most %d batches ran at once, want %d", m, max(leaders, 1))
			}
			if n := q.Len(); n != 0 {
				t.Errorf("%d calls still in line", n)
			}
			t.Logf("%d calls in %d batches, %d canceled, at most %d batches at once", calls, batches, gaveUp, most.Load())
		})
	}
}

// waitLen waits until n calls wait in q's line.
func waitLen(t *testing.T, q *Queue[int, int], n int) {
	t.Helper()
	for {
		l := q.Len()
		if l == n {
			return
		}
		if l > n {
			t.Fatalf("%d calls wait, want %d", l, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// await waits until ch is closed, and fails the test if it is not within
// five seconds: the call it stands for does not return.
func await(t *testing.T, ch <-chan struct{}, format string, args ...any) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf(format+" does not return", args...)
	}
}

// checkNoLeak fails the test if more goroutines than before run a second
// from now: every caller must have returned.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(time.Millisecond)
	}
}
