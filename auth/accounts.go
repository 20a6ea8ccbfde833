package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sessionkit/sessionkit/internal/tracing"
	"github.com/sessionkit/sessionkit/store"
)

var (
	// ErrBadCredentials reports a failed login: the username is unknown or
	// the password is wrong. The two cases are deliberately not told apart.
	ErrBadCredentials = errors.New("invalid username or password")

	// ErrUsernameTaken reports a registration for a name that already has
	// an account (names compare case-insensitively).
	ErrUsernameTaken = errors.New("that username is taken")

	// ErrLoginEnded reports, from CheckLogin, a login that no longer
	// stands: its account was deleted (and perhaps its name registered
	// again, as another account), or the password changed after the login
	// proved it.
	ErrLoginEnded = errors.New("the login has ended: its account was deleted or its password changed")
)

// Options configure [Accounts]. The zero value is the defaults.
type Options struct {
	// Params are the argon2id parameters of new hashes, and the minimum
	// below which Login rehashes a password. The zero value means
	// DefaultParams().
	Params Params

	// Throttle limits failed logins and registrations; nil means no
	// throttling.
	Throttle *Throttle

	// MaxConcurrentHashes bounds how many argon2id hashes run at once,
	// each taking Params.Memory; more wait for a turn. Zero or less means
	// 2×runtime.GOMAXPROCS(0).
	MaxConcurrentHashes int

	// StoreTimeout bounds each call to the store, within the caller's
	// context, so that a store that hangs fails a login quickly instead of
	// taking the whole of a deadline meant for password hashing. Zero (the
	// default) or negative means no bound beyond the context.
	StoreTimeout time.Duration

	// Now tells the time for the Created and Updated fields of accounts;
	// nil means time.Now.
	Now func() time.Time

	// StandingCache is how long CheckLogin may confirm a login from the
	// account as it read it earlier, instead of reading it for every
	// request. A change made by these Accounts is seen at once; one made
	// by another process (another server, the admin CLI) at most this
	// late, for a login the change did not also delete from the store. A
	// login is never refused on a remembered account. Zero means
	// [DefaultStandingCache] (1 s); negative means every check reads the
	// store.
	StandingCache time.Duration
}

// Accounts registers users and logs them in, on a [store.Users] backend. It
// is safe for concurrent use.
type Accounts struct {
	users        store.Users
	params       Params
	throttle     *Throttle
	slots        chan struct{} // a semaphore: one token per running hash
	now          func() time.Time
	dummy        string // a hash of no one's password, verified for unknown users
	kdf          kdf    // argon2.IDKey; tests replace it to observe the work done
	storeTimeout time.Duration
	standing     *standing // accounts CheckLogin read lately
}

// NewAccounts returns Accounts keeping users in users, with opts. It hashes a
// random password once (taking the time and memory of one login) for use
// with unknown usernames. It fails when users is nil or opts.Params is out of
// bounds (an error wrapping [ErrInvalidParams]).
func NewAccounts(users store.Users, opts Options) (*Accounts, error) {
	if users == nil {
		return nil, errors.New("auth: nil store.Users")
	}
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams()
	}
	if err := opts.Params.validate(); err != nil {
		return nil, err
	}
	if opts.MaxConcurrentHashes <= 0 {
		opts.MaxConcurrentHashes = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StandingCache == 0 {
		opts.StandingCache = DefaultStandingCache
	}
	a := &Accounts{
		users:        users,
		params:       opts.Params,
		throttle:     opts.Throttle,
		slots:        make(chan struct{}, opts.MaxConcurrentHashes),
		now:          opts.Now,
		kdf:          argon2.IDKey,
		storeTimeout: opts.StoreTimeout,
		standing:     newStanding(opts.StandingCache),
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("auth: reading random bytes: %w", err)
	}
	dummy, err := hashPassword(a.kdf, string(secret), a.params)
	if err != nil {
		return nil, err
	}
	a.dummy = dummy
	return a, nil
}

