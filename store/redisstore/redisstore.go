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
//	sessionkit:{u:USER}:entries   hash: the session index of the folded user
//	                              name USER: HEX → "expires-ms:written-ms:nonce"
//	sessionkit:{u:USER}:by-expiry sorted set: the same HEXes, scored by their
//	                              entry's expires-ms; both keys expire together,
//	                              no earlier than their latest entry
//	sessionkit:u:USER             hash: the session index of USER as earlier
//	                              versions wrote it (as :entries), read and
//	                              drained, never written
//	sessionkit:{k:PURPOSE}:ids    list: the key IDs of PURPOSE in the order added
//	sessionkit:{k:PURPOSE}:keys   hash: key ID → its times (created, signs
//	                              from, retires) and secret
//	sessionkit:{sessionkit:users}:passkeys
//	                              hash: credential ID (raw bytes) → the passkey
//	sessionkit:{sessionkit:users}:account-passkeys
//	                              hash: account id → its credential IDs in the
//	                              order added
//
// Names fold ASCII letters to lower case, so "Alice" and "alice" share a key.
// The two keys of a purpose carry the hash tag {k:PURPOSE}, and the two keys
// of a session index the hash tag {u:USER}, so that Redis Cluster puts them
// in one slot and the scripts that change or read both stay atomic (the
// names of two such keys are equal up to the first '}' after the tag's '{',
// whatever braces PURPOSE or USER hold, so they hash alike). The two passkey
// keys carry as hash tag the name of the accounts' hash (which has no tag,
// so Cluster hashes its whole name): all three are in one slot, and
// DeleteUser removes an account and its passkeys in one script.
// Every other command or script touches a single key. The prefix
// must not contain '{' or '}', which would change the part of each key that
// Redis Cluster hashes.
//
// # Sessions
//
// A session record is one hash, changed by a Lua script on its key that
// compares the stored version and writes the record (compare-and-swap).
// Each user's sessions are named by that user's index, which UserSessions
// and DeleteUserSessions read. On a Cluster a record and its owner's index
// are in different slots, usually on different nodes, so no script can
// change both, and either node may fail on its own.
//
// A save is one decision: its answer is the compare-and-swap's (no save
// that was applied reports an error), and the index of a live record's
// owner names it, whichever of the two writes fails. The rule is:
//
//   - A save that gives a record an owner it does not have (one that
//     creates an owned record, a login; or one that changes the owner to
//     a named user) writes the owner's index entry first, and sends the
//     compare-and-swap only once that write succeeded; if it failed, the
//     save fails and nothing is applied. The compare-and-swap itself
//     refuses such a save unless told the entry was written, so an update
//     that turns out to change the owner (which only the script can see)
//     is sent again: a login is two round trips, a change of owner two, or
//     three when the record leaves a named user.
//   - Any other save (a view: an update that keeps the owner, or a save of
//     a record without one) sends the compare-and-swap and the write of
//     the owner's entry in one pipeline: one round trip. A failed entry
//     write is ignored: the owner's entry exists already, and what it
//     missed (the later expiry) is repaired by the record's next save, the
//     user's next listing, or the next login that meets it. No rule drops
//     an entry whose record is a live one of its user, whatever the
//     entry's own expiry says. An index's keys are kept until the latest
//     expiry written to them plus as long again (counted from the write),
//     so that they outlive a record whose later expiry a failed write did
//     not record, as long as the failed saves extended it by no more than
//     its remaining life at the last write that succeeded: one missed
//     extension of a sliding expiry, for instance. A longer gap (the
//     index's node down for longer than a record's idle timeout, and then
//     no save, listing or login of the user) can let the index expire
//     before such a record.
//
// An index entry without its record (a save that lost, or one whose
// compare-and-swap never came) is harmless: listings read every record
// named and keep only the user's live ones. Entries are kept consistent by
// these rules:
//
//   - Every save of a record with an owner writes the owner's index entry,
//     tagged with the save's random nonce, which the record keeps too. An
//     entry's expiry only ever grows, so a losing save cannot shorten it.
//   - A save that takes a record away from a named user (to another user or
//     to nobody) then removes that user's entry: a further round trip,
//     only in that case.
//   - DeleteSession and DeleteUserSessions remove the entries of the records
//     they delete.
//   - UserSessions and DeleteUserSessions drop the entries they find whose
//     record is missing, expired or owned by someone else: at once when the
//     entry's own expiry has passed or the record's last save wrote it,
//     otherwise once the entry is a minute old, because its save may still
//     be on its way (a process of an earlier version sends both writes of
//     a save in one pipeline, which a Cluster runs on two nodes in no set
//     order). UserSessions also raises the expiry of an entry whose live
//     record expires later.
//   - A login checks at most 8 of the user's entries whose expiry has
//     passed, earliest first (a range of the sorted set with LIMIT): it
//     reads their records in the pipeline of its compare-and-swap, then
//     removes those that are stale by the rule above and raises the expiry
//     of those whose record lives, in one more round trip when there are
//     any. What a login costs grows with the logarithm of the user's
//     number of logins, not with the number: no login reads a whole index.
//   - An entry is removed only if it has not been written again since it
//     was read (its nonce is unchanged), so a newer entry is never dropped.
//
// So no index entry outlives its session for long: at most a minute once its
// user's sessions are listed or removed, and never past the index's expiry.
//
// An index written by earlier versions (one hash, sessionkit:u:USER, with
// the same entries) is read too: data is migrated lazily, not by a
// step of its own. UserSessions and DeleteUserSessions read both layouts
// in one pipeline and apply the rules above to the old entries too;
// UserSessions copies an old entry of a live record into the index and,
// once the index names the record, removes the old entry. Every save of a
// record writes its entry in the index, and DeleteSession and moves remove
// the old entry as well. The old hash is never written and expires as
// before, so it drains. While processes of the earlier version still run
// (a rolling upgrade), their listings and "log out everywhere" miss
// sessions saved by upgraded processes: upgrade them all before relying
// on either.
//
// On a Cluster, go-redis can give every command of a pipeline the error
// that ended it (its context ending while it waits to retry a node that is
// down), replies it had read from other nodes included. The store takes a
// reply that was read for the command's answer, so a view whose record was
// saved does not report the index node's failure.
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
// # Accounts, keys and counters
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
// Every change to a purpose's keys is one script on the purpose's list
// and hash (one hash slot): AddFirstKey adds a key only to a purpose without one, RotateKey
// adds one and retires the others in the same step, ReplaceKeySecret
// compares and swaps a secret. StoreTime is the server's TIME.
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
	"errors"
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

