package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
)

func newFakeClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// entriesLen returns the size of the throttle's table.
func (t *Throttle) entriesLen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

func TestThrottleDefaults(t *testing.T) {
	th := NewThrottle(ThrottleOptions{}, nil)
	if th.perUser != 10 || th.perAddress != 50 || th.window != 15*time.Minute || th.maxEntries != 100_000 {
		t.Errorf("defaults: %d per user, %d per address, window %v, %d entries",
			th.perUser, th.perAddress, th.window, th.maxEntries)
	}
	if th.now == nil {
		t.Error("nil clock")
	}
}

func TestThrottlePerUser(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleOptions{}, clock.Now)
	for i := range 10 {
		if _, ok := th.Allow("alice", fmt.Sprintf("192.0.2.%d", i)); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		th.Fail("alice", fmt.Sprintf("192.0.2.%d", i))
		clock.Advance(time.Second)
	}
	for _, name := range []string{"alice", "ALICE", "Alice"} {
		wait, ok := th.Allow(name, "198.51.100.1")
		if ok {
			t.Errorf("Allow(%q) after 10 failures = ok", name)
		}
		if wait <= 0 || wait > 15*time.Minute {
			t.Errorf("Allow(%q) retry after %v, want in (0, 15m]", name, wait)
		}
		// The window started at the first failure, 10 s ago.
		if want := 15*time.Minute - 10*time.Second; wait != want {
			t.Errorf("Allow(%q) retry after %v, want %v", name, wait, want)
		}
	}
	if _, ok := th.Allow("bob", "192.0.2.1"); !ok {
		t.Error("another user is refused")
	}
}

func TestThrottlePerAddress(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleOptions{PerAddress: 5}, clock.Now)
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
		for i := range 5 {
			th.Fail(fmt.Sprintf("user%d", i), tt.attacker)
		}
		for _, addr := range tt.same {
			wait, ok := th.Allow("newuser", addr)
			if ok || wait <= 0 || wait > 15*time.Minute {
				t.Errorf("after 5 failures from %s: Allow from %s = %v, %v; want refused", tt.attacker, addr, wait, ok)
			}
		}
		for _, addr := range tt.other {
			if _, ok := th.Allow("newuser", addr); !ok {
				t.Errorf("after 5 failures from %s: Allow from %s refused", tt.attacker, addr)
			}
		}
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
		{"localhost", "localhost"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := addressKey(tt.in); got.name != tt.want || !got.address {
			t.Errorf("addressKey(%q) = %+v, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("x", 1<<20)
	if k := addressKey(long); len(k.name) > maxKeyBytes {
		t.Errorf("addressKey of 1 MiB keeps %d bytes", len(k.name))
	}
	if k := userKey(long); len(k.name) > maxKeyBytes {
		t.Errorf("userKey of 1 MiB keeps %d bytes", len(k.name))
	}
	if userKey("AbC.x-Y_").name != "abc.x-y_" {
		t.Errorf("userKey does not lowercase")
	}
}

func TestThrottleWindowExpiry(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleOptions{PerUser: 3, Window: time.Minute}, clock.Now)
	for range 3 {
		th.Fail("alice", "192.0.2.1")
	}
	clock.Advance(time.Minute - time.Nanosecond)
	if wait, ok := th.Allow("alice", ""); ok || wait != time.Nanosecond {
		t.Errorf("just before the window ends: Allow = %v, %v; want 1ns, false", wait, ok)
	}
	clock.Advance(time.Nanosecond)
	if wait, ok := th.Allow("alice", ""); !ok || wait != 0 {
		t.Errorf("when the window ends: Allow = %v, %v; want 0, true", wait, ok)
	}
	// A new window starts from scratch.
	th.Fail("alice", "")
	th.Fail("alice", "")
	if _, ok := th.Allow("alice", ""); !ok {
		t.Errorf("2 failures in a new window refused")
	}
	th.Fail("alice", "")
	if _, ok := th.Allow("alice", ""); ok {
		t.Errorf("3 failures in a new window allowed")
	}
}

func TestThrottleSucceedResetsUserOnly(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleOptions{PerUser: 10, PerAddress: 12}, clock.Now)
	for range 9 {
		th.Fail("alice", "192.0.2.1")
	}
	th.Succeed("ALICE")
	for i := range 3 {
		if _, ok := th.Allow("alice", "192.0.2.1"); !ok {
			t.Fatalf("attempt %d after Succeed refused", i+1)
		}
		th.Fail("alice", "192.0.2.1")
	}
	// alice has 3 failures now, the address 12.
	if _, ok := th.Allow("alice", "192.0.2.2"); !ok {
		t.Errorf("alice from another address refused: Succeed did not reset her count")
	}
	if _, ok := th.Allow("bob", "192.0.2.1"); ok {
		t.Errorf("address allowed after 12 failures: Succeed reset the address count")
	}
}