// Register creates an account named username with password, and returns it.
// It returns an error wrapping [ErrInvalidUsername] or [ErrInvalidPassword]
// for input that breaks the rules, [ErrUsernameTaken] when the name (in any
// case) has an account, the context's error (wrapped) when ctx ends while
// waiting to hash, and any other store error wrapped.
func (a *Accounts) Register(ctx context.Context, username, password, clientAddr string) (store.User, error) {
	if err := ValidateUsername(username); err != nil {
		return store.User{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return store.User{}, err
	}
	if err := a.throttle.register(ctx, clientAddr); err != nil {
		return store.User{}, err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	id, err := NewAccountID()
	if err != nil {
		return store.User{}, err
	}
	now := a.timestamp()
	u := store.User{ID: id, Name: username, PasswordHash: hash, Created: now, Updated: now}
	sctx, cancel := a.storeContext(ctx)
	defer cancel()
	switch err := a.users.CreateUser(sctx, u); {
	case errors.Is(err, store.ErrExists):
		return store.User{}, ErrUsernameTaken
	case err != nil:
		return store.User{}, fmt.Errorf("auth: creating account: %w", err)
	}
	return u, nil
}

// Proof is what a successful [Accounts.Login] establishes: the account, as
// it was read, and when the proof began.
type Proof struct {
	// User is the account. Its ID goes into the login record the caller
	// makes, so that every later check of the login (see CheckLogin) can
	// tell the account from a later one with the same name.
	User store.User

	// AuthTime is the login's auth_time: when the account was read for
	// this proof, which is before the password was checked. A password
	// change that lands while a login is in flight is therefore later than
	// the login's AuthTime, and CheckLogin voids the login.
	AuthTime time.Time
}

// Login checks username and password and returns the proof. It returns:
//
//   - an error wrapping [ErrInvalidUsername] or [ErrInvalidPassword] when
//     the input breaks the rules (checked first, without consulting the
//     store or the throttle, so it reveals nothing about accounts);
//   - a [*ThrottledError] (matching [ErrThrottled]) when too many attempts
//     for username or from clientAddr failed recently; nothing is hashed;
//   - [ErrBadCredentials] when the user is unknown or the password wrong,
//     after the same work in both cases; the failure is counted;
//   - an error wrapping the context's error when ctx ends while waiting
//     for a hashing slot, or any other store error, wrapped. These are not
//     counted as failed attempts and callers should treat them as
//     "unavailable", never as bad credentials. A stored hash that cannot
//     be parsed gives an error wrapping [ErrMalformedHash].
//
// clientAddr is the client's IP address without a port ("" counts nothing
// per address). An attempt counts against the limits from the moment it is
// allowed until it turns out not to have failed, so a burst of concurrent
// attempts cannot check more passwords than the limits allow.
//
// On success the username's count from clientAddr is cleared (the other
// counts are not) and, when the stored hash was made with weaker
// parameters than the current ones, the password is rehashed and saved; a
// failure to save it is ignored (the next login tries again). A rehash is
// not a password change: the account's Updated time is kept.
//
// The throttle's counts live in the store; when it cannot be reached the
// login fails with the store's error, never with a pass.
func (a *Accounts) Login(ctx context.Context, username, password, clientAddr string) (Proof, error) {
	if err := ValidateUsername(username); err != nil {
		return Proof{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return Proof{}, err
	}
	sctx, cancel := a.storeContext(ctx)
	att, err := a.throttle.begin(sctx, username, clientAddr)
	cancel()
	if err != nil {
		return Proof{}, err
	}
	authTime := a.timestamp()
	u, match, err := a.check(ctx, username, password)
	switch {
	case err != nil:
		a.throttle.cancel(ctx, att)
		return Proof{}, err
	case !match:
		a.throttle.failed(ctx, att)
		return Proof{}, ErrBadCredentials
	}
	a.throttle.succeeded(ctx, att)
	return Proof{User: u, AuthTime: authTime}, nil
}

// CheckLogin reports whether a login made for the account named user,
// whose ID was then accountID, with the given auth time, still stands. It
// returns the account when it does; [ErrLoginEnded] when the account was
// deleted, its name now belongs to another account, or its password was
// changed after authTime; any other error is the store's, wrapped, and
// means the question could not be answered (report "unavailable").
//
// Every check of a login calls it, so that deleting an account or changing
// a password ends every login, even one recorded while the change was in
// flight. A login it confirmed may be confirmed again from the account as
// read then, for Options.StandingCache; a login it would refuse is always
// judged on the account read again. Times compare to the millisecond, the
// precision every store keeps.
// A caller that reads the account itself (at the same time as the login's
// record, say) judges with [LoginStands] instead.
func (a *Accounts) CheckLogin(ctx context.Context, user, accountID string, authTime time.Time) (store.User, error) {
	if user == "" || accountID == "" {
		return store.User{}, ErrLoginEnded
	}
	if u, ok := a.standing.get(user); ok {
		if u, err := LoginStands(u, nil, accountID, authTime); err == nil {
			return u, nil
		}
	}
	gen := a.standing.generation()
	sctx, cancel := a.storeContext(ctx)
	defer cancel()
	u, err := a.users.User(sctx, user)
	if err == nil {
		a.standing.put(u, gen)
	}
	return LoginStands(u, err, accountID, authTime)
}

// LoginStands is CheckLogin's judgement on an account already read: u and
// lookup are what [store.Users.User] returned for the login's user, and
// accountID and authTime are the login's. It returns the account when the
// login stands, [ErrLoginEnded] when it does not, and lookup, wrapped, when
// that is an error other than store.ErrNotFound.
func LoginStands(u store.User, lookup error, accountID string, authTime time.Time) (store.User, error) {
	switch {
	case errors.Is(lookup, store.ErrNotFound):
		return store.User{}, ErrLoginEnded
	case lookup != nil:
		return store.User{}, fmt.Errorf("auth: looking up account: %w", lookup)
	case accountID == "", u.ID != accountID, authTime.UnixMilli() < u.Updated.UnixMilli():
		return store.User{}, ErrLoginEnded
	}
	return u, nil
}

// DeleteAccount removes the account named username. It returns an error
// wrapping [store.ErrNotFound] when there is no such account. The
// account's logins are the caller's to end (they live in a
// [store.Sessions]); any that survive, such as one recorded while the
// deletion was in flight, are refused by CheckLogin, even after the name
// is registered again.
func (a *Accounts) DeleteAccount(ctx context.Context, username string) error {
	sctx, cancel := a.storeContext(ctx)
	defer cancel()
	err := a.users.DeleteUser(sctx, username)
	a.standing.forget(username)
	if err != nil {
		return fmt.Errorf("auth: deleting account: %w", err)
	}
	return nil
}

// NewAccountID returns a new random account ID: 128 bits from crypto/rand
// in unpadded base64url (22 characters).
func NewAccountID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// check looks username up and verifies password, against a dummy hash when
// there is no such account. It returns the account and whether the password
// matched, or an error that is not about the credentials.
func (a *Accounts) check(ctx context.Context, username, password string) (store.User, bool, error) {
	sctx, cancel := a.storeContext(ctx)
	u, err := a.users.User(sctx, username)
	cancel()
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, fmt.Errorf("auth: looking up account: %w", err)
	}
	encoded := a.dummy
	if known {
		encoded = u.PasswordHash
	}

	match, rehashed, err := a.verify(ctx, password, encoded, known)
	switch {
	case errors.Is(err, ErrMalformedHash):
		return store.User{}, false, fmt.Errorf("auth: stored hash of account %q: %w", u.Name, err)
	case err != nil:
		return store.User{}, false, err
	case !known || !match:
		return store.User{}, false, nil
	}
	if rehashed != "" {
		a.saveRehash(ctx, u, rehashed)
	}
	return u, true, nil
}

// saveRehash replaces u's hash with rehashed, a stronger hash of the same
// password, unless the password changed since u was read: the account is
// read again first, so that a rehash cannot undo a change made meanwhile
// (the two store calls are not one atomic step; the window between them
// is one round trip). Failures are ignored: the next login tries again.
func (a *Accounts) saveRehash(ctx context.Context, u store.User, rehashed string) {
	sctx, cancel := a.storeContext(ctx)
	defer cancel()
	now, err := a.users.User(sctx, u.Name)
	if err != nil || now.ID != u.ID || now.PasswordHash != u.PasswordHash {
		return
	}
	_ = a.users.SetPasswordHash(sctx, u.Name, rehashed, u.Updated)
	a.standing.forget(u.Name)
}

// verify checks password against encoded in a hashing slot. When it matches,
// known is true and encoded is weaker than the current parameters, it also
// returns a new hash of password to store. An error is either the context's
// (no slot) or one wrapping ErrMalformedHash.
func (a *Accounts) verify(ctx context.Context, password, encoded string, known bool) (match bool, rehashed string, err error) {
	ctx, span := scope.Start(ctx, "auth.password.verify")
	defer span.End()
	if err := a.acquire(ctx); err != nil {
		tracing.Fail(span, tracing.Why(err, "slot"))
		return false, "", err
	}
	defer a.release()
	span.AddEvent(eventSlot)
	match, err = verifyPassword(a.kdf, password, encoded)
	if err != nil {
		// Do the work a good hash would have taken, so that a broken
		// account does not stand out by its speed either.
		_, _ = verifyPassword(a.kdf, password, a.dummy)
		tracing.Fail(span, "malformed_hash")
		return false, "", err
	}
	if known && match && NeedsRehash(encoded, a.params) {
		// Params were validated by NewAccounts, so this cannot fail; if
		// it did, keeping the old hash is harmless.
		rehashed, _ = hashPassword(a.kdf, password, a.params)
		tracing.Set(span, attrRehashed.Bool(true))
	}
	return match, rehashed, nil
}

// ChangePassword replaces the password of the account named username with
// newPassword. It does not check the old password: the caller must have
// authenticated the user (or be an administrator). It returns an error
// wrapping [ErrInvalidUsername] or [ErrInvalidPassword] for input that breaks
// the rules, wrapping [store.ErrNotFound] when there is no such account, the
// context's error (wrapped) when ctx ends while waiting to hash, and any
// other store error wrapped. Failed-login counts are left as they are.
//
// On success it returns the time of the change, which becomes the
// account's Updated time: from then on CheckLogin refuses every login
// proved before it, in every mode. A login that should continue, such as
// the session that made the change, must be given an auth time no earlier
// than the returned time.
func (a *Accounts) ChangePassword(ctx context.Context, username, newPassword string) (time.Time, error) {
	return a.setPassword(ctx, username, newPassword, false)
}

// ReplacePassword is ChangePassword that keeps the account's Updated time,
// so that the logins proved before it still stand: for an administrator
// who replaces a password and has a reason to leave the account's logins
// alone. Errors are as for ChangePassword.
func (a *Accounts) ReplacePassword(ctx context.Context, username, newPassword string) error {
	_, err := a.setPassword(ctx, username, newPassword, true)
	return err
}

// setPassword hashes newPassword and stores it for username, with an
// Updated time of now, or of the account's current one when keepLogins.
// It returns the Updated time stored.
func (a *Accounts) setPassword(ctx context.Context, username, newPassword string, keepLogins bool) (time.Time, error) {
	if err := ValidateUsername(username); err != nil {
		return time.Time{}, err
	}
	if err := ValidatePassword(newPassword); err != nil {
		return time.Time{}, err
	}
	hash, err := a.hash(ctx, newPassword)
	if err != nil {
		return time.Time{}, err
	}
	sctx, cancel := a.storeContext(ctx)
	defer cancel()
	updated := a.timestamp()
	if keepLogins {
		u, err := a.users.User(sctx, username)
		if err != nil {
			return time.Time{}, fmt.Errorf("auth: changing password: %w", err)
		}
		updated = u.Updated
	}
	err = a.users.SetPasswordHash(sctx, username, hash, updated)
	a.standing.forget(username)
	if err != nil {
		return time.Time{}, fmt.Errorf("auth: changing password: %w", err)
	}
	return updated, nil
}

// hash hashes password with the current parameters in a hashing slot.
func (a *Accounts) hash(ctx context.Context, password string) (string, error) {
	ctx, span := scope.Start(ctx, "auth.password.hash")
	defer span.End()
	setParams(span, a.params)
	if err := a.acquire(ctx); err != nil {
		tracing.Fail(span, tracing.Why(err, "slot"))
		return "", err
	}
	defer a.release()
	span.AddEvent(eventSlot)
	return hashPassword(a.kdf, password, a.params)
}

// acquire takes a hashing slot, waiting until one is free or ctx ends.
func (a *Accounts) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("auth: waiting to hash a password: %w", err)
	}
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auth: waiting to hash a password: %w", ctx.Err())
	}
}

// release gives back a slot taken by acquire.
func (a *Accounts) release() { <-a.slots }

// storeContext bounds one store call by StoreTimeout, if set and if ctx
// does not already end sooner (a caller such as the session middleware
// bounds its own calls: a second timer would cost and change nothing).
func (a *Accounts) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.storeTimeout <= 0 {
		return ctx, func() {}
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= a.storeTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, a.storeTimeout)
}

// timestamp is the time to record in an account: now, in UTC, without the
// monotonic clock reading.
func (a *Accounts) timestamp() time.Time { return a.now().UTC().Round(0) }
