package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Defaults of [ThrottleOptions].
const (
	DefaultPerUser    = 10
	DefaultPerAddress = 50
	DefaultWindow     = 15 * time.Minute
	DefaultMaxEntries = 100_000
)

// ErrThrottled is matched (with errors.Is) by every [*ThrottledError].
var ErrThrottled = errors.New("too many failed logins; try again later")

// ThrottledError reports a login refused because too many attempts for the
// same username or from the same address failed recently. errors.Is(err,
// [ErrThrottled]) reports true for it; use errors.As to read RetryAfter.
type ThrottledError struct {
	// RetryAfter is how long until the limit that refused the attempt
	// lifts: more than zero and at most the throttle's window.
	RetryAfter time.Duration
}

// Error says how long to wait, in whole seconds rounded up.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", time.Duration(e.Seconds())*time.Second)
}

// Seconds is RetryAfter in whole seconds, rounded up and at least 1: the
// value of an HTTP Retry-After header.
func (e *ThrottledError) Seconds() int64 {
	return max(int64((e.RetryAfter+time.Second-1)/time.Second), 1)
}

// Is reports whether target is [ErrThrottled].
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// ThrottleOptions configure a [Throttle]. The zero value is the defaults.
type ThrottleOptions struct {
	// PerUser is how many failed logins a username may have within Window
	// before further attempts are refused. Zero means DefaultPerUser (10);
	// a negative value turns per-username limits off.
	PerUser int

	// PerAddress is how many failed logins one client address may have
	// within Window. Zero means DefaultPerAddress (50); a negative value
	// turns per-address limits off.
	PerAddress int

	// Window is how long failures count, from the first failure of a
	// username or address. Zero or less means DefaultWindow (15 minutes).
	Window time.Duration

	// MaxEntries bounds how many usernames and addresses the throttle
	// remembers at once, and so its memory (about 100 bytes each). Zero or
	// less means DefaultMaxEntries (100,000).
	MaxEntries int
}

// Throttle counts failed logins per username and per client address, each
// within a fixed window that starts at its first failure, and refuses
// attempts past the limits until that window ends.
//
// Usernames compare case-insensitively (ASCII). Addresses are IP addresses
// without a port; IPv6 addresses count per /64 network, since one client
// usually holds a whole /64, and IPv4-mapped IPv6 addresses count as IPv4. A
// string that is not an IP address counts as it is. An empty username or
// address is not counted.
//
// Memory is bounded by [ThrottleOptions.MaxEntries]: expired entries are
// dropped lazily when the table is full, then entries below their limit, and
// only then others. There is no background goroutine.
//
// A Throttle is safe for concurrent use. A nil *Throttle allows everything.
type Throttle struct {
	now        func() time.Time
	perUser    int
	perAddress int
	window     time.Duration
	maxEntries int

	mu      sync.Mutex
	entries map[throttleKey]throttleEntry
}

// throttleKey names a counter: a username (lowercased) or an address.
type throttleKey struct {
	address bool
	name    string
}

// throttleEntry counts the failures of one key in the window starting at
// start.
type throttleEntry struct {
	start time.Time
	count int
}

// maxKeyBytes bounds the bytes a key keeps; longer names are replaced by
// their SHA-256 digest.
const maxKeyBytes = 128

// NewThrottle returns a Throttle with opts (zero fields take the defaults).
// now tells the time; nil means time.Now.
func NewThrottle(opts ThrottleOptions, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	if opts.PerUser == 0 {
		opts.PerUser = DefaultPerUser
	}
	if opts.PerAddress == 0 {
		opts.PerAddress = DefaultPerAddress
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	return &Throttle{
		now:        now,
		perUser:    opts.PerUser,
		perAddress: opts.PerAddress,
		window:     opts.Window,
		maxEntries: opts.MaxEntries,
		entries:    make(map[throttleKey]throttleEntry),
	}
}

// Allow reports whether a login attempt for user from addr may go ahead. If
// not, retryAfter is how long until it may (at most the window). Allow does
// not count the attempt; call [Throttle.Fail] or [Throttle.Succeed] with the
// outcome.
func (t *Throttle) Allow(user, addr string) (retryAfter time.Duration, ok bool) {
	if t == nil {
		return 0, true
	}
	ku, ka := userKey(user), addressKey(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := t.wait(ku, ka, t.now())
	return wait, wait == 0
}

// Fail records a failed login for user from addr.
func (t *Throttle) Fail(user, addr string) {
	if t == nil {
		return
	}
	ku, ka := userKey(user), addressKey(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.add(ku, now)
	t.add(ka, now)
}

// Succeed records a successful login for user: it forgets the user's
// failures. Failures counted against the client's address stay.
func (t *Throttle) Succeed(user string) {
	if t == nil {
		return
	}
	ku := userKey(user)
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, ku)
}

// reservation is an attempt counted in advance by begin, so that concurrent
// attempts cannot all slip past the limit before the first of them fails.
type reservation struct {
	user, addr           throttleKey
	userStart, addrStart time.Time
}

// begin checks the limits like Allow and, when the attempt may go ahead,
// counts it as a failure at once. The caller then settles it with succeeded
// or cancel, or leaves it counted when the attempt did fail.
func (t *Throttle) begin(user, addr string) (reservation, time.Duration, bool) {
	if t == nil {
		return reservation{}, 0, true
	}
	r := reservation{user: userKey(user), addr: addressKey(addr)}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if wait := t.wait(r.user, r.addr, now); wait > 0 {
		return reservation{}, wait, false
	}
	r.userStart = t.add(r.user, now)
	r.addrStart = t.add(r.addr, now)
	return r, 0, true
}

// succeeded settles r after a successful login: the user's failures are
// forgotten and the address is no longer charged for this attempt.
func (t *Throttle) succeeded(r reservation) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, r.user)
	t.undo(r.addr, r.addrStart)
}