// indexKeys returns the two keys of the session index of the folded user
// name, which share the hash tag {u:USER} (one slot whatever the name
// holds, as for purposeKeys): a sorted set of record ids by expiry and a
// hash of record id → entry.
func (s *Store) indexKeys(folded string) []string {
	tag := s.prefix + "{u:" + folded + "}"
	return []string{tag + ":by-expiry", tag + ":entries"}
}

// legacyIndexKey returns the session index of the folded user name in the
// layout of earlier versions: one hash of record id → entry. It is read and
// pruned, never written.
func (s *Store) legacyIndexKey(folded string) string { return s.prefix + "u:" + folded }

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
	cmds := s.runWith(ctx, calls, nil)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return cmds, err
		}
	}
	return cmds, nil
}

// runWith runs calls as run does, and also sends the commands extra adds
// to the pipeline (nil: none) in the first round trip. It returns each
// call's own result: one call may fail while another succeeds (on a
// Cluster they may run on different nodes). A call left without a result
// by a pipeline that failed as a whole carries that failure.
func (s *Store) runWith(ctx context.Context, calls []call, extra func(p redis.Pipeliner)) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	if len(calls) == 0 && extra == nil {
		return cmds
	}
	if len(calls) == 1 && extra == nil {
		c := calls[0]
		cmds[0] = c.script.Run(ctx, s.client, c.keys, c.args...)
		return cmds
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range calls {
			cmds[i] = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		if extra != nil {
			extra(p)
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
		switch {
		case err != nil && cmd.Err() == nil && cmd.Val() == nil:
			// A pipeline that failed as a whole normally fails each
			// command too; never take its failure for success.
			cmd.SetErr(err)
		case cmd.Err() != nil && !isRedisError(cmd.Err()) && cmd.Val() != nil:
			// The reply was read, and the error came later: go-redis's
			// Cluster pipeline gives every command the error that ends
			// it, such as its context ending while it retries another
			// node, replies it had read from a node that answered
			// included. The reply is the command's answer.
			cmd.SetErr(nil)
		}
	}
	return cmds
}

// isRedisError reports whether err is an error reply from Redis, rather
// than a failure to get one.
func isRedisError(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
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
