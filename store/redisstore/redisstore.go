// Package redisstore implements the store interfaces on Redis, with
// github.com/redis/go-redis/v9. It works with a single server, a
// Sentinel-managed primary and Redis Cluster: no operation relies on KEYS,
// on a multi-key command or on a script or transaction across hash slots.
// It needs Redis 4.0 or later (it is tested with 7.0).
//
// # Key layout
//
// Every key starts with Options.Prefix; with the default prefix:
//
//	sessionkit:users              hash: folded account name → the account
//	sessionkit:deny:ID            string: the deny-list entry for ID; expires at its time
//	sessionkit:c:KEY              hash: the counter KEY (any bytes): value and
//	                              expiry; expires at its expiry
//	sessionkit:s:HEX              hash: the session record HEX (its store.SessionID
//	                              in hex); expires at the record's Expires
//	sessionkit:u:USER             hash: the session index of the folded user name
//	                              USER: HEX → "expires-ms:written-ms:nonce";
//	                              expires no earlier than its latest entry
//	sessionkit:{k:PURPOSE}:ids    list: the key IDs of PURPOSE in the order added
//	sessionkit:{k:PURPOSE}:keys   hash: key ID → created time and secret
//	sessionkit:{sessionkit:users}:passkeys
//	                              hash: credential ID (raw bytes) → the passkey
//	sessionkit:{sessionkit:users}:account-passkeys
//	                              hash: account id → its credential IDs in the
//	                              order added
//
// Names fold ASCII letters to lower case, so "Alice" and "alice" share a key.
// The two keys of a purpose carry the hash tag {k:PURPOSE}, so that Redis
// Cluster puts them in one slot and the scripts that change or read both stay
// atomic. The two passkey keys carry as hash tag the name of the accounts'
// hash (which has no tag, so Cluster hashes its whole name): all three are in
// one slot, and DeleteUser removes an account and its passkeys in one script.
// Every other command or script touches a single key. The prefix
// must not contain '{' or '}', which would change the part of each key that
// Redis Cluster hashes.
//
// # Sessions
//
// SaveSession is one Lua script on the record's key that compares the stored
// version and writes the record (compare-and-swap), sent in one pipeline with
// a second script that updates the owner's index: one round trip. The index
// write is a separate command because a record and its owner's index are in
// different slots on a Cluster. It is kept consistent by these rules:
//
//   - Every save of a record with an owner writes the owner's index entry,
//     tagged with the save's random nonce, which the record keeps too. An
//     entry's expiry only ever grows, so a losing save cannot shorten it.
//   - A save that takes a record away from a named user (to another user or
//     to nobody) then removes that user's entry: a second round trip, only
//     in that case.
//   - DeleteSession and DeleteUserSessions remove the entries of the records
//     they delete.
//   - UserSessions and DeleteUserSessions drop the entries they find whose
//     record is missing, expired or owned by someone else: at once when the
//     entry's own expiry has passed or the record's last save wrote it,
//     otherwise once the entry is a minute old, because its save may still
//     be on its way (a Cluster runs the two scripts of a save on two nodes,
//     in no set order). An entry is removed only if it has not been written
//     again since it was read, so a newer entry is never dropped.
//   - A login (a save that creates a record) drops the user's entries whose
//     expiry has passed; it reads the user's whole index to do so.
//   - An index key expires with the latest expiry written to it.
//
// So no index entry outlives its session for long: at most a minute once its
// user's sessions are listed or removed, and never past the index key's
// expiry. Listings never show such an entry: they read every record named
// and keep only the user's live ones.
//
// go-redis retries a command whose reply was lost. A save recognises its own
// nonce, so a retried save that was applied the first time succeeds instead
// of reporting a conflict (unless another save came in between, which then
// reports ErrConflict as for any lost race).
//
// Records expire by Redis TTL (PEXPIREAT to Expires). Reads also compare the
// stored expiry with Options.Now, so an expired record is never returned even
// while Redis still holds it. A record saved with an Expires in the past is
// kept for a minute as an expired tombstone (never returned, never live), so
// that a retried save and the index rules recognise it, and then removed by
// Redis.
//
// # Accounts and counters
//
// An account written by a version of sessionkit that gave accounts no id
// gets a random one the first time it is read (by User or ListUsers), by a
// script that sets it only if it is still missing, so that concurrent
// readers all get the same one, and keeps it.
//
// Every change to passkeys is one script over the two passkey hashes;
// UsePasskey checks that the signature counter increased and writes the
// passkey in the same script. DeleteUser is one script over the accounts'
// hash and the passkey hashes that removes the account and its passkeys.
//
// AddCount is one script on the counter's key: it starts the counter
// afresh when it is missing or expired by Options.Now (value 0, expiry now
// plus the window, PEXPIREAT to it), adds with HINCRBY, and deletes the
// counter when its value is zero or below.
//
// A Store is safe for concurrent use.
package redisstore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the prefix of every key when Options.Prefix is empty.
const DefaultPrefix = "sessionkit:"

// Client settings Open uses unless the URL sets them.
const (
	DefaultDialTimeout  = 2 * time.Second
	DefaultReadTimeout  = 2 * time.Second
	DefaultWriteTimeout = 2 * time.Second
	DefaultPoolTimeout  = 2 * time.Second
)

