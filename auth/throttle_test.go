package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

func newFakeClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// newClockedStore returns an empty memstore.Store on clock (so that its
// counters expire on the test's timeline), closed when the test ends.
func newClockedStore(tb testing.TB, clock *fakeclock.Clock) *memstore.Store {
	tb.Helper()
	s := memstore.New(memstore.Options{Now: clock.Now})
	tb.Cleanup(func() { s.Close() })
	return s
}

// newTestThrottle returns a Throttle counting in counters, or fails the test.
func newTestThrottle(tb testing.TB, counters store.Counters, opts ThrottleOptions, now func() time.Time) *Throttle {
	tb.Helper()
	th, err := NewThrottle(counters, opts, now)
	if err != nil {
		tb.Fatal(err)
	}
	return th
}

// throttleCounts is what a throttle holds about one username and address.
type throttleCounts struct {
	pair, user, addr, delay int64
}

// counts reads the counters th keeps about user and addr.
func (th *Throttle) counts(tb testing.TB, user, addr string) throttleCounts {
	tb.Helper()
	read := func(kind, of string) int64 {
		n, _, err := th.counters.Count(context.Background(), th.key(kind, of))
		if err != nil {
			tb.Fatalf("Count(%s): %v", kind, err)
		}
		return n
	}
	u, a := foldUser(user), addressKey(addr)
	return throttleCounts{
		pair:  read("pair", u+"\x00"+a),
		user:  read("user", u),
		addr:  read("addr", a),
		delay: read("delay", u),
	}
}

// spyCounters wraps a store.Counters, recording every call, and fails
// the calls of one method (after the first failAfter of them) once
// failWith is set.
type spyCounters struct {
	store.Counters

	mu        sync.Mutex
	keys      map[string]bool
	calls     map[string]int
	failOp    string
	failAfter int
	failWith  error
}

func newSpyCounters(inner store.Counters) *spyCounters {
	return &spyCounters{Counters: inner, keys: map[string]bool{}, calls: map[string]int{}}
}

// failFrom makes the calls of op fail with err, after the first n of them.
func (s *spyCounters) failFrom(op string, n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOp, s.failAfter, s.failWith = op, n, err
	s.calls = map[string]int{}
}

func (s *spyCounters) called(op, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = true
	s.calls[op]++
	if s.failWith != nil && op == s.failOp && s.calls[op] > s.failAfter {
		return s.failWith
	}
	return nil
}

// total is the number of calls made, of every method.
func (s *spyCounters) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

func (s *spyCounters) usedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.keys {
		keys = append(keys, k)
	}
	return keys
}

func (s *spyCounters) AddCount(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Time, error) {
	if err := s.called("AddCount", key); err != nil {
		return 0, time.Time{}, err
	}
	return s.Counters.AddCount(ctx, key, delta, window)
}

func (s *spyCounters) Count(ctx context.Context, key string) (int64, time.Time, error) {
	if err := s.called("Count", key); err != nil {
		return 0, time.Time{}, err
	}
	return s.Counters.Count(ctx, key)
}

func (s *spyCounters) DeleteCount(ctx context.Context, key string) error {
	if err := s.called("DeleteCount", key); err != nil {
		return err
	}
	return s.Counters.DeleteCount(ctx, key)
}

// wantThrottled fails the test unless err is a *ThrottledError whose
// RetryAfter is want (or, when want is zero, in (0, 15m]), and not
// ErrBadCredentials.
func wantThrottled(tb testing.TB, err error, want time.Duration, what string) {
	tb.Helper()
	var te *ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) || errors.Is(err, ErrBadCredentials) {
		tb.Errorf("%s = %v, want a ThrottledError", what, err)
		return
	}
	switch {
	case want == 0 && (te.RetryAfter <= 0 || te.RetryAfter > DefaultWindow):
		tb.Errorf("%s: RetryAfter = %v, want in (0, 15m]", what, te.RetryAfter)
	case want != 0 && te.RetryAfter != want:
		tb.Errorf("%s: RetryAfter = %v, want %v", what, te.RetryAfter, want)
	}
}

