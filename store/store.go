// Package store defines what sessionkit keeps on the server and the contract
// every storage backend implements.
//
// A backend (store/memstore, store/sqlitestore, ...) implements each of the
// small interfaces below. Callers depend on the interface they need: the auth
// package on [Users], the cookie package on [DenyList], the server on [Keys].
//
// Every method takes a context first and honours its cancellation and
// deadline. Errors that callers act on are exported sentinels, to be tested
// with errors.Is; any other error means the backend could not answer (it is
// down, slow or broken) and callers should report "unavailable", never treat
// it as "not found".
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound reports that the record asked for does not exist (or has
	// expired, which is the same thing to a caller).
	ErrNotFound = errors.New("store: not found")

	// ErrExists reports that a record with the same key already exists.
	ErrExists = errors.New("store: already exists")
)

// User is an account as the store keeps it. Names compare case-insensitively
// (ASCII): "Alice" and "alice" are the same account, and the name keeps the
// spelling it was created with.
//
// ID names the account itself rather than its name: it is random, assigned
// when the account is created, and never reused, so a login recorded for a
// deleted account (whose name someone may register again) can be told
// apart from a login of the new account: every login record carries the ID
// of the account it was made for (Record.AccountID).
type User struct {
	ID           string    // random and never reused; auth.Accounts assigns it
	Name         string    // as registered, 3–64 characters of [A-Za-z0-9_.-]
	PasswordHash string    // a PHC string, such as "$argon2id$v=19$m=19456,t=2,p=1$…"
	Created      time.Time // when the account was created
	Updated      time.Time // when the password last changed: logins proved before it are void
}

// Users keeps accounts.
type Users interface {
	// CreateUser adds u. It returns ErrExists when an account with the same
	// name (compared case-insensitively) exists. u.ID must not be empty.
	CreateUser(ctx context.Context, u User) error

	// User returns the account named name, or ErrNotFound.
	User(ctx context.Context, name string) (User, error)

	// SetPasswordHash replaces the password hash of the account named name and
	// sets its Updated time to updated. It returns ErrNotFound when there is
	// no such account. The account keeps its ID.
	SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error

	// DeleteUser removes the account named name, or returns ErrNotFound.
	DeleteUser(ctx context.Context, name string) error

	// ListUsers returns every account, ordered by name.
	ListUsers(ctx context.Context) ([]User, error)
}

// Key is a secret the server generated for one purpose (sealing cookies,
// signing tokens, ...). Keys are never logged and never leave the store except
// to the process that uses them.
//
// A key's life has three times, all read from the store's clock ([Clock])
// by whoever adds the key, so that every instance agrees on them: it is
// created (and published: it opens and verifies at once), it starts sealing
// or signing at SignsFrom, once every instance and every cache has had
// time to learn it, and it stops opening and verifying at Retires, which
// [Keys.RotateKey] sets when a newer key replaces it. Retirement is stored,
// never recomputed from a key's neighbours, so deleting one key changes
// nothing about the others.
type Key struct {
	ID        string    // unique within its purpose; safe to show
	Secret    []byte    // the key material (as the caller stored it: possibly encrypted)
	Created   time.Time // when the key was generated
	SignsFrom time.Time // when it may start sealing or signing; zero means from Created
	Retires   time.Time // when it stops opening and verifying; zero means not scheduled
}

// Keys keeps the server's secrets, so that every instance sharing the store
// uses the same ones and a restart keeps them.
type Keys interface {
	// Keys returns the keys of purpose, oldest (first added) first. It
	// returns an empty slice, not an error, when there are none.
	Keys(ctx context.Context, purpose string) ([]Key, error)

	// AddKey adds k to the keys of purpose, as the newest. It returns
	// ErrExists when the purpose already has a key with the same ID.
	AddKey(ctx context.Context, purpose string, k Key) error

	// AddFirstKey adds k only when purpose has no key at all, and returns
	// ErrExists otherwise, in one atomic step: of instances that start at
	// once on an empty store, exactly one adds the first key and the others
	// read it.
	AddFirstKey(ctx context.Context, purpose string, k Key) error

	// RotateKey adds k to the keys of purpose, as the newest, and in the
	// same atomic step sets Retires to retire on every other key of
	// purpose whose Retires is zero: the keys k replaces stop verifying at
	// retire, and keys already scheduled keep their time. It returns
	// ErrExists when the purpose already has a key with k's ID, and then
	// changes nothing.
	RotateKey(ctx context.Context, purpose string, k Key, retire time.Time) error

	// ReplaceKeySecret replaces the secret of the key of purpose named id
	// with secret, if its secret is still old (compare-and-swap): re-encrypting
	// keys under a new key-encryption key while servers run loses no
	// concurrent change. It returns ErrNotFound when there is no such key
	// and ErrConflict when its secret is no longer old. Its other fields
	// are kept.
	ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error

	// DeleteKey removes the key of purpose named id, so that nothing it
	// sealed or signed is accepted any more. It returns ErrNotFound when
	// the purpose has no such key.
	DeleteKey(ctx context.Context, purpose, id string) error
}

// Clock is implemented by backends that can tell the time as the store
// sees it, so that every instance sharing the store can take the times it
// computes (key lifetimes, refresh grace windows, the expiries it stores)
// from one clock, whatever its own says: PostgreSQL and Redis answer with
// the server's time; an embedded store answers with its Options.Now (the
// machine's, which every user of the file shares). The backends' own
// checks of expiry still use their Options.Now.
type Clock interface {
	// StoreTime returns the store's current time.
	StoreTime(ctx context.Context) (time.Time, error)
}

// DenyList remembers identifiers that must be refused until a point in time:
// the id of a sealed cookie after logout, the jti of an access token. An
// entry is forgotten once its time has passed.
type DenyList interface {
	// Deny refuses id until the time until. Denying an id again keeps the
	// later of the two times.
	Deny(ctx context.Context, id string, until time.Time) error

	// Denied reports whether id is refused now.
	Denied(ctx context.Context, id string) (bool, error)
}

// Counters keeps counters that expire: what login throttling counts, kept
// in the store so that every instance sharing it counts together and a
// restart forgets nothing. Keys are chosen by the caller (the auth package
// hashes user names and addresses into them) and are at most 128 bytes.
type Counters interface {
	// AddCount adds delta (which may be negative) to the counter named key
	// and returns its new value and when it expires, in one atomic step:
	// of many concurrent calls, each sees the value its own delta made.
	// A counter that does not exist, or has expired, starts from zero and
	// expires window from now; a live counter keeps the expiry it has. A
	// counter whose value falls to zero or below is removed. Like Record
	// times, now plus window must lie before the year 2262 (backends may
	// store Unix nanoseconds).
	AddCount(ctx context.Context, key string, delta int64, window time.Duration) (count int64, expires time.Time, err error)

	// Count returns the live value of the counter named key and when it
	// expires, or 0 and the zero time when there is no live counter.
	Count(ctx context.Context, key string) (count int64, expires time.Time, err error)

	// DeleteCount removes the counter named key; removing one that does
	// not exist is not an error.
	DeleteCount(ctx context.Context, key string) error
}

// Pinger is implemented by backends that can tell whether they answer, for
// health checks.
type Pinger interface {
	// Ping returns nil when the backend answered before ctx ended.
	Ping(ctx context.Context) error
}
