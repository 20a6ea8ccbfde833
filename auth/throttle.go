package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// Defaults of [ThrottleOptions].
const (
	DefaultPerUserAddress = 10
	DefaultPerUser        = 50
	DefaultPerAddress     = 50
	DefaultWindow         = 15 * time.Minute
	DefaultMaxDelay       = time.Minute
)

// ErrThrottled is matched (with errors.Is) by every [*ThrottledError].
var ErrThrottled = errors.New("too many attempts; try again later")

// ThrottledError reports an attempt refused because too many attempts for
// the same username or from the same address failed (or, for
// registrations, were made) recently. errors.Is(err, [ErrThrottled])
// reports true for it; use errors.As to read RetryAfter.
type ThrottledError struct {
	// RetryAfter is how long until the limit that refused the attempt
	// lifts: more than zero and at most the throttle's window.
	RetryAfter time.Duration
}

// Error says how long to wait, in whole seconds rounded up.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts; try again in %s", time.Duration(e.Seconds())*time.Second)
}

// Seconds is RetryAfter in whole seconds, rounded up and at least 1: the
// value of an HTTP Retry-After header.
func (e *ThrottledError) Seconds() int64 {
	return max(int64((e.RetryAfter+time.Second-1)/time.Second), 1)
}

// Is reports whether target is [ErrThrottled].
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// ThrottleOptions configure a [Throttle]. The zero value is the defaults. A
// negative limit turns that limit off.
type ThrottleOptions struct {
	// PerUserAddress is how many failed logins one username may have from
	// one client address within Window before that address is refused for
	// that username: the strict limit a guesser meets. Zero means
	// DefaultPerUserAddress (10).
	PerUserAddress int

	// PerUser is how many failed logins one username may have from all
	// addresses together within Window before attempts for it are
	// admitted one per delay: 1 s at the limit, doubling with each further
	// failure, up to MaxDelay. It is a delay, not a wall, so that guessers
	// on many addresses cannot lock the owner out. Zero means
	// DefaultPerUser (50).
	PerUser int

	// PerAddress is how many failed logins, and registrations, one client
	// address may make within Window. Zero means DefaultPerAddress (50).
	PerAddress int

	// Window is how long attempts count, from the first one counted. Zero
	// or less means DefaultWindow (15 minutes).
	Window time.Duration

	// MaxDelay bounds the growing delay of PerUser. Zero or less means
	// DefaultMaxDelay (1 minute).
	MaxDelay time.Duration
}

// Throttle limits login and registration attempts, counting them in a
// [store.Counters] so that every instance sharing the store counts
// together and a restart forgets nothing. It keeps three counts, each
// within a fixed window that starts with its first attempt:
//
//   - failed logins per (username, client address): a hard limit,
//     PerUserAddress, the one a guesser hammering one account meets;
//   - failed logins per username over all addresses: past PerUser the
//     username admits one attempt per delay, a delay that grows with each
//     failure, so that many addresses cannot guess fast, nor lock the
//     owner out for long;
//   - failed logins and registrations per client address: PerAddress.
//
// An attempt is counted before the password is checked, so concurrent
// attempts cannot slip past a limit together, and a login that succeeds
// is taken off the address's count and clears its (username, address)
// count.
//
// Usernames compare case-insensitively (ASCII). Addresses are IP addresses
// without a port; IPv6 addresses count per /64 network, since one client
// usually holds a whole /64, and IPv4-mapped IPv6 addresses count as IPv4.
// A string that is not an IP address counts as it is. An empty username or
// address is not counted. Counter keys are hashes: the store never holds a
// username or an address in them.
//
// When the store cannot answer, the attempt is refused with its error (a
// server reports 503): the throttle fails closed.
type Throttle struct {
	counters store.Counters
	opts     ThrottleOptions
	now      func() time.Time
}