func TestThrottleDefaults(t *testing.T) {
	th := newTestThrottle(t, newUsers(t), ThrottleOptions{}, nil)
	want := ThrottleOptions{PerUserAddress: 10, PerUser: 50, PerAddress: 50, Window: 15 * time.Minute, MaxDelay: time.Minute}
	if th.opts != want {
		t.Errorf("defaults: %+v, want %+v", th.opts, want)
	}
	if th.now == nil {
		t.Error("nil clock")
	}
	if _, err := NewThrottle(nil, ThrottleOptions{}, nil); err == nil {
		t.Error("NewThrottle(nil counters) succeeded")
	}
}

// throttledAccounts returns Accounts with a Throttle of opts over one
// memstore on a fake clock, with alice registered (from no address).
func throttledAccounts(t *testing.T, opts ThrottleOptions) (*Accounts, *Throttle, *fakeclock.Clock) {
	t.Helper()
	clock := newFakeClock()
	ms := newClockedStore(t, clock)
	th := newTestThrottle(t, ms, opts, clock.Now)
	a := newTestAccounts(t, ms, Options{Throttle: th, Now: clock.Now})
	if _, err := a.Register(t.Context(), "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	return a, th, clock
}

// TestThrottlePerAddress: failures from one address count together for
// every address it stands for (the same IPv4 address however written,
// the same IPv6 /64) and for no other.
func TestThrottlePerAddress(t *testing.T) {
	tests := []struct {
		attacker string // fails 5 times from here
		same     []string
		other    []string
	}{
		{"192.0.2.7", []string{"192.0.2.7", "::ffff:192.0.2.7", "192.0.2.7:4321"}, []string{"192.0.2.8", "10.0.0.7"}},
		{"2001:db8:1:2::1", []string{"2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff", "[2001:db8:1:2::9]:443", "2001:DB8:1:2::3", "2001:db8:1:2::1%eth0"},
			[]string{"2001:db8:1:3::1", "2001:db8::1"}},
		{"not-an-ip", []string{"not-an-ip"}, []string{"Not-An-IP", "not-an-ip2"}},
	}
	for _, tt := range tests {
		t.Run(tt.attacker, func(t *testing.T) {
			ctx := t.Context()
			a, _, _ := throttledAccounts(t, ThrottleOptions{PerAddress: 5})
			for i := range 5 {
				if _, err := a.Login(ctx, fmt.Sprintf("user%d", i), goodPassword, tt.attacker); err != ErrBadCredentials {
					t.Fatalf("failure %d: %v", i+1, err)
				}
			}
			for _, addr := range tt.same {
				_, err := a.Login(ctx, "alice", goodPassword, addr)
				wantThrottled(t, err, 0, "Login from "+addr)
			}
			for _, addr := range tt.other {
				if _, err := a.Login(ctx, "alice", goodPassword, addr); err != nil {
					t.Errorf("Login from %s = %v, want a login", addr, err)
				}
			}
		})
	}
}

func TestAddressKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:80", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"2001:db8:a:b:c:d:e:f", "2001:db8:a:b::/64"},
		{"2001:DB8:A:B::1", "2001:db8:a:b::/64"},
		{"[2001:db8:a:b::1]:8080", "2001:db8:a:b::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"localhost", "raw:localhost"},
		{"192.0.2.1.example", "raw:192.0.2.1.example"},
	}
	for _, tt := range tests {
		if got := addressKey(tt.in); got != tt.want {
			t.Errorf("addressKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if foldUser("AbC.x-Y_") != "abc.x-y_" {
		t.Errorf("foldUser does not lowercase")
	}
}

// TestThrottleKeys: the store never sees a username or an address in a
// counter's key, and keys stay within the 128 bytes store.Counters allows,
// whatever the client sends as its address.
func TestThrottleKeys(t *testing.T) {
	spy := newSpyCounters(newUsers(t))
	th := newTestThrottle(t, spy, ThrottleOptions{PerUser: 1}, nil)
	long := strings.Repeat("x", 1<<20)
	var atts []attempt
	for _, addr := range []string{"192.0.2.77", "2001:db8:77::1", long} {
		att, err := th.begin(t.Context(), "Alice_Secret", addr)
		if err != nil {
			t.Fatalf("begin from %.20s: %v", addr, err)
		}
		atts = append(atts, att)
	}
	for _, att := range atts {
		th.failed(context.Background(), att) // past PerUser: a delay counter too
	}
	keys := spy.usedKeys()
	if len(keys) < 4 {
		t.Fatalf("only %d counter keys used: %q", len(keys), keys)
	}
	for _, k := range keys {
		if len(k) > 128 {
			t.Errorf("key of %d bytes, more than 128", len(k))
		}
		for _, secret := range []string{"alice", "Alice", "192.0.2.77", "2001:db8", "xxxx"} {
			if strings.Contains(k, secret) {
				t.Errorf("key %q contains %q", k, secret)
			}
		}
	}
}

// TestThrottleWindowExpiry: the window starts with the first counted
// attempt; just before it ends the wait is what is left of it, and once it
// ends counting starts again from zero.
func TestThrottleWindowExpiry(t *testing.T) {
	ctx := t.Context()
	a, _, clock := throttledAccounts(t, ThrottleOptions{PerUserAddress: 3, Window: time.Minute})
	for range 3 {
		if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute - time.Nanosecond)
	_, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1")
	wantThrottled(t, err, time.Nanosecond, "just before the window ends")
	clock.Advance(time.Nanosecond)
	// A new window starts from scratch: three more failures, then a wall.
	for i := range 3 {
		if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
			t.Fatalf("failure %d of a new window: %v", i+1, err)
		}
	}
	_, err = a.Login(ctx, "alice", goodPassword, "192.0.2.1")
	wantThrottled(t, err, time.Minute, "3 failures in a new window")
}

// TestThrottleSucceedClearsPairOnly: a login clears the username's count
// from that address and is not charged to the address, but the address
// keeps the failures it made.
func TestThrottleSucceedClearsPairOnly(t *testing.T) {
	ctx := t.Context()
	a, th, _ := throttledAccounts(t, ThrottleOptions{PerUserAddress: 10, PerAddress: 12})
	for range 9 {
		if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
			t.Fatal(err)
		}
	}
	if _, err := a.Login(ctx, "ALICE", goodPassword, "192.0.2.1"); err != nil {
		t.Fatalf("right password after 9 failures: %v", err)
	}
	if got := th.counts(t, "alice", "192.0.2.1"); got.pair != 0 || got.addr != 9 || got.user != 9 {
		t.Errorf("after a login: %+v; want the pair cleared, the address and the user at 9", got)
	}
	for i := range 3 {
		if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
			t.Fatalf("failure %d after the login: %v", i+1, err)
		}
	}
	// The address has 12 failures now.
	_, err := a.Login(ctx, "bob", goodPassword, "192.0.2.1")
	wantThrottled(t, err, 0, "another user from the address after 12 failures")
	if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.2"); err != nil {
		t.Errorf("alice from another address: %v", err)
	}
}