func TestThrottleDisabledLimits(t *testing.T) {
	th := NewThrottle(ThrottleOptions{PerUser: -1, PerAddress: -1}, nil)
	for range 100 {
		th.Fail("alice", "192.0.2.1")
	}
	if _, ok := th.Allow("alice", "192.0.2.1"); !ok {
		t.Error("negative limits still refuse")
	}
	if n := th.entriesLen(); n != 0 {
		t.Errorf("disabled limits keep %d entries", n)
	}
}

func TestThrottleNil(t *testing.T) {
	var th *Throttle
	th.Fail("alice", "192.0.2.1")
	th.Succeed("alice")
	if wait, ok := th.Allow("alice", "192.0.2.1"); !ok || wait != 0 {
		t.Errorf("nil Throttle: Allow = %v, %v", wait, ok)
	}
	r, _, ok := th.begin("alice", "")
	if !ok {
		t.Error("nil Throttle: begin refused")
	}
	th.cancel(r)
	th.succeeded(r)
}

// TestThrottleMaxEntries floods the throttle with distinct names and
// addresses: the table never grows past MaxEntries, and a locked-out user
// stays locked out.
func TestThrottleMaxEntries(t *testing.T) {
	clock := newFakeClock()
	const max = 100
	th := NewThrottle(ThrottleOptions{PerUser: 3, MaxEntries: max}, clock.Now)
	for range 3 {
		th.Fail("victim", "")
	}
	for i := range 20_000 {
		th.Fail(fmt.Sprintf("user%d", i), fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
		if n := th.entriesLen(); n > max {
			t.Fatalf("after %d distinct failures the table has %d entries, more than %d", i+1, n, max)
		}
		if i%1000 == 0 {
			clock.Advance(time.Second)
		}
	}
	if _, ok := th.Allow("victim", ""); ok {
		t.Errorf("the flood evicted a locked-out user")
	}
	// Once every entry has expired, they all go at the next sweep.
	clock.Advance(time.Hour)
	for i := range max {
		th.Fail(fmt.Sprintf("late%d", i), "")
	}
	if _, ok := th.Allow("victim", ""); !ok {
		t.Errorf("victim still refused after the window")
	}
	if n := th.entriesLen(); n > max {
		t.Errorf("table has %d entries, more than %d", n, max)
	}
}

// TestThrottleMaxEntriesAllLocked fills the table with locked-out entries
// only: it still stays within its bound.
func TestThrottleMaxEntriesAllLocked(t *testing.T) {
	for _, max := range []int{1, 2, 7, 64} {
		clock := newFakeClock()
		th := NewThrottle(ThrottleOptions{PerUser: 1, PerAddress: 1, MaxEntries: max}, clock.Now)
		for i := range 1000 {
			th.Fail(fmt.Sprint(i), fmt.Sprint("a", i))
			if n := th.entriesLen(); n > max {
				t.Fatalf("MaxEntries %d: %d entries", max, n)
			}
			clock.Advance(time.Millisecond)
		}
		// The oldest lock-outs go first, so the newest stays (unless
		// there is room for one entry only: then its address evicts it).
		if _, ok := th.Allow("999", ""); ok && max >= 2 {
			t.Errorf("MaxEntries %d: the newest lock-out was evicted", max)
		}
	}
}

func TestThrottleReservations(t *testing.T) {
	th := NewThrottle(ThrottleOptions{PerUser: 3, PerAddress: 5}, newFakeClock().Now)
	var rs []reservation
	for i := range 3 {
		r, _, ok := th.begin("alice", "192.0.2.1")
		if !ok {
			t.Fatalf("begin %d refused", i+1)
		}
		rs = append(rs, r)
	}
	// Three attempts in flight count as three failures.
	if _, _, ok := th.begin("alice", "192.0.2.2"); ok {
		t.Fatalf("fourth concurrent attempt allowed")
	}
	th.cancel(rs[0])
	if _, ok := th.Allow("alice", "192.0.2.1"); !ok {
		t.Errorf("cancel did not take back the attempt")
	}
	th.succeeded(rs[1])
	// alice is reset; the address has 1 failure left (rs[2]).
	th.mu.Lock()
	u, a := th.entries[userKey("alice")], th.entries[addressKey("192.0.2.1")]
	th.mu.Unlock()
	if u.count != 0 || a.count != 1 {
		t.Errorf("after cancel and success: user count %d, address count %d; want 0, 1", u.count, a.count)
	}
}

func TestThrottleConcurrent(t *testing.T) {
	th := NewThrottle(ThrottleOptions{PerUser: 1000, PerAddress: -1, MaxEntries: 50}, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				th.Allow("shared", "192.0.2.1")
				th.Fail("shared", "")
				th.Fail(fmt.Sprintf("u%d-%d", g, i), "")
				if i%100 == 0 {
					th.Succeed("nobody")
				}
			}
		})
	}
	wg.Wait()
	if n := th.entriesLen(); n > 50 {
		t.Errorf("%d entries, more than 50", n)
	}
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
	if got, want := err.Error(), "too many failed logins; try again in 1m31s"; got != want {
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