// NewThrottle returns a Throttle counting in counters. now is the clock the
// growing delay is measured with; nil means time.Now.
func NewThrottle(counters store.Counters, opts ThrottleOptions, now func() time.Time) (*Throttle, error) {
	if counters == nil {
		return nil, errors.New("auth: nil store.Counters for the throttle")
	}
	if now == nil {
		now = time.Now
	}
	if opts.PerUserAddress == 0 {
		opts.PerUserAddress = DefaultPerUserAddress
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
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	return &Throttle{counters: counters, opts: opts, now: now}, nil
}

// attempt is one login attempt counted by begin: the counters it added to,
// for succeeded, failed and cancel to settle.
type attempt struct {
	user, pair, addr, delay string // counter keys; "" when not counted
}

// begin counts a login attempt of user from addr, or refuses it with a
// *ThrottledError when a limit is reached. Any other error is the store's.
func (t *Throttle) begin(ctx context.Context, user, addr string) (attempt, error) {
	if t == nil {
		return attempt{}, nil
	}
	a := attempt{}
	if user != "" {
		a.user, a.delay = t.key("user", foldUser(user)), t.key("delay", foldUser(user))
		if addr != "" {
			a.pair = t.key("pair", foldUser(user)+"\x00"+addressKey(addr))
		}
	}
	if addr != "" {
		a.addr = t.key("addr", addressKey(addr))
	}
	if err := t.wait(ctx, a); err != nil {
		return attempt{}, err
	}
	if err := t.take(ctx, a.pair, t.opts.PerUserAddress); err != nil {
		return attempt{}, err
	}
	if err := t.take(ctx, a.addr, t.opts.PerAddress); err != nil {
		t.give(ctx, a.pair, t.opts.PerUserAddress)
		return attempt{}, err
	}
	return a, nil
}

// wait enforces the per-username delay: once the username has PerUser
// failures or more, an attempt must take its delay counter, which admits
// one attempt and then refuses others until the delay has passed (1 s at
// PerUser failures, doubling with each failure, at most MaxDelay). Taking
// the counter, not merely reading it, keeps a burst of concurrent attempts
// from passing together.
func (t *Throttle) wait(ctx context.Context, a attempt) error {
	if t.opts.PerUser < 0 || a.user == "" {
		return nil
	}
	n, _, err := t.counters.Count(ctx, a.user)
	if err != nil {
		return t.storeError(err)
	}
	if n < int64(t.opts.PerUser) {
		return nil
	}
	delay := t.opts.MaxDelay
	if shift := n - int64(t.opts.PerUser); shift < 30 {
		delay = min(time.Second<<shift, t.opts.MaxDelay)
	}
	taken, until, err := t.counters.AddCount(ctx, a.delay, 1, delay)
	if err != nil {
		return t.storeError(err)
	}
	if taken > 1 {
		return t.throttled(until)
	}
	return nil
}

// take adds one to the counter key and refuses the attempt when that
// passes limit; a refused attempt is not counted. An empty key or a
// negative limit takes nothing.
func (t *Throttle) take(ctx context.Context, key string, limit int) error {
	if key == "" || limit < 0 {
		return nil
	}
	n, until, err := t.counters.AddCount(ctx, key, 1, t.opts.Window)
	if err != nil {
		return t.storeError(err)
	}
	if n > int64(limit) {
		t.give(ctx, key, limit)
		return t.throttled(until)
	}
	return nil
}

// give takes back one attempt counted by take. It runs on a context of its
// own (settleContext), since it settles an attempt whose request may have
// ended; a failure leaves the attempt counted, the safe side.
func (t *Throttle) give(ctx context.Context, key string, limit int) {
	if key == "" || limit < 0 {
		return
	}
	ctx, cancel := settleContext(ctx)
	defer cancel()
	_, _, _ = t.counters.AddCount(ctx, key, -1, t.opts.Window)
}

// succeeded settles a login that succeeded: the username's count from this
// address is cleared and the address is not charged for it.
func (t *Throttle) succeeded(ctx context.Context, a attempt) {
	if t == nil {
		return
	}
	if a.pair != "" && t.opts.PerUserAddress >= 0 {
		sctx, cancel := settleContext(ctx)
		_ = t.counters.DeleteCount(sctx, a.pair)
		cancel()
	}
	t.give(ctx, a.addr, t.opts.PerAddress)
}

// failed settles a wrong password: the attempt stays counted, and the
// username's count over all addresses grows (see wait).
func (t *Throttle) failed(ctx context.Context, a attempt) {
	if t == nil || a.user == "" || t.opts.PerUser < 0 {
		return
	}
	ctx, cancel := settleContext(ctx)
	defer cancel()
	_, _, _ = t.counters.AddCount(ctx, a.user, 1, t.opts.Window)
}

// cancel takes back an attempt whose password was never judged (the store
// or the request failed).
func (t *Throttle) cancel(ctx context.Context, a attempt) {
	if t == nil {
		return
	}
	t.give(ctx, a.pair, t.opts.PerUserAddress)
	t.give(ctx, a.addr, t.opts.PerAddress)
}

// register counts a registration from addr against the address's limit.
func (t *Throttle) register(ctx context.Context, addr string) error {
	if t == nil || addr == "" {
		return nil
	}
	return t.take(ctx, t.key("addr", addressKey(addr)), t.opts.PerAddress)
}

// throttled is the error for a limit that lifts at until.
func (t *Throttle) throttled(until time.Time) error {
	wait := until.Sub(t.now())
	switch {
	case until.IsZero() || wait > t.opts.Window:
		wait = t.opts.Window
	case wait <= 0:
		wait = time.Nanosecond
	}
	return &ThrottledError{RetryAfter: wait}
}

func (t *Throttle) storeError(err error) error {
	return fmt.Errorf("auth: counting login attempts: %w", err)
}

// key names a counter: a kind and the SHA-256 of what it counts, so that
// keys are short and hold no username or address.
func (t *Throttle) key(kind, of string) string {
	sum := sha256.Sum256([]byte(of))
	return "throttle:" + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// settleContext bounds the store calls that settle an attempt after its
// password was judged; they must not depend on the request's context's
// deadline or cancellation, but keep its values (the request's trace).
func settleContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
}

// foldUser lower-cases the ASCII letters of a username, as account names
// compare.
func foldUser(user string) string { return store.FoldName(user) }

// addressKey is what an address counts as: an IPv4 address, an IPv6 /64
// network, or the string itself when it is not an IP address.
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return "raw:" + addr
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		prefix, _ := ip.Prefix(64) // cannot fail: 64 bits fit an IPv6 address
		return prefix.String()
	}
	return ip.String()
}