// TestThrottleDisabledLimits: with every limit negative nothing is refused
// and nothing is written to the store.
func TestThrottleDisabledLimits(t *testing.T) {
	ctx := t.Context()
	spy := newSpyCounters(newUsers(t))
	th := newTestThrottle(t, spy, ThrottleOptions{PerUserAddress: -1, PerUser: -1, PerAddress: -1}, nil)
	a := newTestAccounts(t, newUsers(t), Options{Throttle: th})
	if _, err := a.Register(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
			t.Fatalf("failure %d with limits off: %v", i+1, err)
		}
	}
	if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
		t.Errorf("negative limits still refuse: %v", err)
	}
	if n := spy.total(); n != 0 {
		t.Errorf("disabled limits made %d store calls", n)
	}
}

func TestThrottleNil(t *testing.T) {
	var th *Throttle
	ctx := t.Context()
	att, err := th.begin(ctx, "alice", "192.0.2.1")
	if err != nil {
		t.Errorf("nil Throttle: begin = %v", err)
	}
	th.failed(context.Background(), att)
	th.succeeded(context.Background(), att)
	th.cancel(context.Background(), att)
	if err := th.register(ctx, "192.0.2.1"); err != nil {
		t.Errorf("nil Throttle: register = %v", err)
	}
}