// indexGrace is how long an index entry is kept while its record does not
// show it (the save that wrote it may still be on its way), and how long an
// expired tombstone is kept for retried saves and index cleanup to see.
const indexGrace = time.Minute

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts the name of every key the store uses, so that several
	// applications (or tests) can share one Redis database. Empty means
	// DefaultPrefix. It must not contain '{' or '}'.
	Prefix string

	// Now returns the current time; nil means time.Now. The store uses it
	// to decide whether a record or a deny-list entry has expired; Redis
	// removes them by TTL on its own clock.
	Now func() time.Time
}

// Store keeps accounts, keys, deny-listed ids, counters and session records
// in Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	owned  bool // Close closes client
	prefix string
	now    func() time.Time
	once   sync.Once
	err    error // of closing the client
}

// New returns a Store on client, a *redis.Client, *redis.ClusterClient or
// any other redis.UniversalClient the caller configured. Close does not
// close client: the caller does, after closing the Store.
//
// The client should be configured as Open configures its own: with
// ContextTimeoutEnabled set (otherwise go-redis ignores context deadlines on
// socket reads, and a request waits for ReadTimeout when Redis hangs), and
// with DialTimeout, ReadTimeout, WriteTimeout and PoolTimeout of a second or
// two. Retries (MaxRetries) are safe: a retried save is recognised.
//
// New panics if opts.Prefix contains '{' or '}', like any other misuse of
// its arguments.
func New(client redis.UniversalClient, opts Options) *Store {
	if err := checkPrefix(opts.Prefix); err != nil {
		panic(err)
	}
	return newStore(client, opts)
}

func newStore(client redis.UniversalClient, opts Options) *Store {
	s := &Store{client: client, prefix: opts.Prefix, now: opts.Now}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func checkPrefix(prefix string) error {
	if strings.ContainsAny(prefix, "{}") {
		return fmt.Errorf("redisstore: prefix %q contains a brace, which would change the hash slots of its keys", prefix)
	}
	return nil
}

// Close closes the client if Open created it; a Store from New leaves its
// client open. Calling Close more than once is safe and returns the first
// result. The Store must not be used afterwards.
func (s *Store) Close() error {
	s.once.Do(func() {
		if s.owned {
			s.err = s.client.Close()
		}
	})
	return s.err
}

// Client returns the client the store uses, for instance to add hooks
// (such as redisotel's, for OpenTelemetry spans) before the store is used.
// Callers must not close it.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Ping returns nil when Redis answers PING before ctx ends.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Key names; see the package documentation.

func (s *Store) usersKey() string               { return s.prefix + "users" }
func (s *Store) denyKey(id string) string       { return s.prefix + "deny:" + id }
func (s *Store) counterKey(key string) string   { return s.prefix + "c:" + key }
func (s *Store) sessionKey(hexID string) string { return s.prefix + "s:" + hexID }
func (s *Store) indexKey(folded string) string  { return s.prefix + "u:" + folded }

// purposeKeys returns the list and the hash of a purpose's keys, which share
// the hash tag {k:PURPOSE}. The tag is never empty, and the two names are
// equal up to the tag's closing brace whatever purpose holds, so they always
// hash to the same slot.
func (s *Store) purposeKeys(purpose string) (ids, keys string) {
	tag := s.prefix + "{k:" + purpose + "}"
	return tag + ":ids", tag + ":keys"
}

// call is one script to run with its keys and arguments.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
}

// run runs calls in one round trip (a pipeline when there are several) and
// returns their results, or the first error. Scripts are sent by SHA; those
// the server does not know yet are sent again in full, which costs a second
// round trip the first time a server sees a script.
func (s *Store) run(ctx context.Context, calls ...call) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	if len(calls) == 1 {
		c := calls[0]
		cmds[0] = c.script.Run(ctx, s.client, c.keys, c.args...)
		return cmds, cmds[0].Err()
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range calls {
			cmds[i] = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	var again []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range again {
				c := calls[i]
				cmds[i] = c.script.Eval(ctx, p, c.keys, c.args...)
			}
			return nil
		})
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return cmds, err
		}
	}
	// A pipeline that failed as a whole normally fails each command too;
	// never take its failure for success.
	return cmds, err
}

// nonce returns a random tag for one save: 16 hex digits.
func nonce() string {
	return fmt.Sprintf("%016x", rand.Uint64())
}

// Times are kept as Unix nanoseconds in decimal. Expiry times, which the
// scripts compare, are clamped to [0, MaxInt64] so that they are
// non-negative integers without leading zeros: for those, comparing lengths
// and then bytes compares values, exactly, in Lua.

var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos returns t in Unix nanoseconds, in decimal.
func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// expiryNanos returns t in Unix nanoseconds, clamped to the years 1970–2262.
func expiryNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return 0
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// ceilMillis returns the Unix millisecond at or after ns, for Redis TTLs:
// a key must not disappear before the time it stands for.
func ceilMillis(ns int64) int64 {
	ms := ns / 1e6
	if ns%1e6 != 0 {
		ms++
	}
	return ms
}

// parseNanos reads a time written by nanos or expiryNanos.
func parseNanos(s string) (time.Time, error) {
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns), nil
}