// cancel settles r after an attempt that neither failed nor succeeded (the
// store or the context failed): it is no longer counted.
func (t *Throttle) cancel(r reservation) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.undo(r.user, r.userStart)
	t.undo(r.addr, r.addrStart)
}

// wait returns how long until neither ku nor ka is over its limit, or 0.
// The caller holds t.mu.
func (t *Throttle) wait(ku, ka throttleKey, now time.Time) time.Duration {
	return max(t.waitFor(ku, now), t.waitFor(ka, now))
}

func (t *Throttle) waitFor(k throttleKey, now time.Time) time.Duration {
	limit := t.limit(k)
	if limit < 0 || k.name == "" {
		return 0
	}
	e, ok := t.entries[k]
	if !ok || e.count < limit {
		return 0
	}
	if t.expired(e, now) {
		delete(t.entries, k)
		return 0
	}
	// A clock that stepped back could make this longer than the window.
	return min(e.start.Add(t.window).Sub(now), t.window)
}

// add counts one failure for k and returns the start of its window. The
// caller holds t.mu.
func (t *Throttle) add(k throttleKey, now time.Time) time.Time {
	if t.limit(k) < 0 || k.name == "" {
		return time.Time{}
	}
	e, ok := t.entries[k]
	if !ok || t.expired(e, now) {
		if !ok && len(t.entries) >= t.maxEntries {
			t.makeRoom(now)
		}
		e = throttleEntry{start: now}
	}
	e.count++
	t.entries[k] = e
	return e.start
}

// undo takes back one failure counted for k in the window that began at
// start; it does nothing when that window has since ended or been evicted.
// The caller holds t.mu.
func (t *Throttle) undo(k throttleKey, start time.Time) {
	e, ok := t.entries[k]
	if !ok || !e.start.Equal(start) {
		return
	}
	if e.count <= 1 {
		delete(t.entries, k)
		return
	}
	e.count--
	t.entries[k] = e
}

func (t *Throttle) limit(k throttleKey) int {
	if k.address {
		return t.perAddress
	}
	return t.perUser
}

func (t *Throttle) expired(e throttleEntry, now time.Time) bool {
	return now.Sub(e.start) >= t.window
}

// makeRoom shrinks the table to 7/8 of MaxEntries, so that the sweep (which
// takes time in proportion to MaxEntries) runs once per MaxEntries/8 new keys
// at most. It drops expired entries first, then entries below their limit
// (the least useful to keep), and only then the entries at their limit whose
// windows end first. The caller holds t.mu.
func (t *Throttle) makeRoom(now time.Time) {
	target := t.maxEntries - t.maxEntries/8
	if target >= t.maxEntries {
		target = t.maxEntries - 1
	}
	for k, e := range t.entries {
		if t.expired(e, now) {
			delete(t.entries, k)
		}
	}
	for k, e := range t.entries {
		if len(t.entries) <= target {
			return
		}
		if e.count < t.limit(k) {
			delete(t.entries, k)
		}
	}
	if len(t.entries) <= target {
		return
	}
	// Every entry left is at its limit: drop those whose windows end
	// first.
	keys := make([]throttleKey, 0, len(t.entries))
	for k := range t.entries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b throttleKey) int {
		return t.entries[a].start.Compare(t.entries[b].start)
	})
	for _, k := range keys[:len(keys)-target] {
		delete(t.entries, k)
	}
}

// userKey is the counter of a username: ASCII-lowercased, and bounded in
// size.
func userKey(user string) throttleKey {
	b := []byte(user)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return throttleKey{name: boundKey(string(b))}
}

// addressKey is the counter of a client address: the IPv4 address, the /64
// of an IPv6 address, or the string as it is when it is not an IP address
// (with a port, the port is ignored).
func addressKey(addr string) throttleKey {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return throttleKey{address: true, name: boundKey(addr)}
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		prefix, _ := ip.Prefix(64) // cannot fail: 64 bits fit an IPv6 address
		return throttleKey{address: true, name: prefix.String()}
	}
	return throttleKey{address: true, name: ip.String()}
}

// boundKey returns s, or its SHA-256 digest when s is long, so that a huge
// name cannot make one entry take much memory.
func boundKey(s string) string {
	if len(s) <= maxKeyBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "\x00sha256:" + string(sum[:])
}