// TestThrottleSettling follows attempts from begin to their end: in flight
// they count; cancel takes one back; success clears the pair and refunds
// the address; failure keeps it and counts the user.
func TestThrottleSettling(t *testing.T) {
	ctx := t.Context()
	th := newTestThrottle(t, newUsers(t), ThrottleOptions{PerUserAddress: 3, PerAddress: 5}, nil)
	var atts []attempt
	for i := range 3 {
		att, err := th.begin(ctx, "alice", "192.0.2.1")
		if err != nil {
			t.Fatalf("begin %d: %v", i+1, err)
		}
		atts = append(atts, att)
	}
	// Three attempts in flight count as three failures.
	_, err := th.begin(ctx, "alice", "192.0.2.1")
	wantThrottled(t, err, 0, "fourth concurrent attempt")
	if got := th.counts(t, "alice", "192.0.2.1"); got != (throttleCounts{pair: 3, addr: 3}) {
		t.Errorf("three in flight and one refused: %+v; want pair 3, address 3", got)
	}
	th.cancel(context.Background(), atts[0])
	if got := th.counts(t, "alice", "192.0.2.1"); got != (throttleCounts{pair: 2, addr: 2}) {
		t.Errorf("after cancel: %+v; want pair 2, address 2", got)
	}
	th.failed(context.Background(), atts[1])
	if got := th.counts(t, "alice", "192.0.2.1"); got != (throttleCounts{pair: 2, addr: 2, user: 1}) {
		t.Errorf("after a failure: %+v; want pair 2, address 2, user 1", got)
	}
	th.succeeded(context.Background(), atts[2])
	if got := th.counts(t, "alice", "192.0.2.1"); got != (throttleCounts{pair: 0, addr: 1, user: 1}) {
		t.Errorf("after a success: %+v; want pair 0, address 1, user 1", got)
	}
}

// TestThrottleFloodKeepsLockout floods the throttle with failures of
// distinct names from distinct addresses: a user locked out before the
// flood stays locked out (the old in-memory table evicted entries under
// pressure; the store keeps every counter until its window ends).
func TestThrottleFloodKeepsLockout(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	ms := newClockedStore(t, clock)
	th := newTestThrottle(t, ms, ThrottleOptions{PerUserAddress: 3, PerAddress: -1}, clock.Now)
	for range 3 {
		att, err := th.begin(ctx, "victim", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		th.failed(context.Background(), att)
	}
	for i := range 5000 {
		att, err := th.begin(ctx, fmt.Sprintf("user%d", i), fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
		if err != nil {
			t.Fatalf("flood attempt %d: %v", i+1, err)
		}
		th.failed(context.Background(), att)
		if i%1000 == 0 {
			clock.Advance(time.Second)
		}
	}
	_, err := th.begin(ctx, "victim", "192.0.2.1")
	wantThrottled(t, err, DefaultWindow-5*time.Second, "the locked-out user after the flood")
	clock.Advance(DefaultWindow)
	if _, err := th.begin(ctx, "victim", "192.0.2.1"); err != nil {
		t.Errorf("victim still refused after the window: %v", err)
	}
}

// TestThrottleSharedStore: two Accounts (two server instances) sharing
// one store count together: ten guesses in all, not ten each.
func TestThrottleSharedStore(t *testing.T) {
	ctx := t.Context()
	ms := newUsers(t)
	var instances []*Accounts
	for range 2 {
		th := newTestThrottle(t, ms, ThrottleOptions{}, nil)
		instances = append(instances, newTestAccounts(t, ms, Options{Throttle: th}))
	}
	if _, err := instances[0].Register(ctx, "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	bad, throttled := 0, 0
	for i := range 20 {
		_, err := instances[i%2].Login(ctx, "alice", "wrong password", "192.0.2.1")
		switch {
		case err == ErrBadCredentials:
			bad++
		case errors.Is(err, ErrThrottled):
			throttled++
		default:
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if bad != 10 || throttled != 10 {
		t.Errorf("two instances judged %d guesses and refused %d; want 10 and 10", bad, throttled)
	}
	for i, a := range instances {
		_, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1")
		wantThrottled(t, err, 0, fmt.Sprintf("the right password through instance %d", i+1))
	}
}

// TestThrottlePerUserDelay: past PerUser failures over all addresses,
// each failure makes the next attempt for the username wait 1 s, 2 s,
// 4 s… up to MaxDelay, whatever the address and the password; once the
// delay has passed, the right password logs in (no lock-out).
func TestThrottlePerUserDelay(t *testing.T) {
	ctx := t.Context()
	a, _, clock := throttledAccounts(t, ThrottleOptions{PerUser: 2, PerUserAddress: -1, PerAddress: -1, MaxDelay: 5 * time.Second})
	addr := 0
	fail := func() {
		t.Helper()
		addr++
		if _, err := a.Login(ctx, "alice", "wrong password", fmt.Sprintf("192.0.2.%d", addr)); err != ErrBadCredentials {
			t.Fatalf("failure from 192.0.2.%d: %v", addr, err)
		}
	}
	fail()
	fail() // PerUser reached, not passed: no delay yet
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		fail()
		_, err := a.Login(ctx, "ALICE", goodPassword, "198.51.100.1")
		wantThrottled(t, err, want, "right password at once after a failure")
		clock.Advance(want / 2)
		_, err = a.Login(ctx, "alice", goodPassword, "198.51.100.2")
		wantThrottled(t, err, want-want/2, "right password halfway through the delay")
		clock.Advance(want - want/2)
	}
	if _, err := a.Login(ctx, "alice", goodPassword, "198.51.100.3"); err != nil {
		t.Errorf("right password once the delay has passed: %v", err)
	}
	// Other users wait for nothing.
	if _, err := a.Login(ctx, "bob", "wrong password", "198.51.100.1"); err != ErrBadCredentials {
		t.Errorf("another user during alice's delays: %v", err)
	}
}

// TestThrottlePerUserDelayConcurrent: past PerUser, a burst of concurrent
// guesses from many addresses gets one attempt judged, not one each: the
// delay is taken before the password is checked.
func TestThrottlePerUserDelayConcurrent(t *testing.T) {
	ctx := t.Context()
	a, _, _ := throttledAccounts(t, ThrottleOptions{PerUser: 2, PerUserAddress: -1, PerAddress: -1})
	for i := range 2 {
		if _, err := a.Login(ctx, "alice", "wrong password", fmt.Sprintf("192.0.2.%d", i)); err != ErrBadCredentials {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	const burst = 40
	errs := make(chan error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			_, err := a.Login(ctx, "alice", "wrong password", fmt.Sprintf("198.51.100.%d", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	judged, throttled := 0, 0
	for err := range errs {
		switch {
		case err == ErrBadCredentials:
			judged++
		case errors.Is(err, ErrThrottled):
			throttled++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if judged != 1 || throttled != burst-1 {
		t.Errorf("%d concurrent guesses past PerUser: %d judged, %d throttled; want 1 and %d", burst, judged, throttled, burst-1)
	}
}

// TestThrottleRegistrations: registrations count against PerAddress,
// together with failed logins; the one past the limit is refused before
// any hashing and creates nothing.
func TestThrottleRegistrations(t *testing.T) {
	tests := []struct {
		name          string
		failedLogins  int // from the address, before registering
		registrations int // allowed before the refusal
	}{
		{"registrations only", 0, 3},
		{"after failed logins", 2, 1},
		{"address used up by failed logins", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			users := newUsers(t)
			th := newTestThrottle(t, users, ThrottleOptions{PerAddress: 3}, nil)
			a := newTestAccounts(t, users, Options{Throttle: th})
			for i := range tt.failedLogins {
				if _, err := a.Login(ctx, fmt.Sprint("nobody", i), goodPassword, "192.0.2.1"); err != ErrBadCredentials {
					t.Fatal(err)
				}
			}
			for i := range tt.registrations {
				if _, err := a.Register(ctx, fmt.Sprint("user", i), goodPassword, "192.0.2.1"); err != nil {
					t.Fatalf("registration %d: %v", i+1, err)
				}
			}
			rec := &kdfRecorder{}
			rec.observe(a)
			_, err := a.Register(ctx, "onetoomany", goodPassword, "192.0.2.1")
			wantThrottled(t, err, 0, "the registration past PerAddress")
			if n := len(rec.take()); n != 0 {
				t.Errorf("a refused registration ran argon2 %d times", n)
			}
			if _, err := users.User(ctx, "onetoomany"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a refused registration created the account: %v", err)
			}
			if _, err := a.Register(ctx, "onetoomany", goodPassword, "192.0.2.2"); err != nil {
				t.Errorf("registration from another address: %v", err)
			}
			if _, err := a.Register(ctx, "fromnowhere", goodPassword, ""); err != nil {
				t.Errorf("registration with no address: %v", err)
			}
		})
	}
}

// TestThrottleFailsClosed: when the store cannot count, a login fails with
// the store's error, which is neither bad credentials nor throttled, and
// no password is checked; registration from an address fails the same way.
func TestThrottleFailsClosed(t *testing.T) {
	down := errors.New("counters are down")
	tests := []struct {
		name  string
		op    string
		after int            // calls of op that succeed first
		left  throttleCounts // what stays counted
	}{
		{"delay check", "Count", 0, throttleCounts{}},
		{"per-pair count", "AddCount", 0, throttleCounts{}},
		// The pair was counted, and taking it back failed too: it stays
		// counted, the safe side.
		{"per-address count", "AddCount", 1, throttleCounts{pair: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			users := newUsers(t)
			spy := newSpyCounters(users)
			th := newTestThrottle(t, spy, ThrottleOptions{}, nil)
			a := newTestAccounts(t, users, Options{Throttle: th})
			if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
				t.Fatal(err)
			}
			rec := &kdfRecorder{}
			rec.observe(a)
			spy.failFrom(tt.op, tt.after, down)
			for _, pw := range []string{goodPassword, "wrong password"} {
				_, err := a.Login(ctx, "alice", pw, "192.0.2.1")
				if err == nil || !errors.Is(err, down) || errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrThrottled) {
					t.Errorf("Login (%s) with the counters down = %v; want the store's error", pw, err)
				}
			}
			if n := len(rec.take()); n != 0 {
				t.Errorf("with the counters down, argon2 ran %d times", n)
			}
			spy.failFrom("", 0, nil)
			if got := th.counts(t, "alice", "192.0.2.1"); got != tt.left {
				t.Errorf("attempts the store failed left counts %+v, want %+v", got, tt.left)
			}
			if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
				t.Errorf("Login once the counters are back: %v", err)
			}
		})
	}
	t.Run("registration", func(t *testing.T) {
		ctx := t.Context()
		users := newUsers(t)
		spy := newSpyCounters(users)
		a := newTestAccounts(t, users, Options{Throttle: newTestThrottle(t, spy, ThrottleOptions{}, nil)})
		spy.failFrom("AddCount", 0, down)
		if _, err := a.Register(ctx, "alice", goodPassword, "192.0.2.1"); !errors.Is(err, down) || errors.Is(err, ErrThrottled) {
			t.Errorf("Register with the counters down = %v; want the store's error", err)
		}
		if _, err := users.User(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Register with the counters down created the account: %v", err)
		}
	})
}

func TestThrottledError(t *testing.T) {
	var err error = &ThrottledError{RetryAfter: 90*time.Second + time.Millisecond}
	if !errors.Is(err, ErrThrottled) {
		t.Error("errors.Is(ThrottledError, ErrThrottled) = false")
	}
	wrapped := fmt.Errorf("login: %w", err)
	var te *ThrottledError
	if !errors.As(wrapped, &te) || te.RetryAfter != 90*time.Second+time.Millisecond {
		t.Errorf("errors.As = %v", te)
	}
	if got, want := err.Error(), "too many attempts; try again in 1m31s"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(err, ErrBadCredentials) {
		t.Error("a ThrottledError is ErrBadCredentials")
	}
}

func TestThrottledErrorSeconds(t *testing.T) {
	cases := []struct {
		after time.Duration
		want  int64
	}{
		{0, 1},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{90*time.Second + time.Millisecond, 91},
		{15 * time.Minute, 900},
	}
	for _, c := range cases {
		if got := (&ThrottledError{RetryAfter: c.after}).Seconds(); got != c.want {
			t.Errorf("Seconds() for %v = %d, want %d", c.after, got, c.want)
		}
	}
}

// counted reports whether th holds any count about user or addr.
func (th *Throttle) counted(tb testing.TB, user, addr string) bool {
	tb.Helper()
	return th.counts(tb, user, addr) != (throttleCounts{})
}
