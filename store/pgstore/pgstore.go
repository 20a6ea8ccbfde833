// Package pgstore implements the store interfaces on PostgreSQL, through
// github.com/jackc/pgx/v5 and its connection pool, pgxpool. It is the
// backend for several server instances sharing one database.
//
// # Opening
//
// [Open] takes a postgres:// URL (or a key=value connection string), builds
// a pool with a short connect timeout and owns it: [Store.Close] closes it.
// [New] takes a pool the application already has, for example one it also
// uses for its own tables; Close then leaves the pool open. Both bring the
// schema up to date before they return, so they fail when the database is
// unreachable, the role lacks the privileges, or the schema was written by
// a newer version of sessionkit.
//
// The store's statements are prepared and cached per connection (pgx's
// default). Behind a pooler in transaction mode, such as PgBouncer, add
// default_query_exec_mode=exec to the URL.
//
// # Schema
//
// The store keeps seven tables, all prefixed sessionkit_ so that they can
// live beside an application's own, in the schema [Options.Schema] names
// ("public" by default; it is created if missing):
//
//   - sessionkit_schema: one row per migration applied (version, applied).
//   - sessionkit_users: accounts, keyed by the name with ASCII letters
//     folded to lower case (name_key), beside the name as registered and
//     the account's random id (unique).
//   - sessionkit_keys: the server's keys, per purpose, in the order added,
//     each with when it was created, starts signing and retires.
//   - sessionkit_deny_list: refused ids and until when.
//   - sessionkit_sessions: session records keyed by the SHA-256 of the
//     session token (bytea, 32 bytes): the token itself is never stored.
//   - sessionkit_counters: expiring counters (login throttling), keyed by
//     the caller's key as bytea, so that it may hold any bytes.
//   - sessionkit_passkeys: WebAuthn credentials, keyed by credential ID
//     (bytea), indexed by account id. DeleteUser deletes the account's
//     passkeys in the statement that deletes the account.
//
// Times are bigint Unix nanoseconds. The migrations in schema.go are the
// schema's documentation. They are applied in one transaction under a
// transaction-scoped advisory lock (pg_advisory_xact_lock) derived from the
// schema name, so that instances starting together against one database
// migrate exactly once and the others wait and then find it current.
//
// A DBA who prefers to apply the schema by hand can print it with
// [SchemaSQL], run it as a role allowed to create tables, and grant the
// application's role SELECT, INSERT, UPDATE and DELETE on the seven tables
// (and USAGE on the schema). New and Open then find the schema current and
// only read sessionkit_schema: the application's role needs no CREATE
// privilege.
//
// # Behaviour
//
// Session saves are compare-and-swap in one statement each (an INSERT …
// ON CONFLICT … WHERE for a create, an UPDATE … WHERE version = $n for a
// save), so of concurrent saves naming one version exactly one wins, across
// connections and instances; saves that arrive together share a
// transaction (below), but each keeps its statement and its result. Reads
// compare expiry times with the store's clock ([Options.Now]), passed as a
// parameter, so an expired row is never returned even before it is
// deleted. AddCount is one INSERT … ON
// CONFLICT DO UPDATE, which starts a counter afresh (missing or expired by
// the same clock) or adds to it, and returns the result. AddFirstKey and
// RotateKey are each one READ COMMITTED transaction holding an advisory
// lock derived from the schema and the purpose (pg_advisory_xact_lock,
// which needs no privilege), so that of instances adding a purpose's first
// key at once exactly one does, and concurrent rotations retire every key
// but the newest; ReplaceKeySecret is one conditional UPDATE. StoreTime
// reads the database server's clock. A background goroutine deletes expired sessions, deny-list entries and counters every
// [Options.CleanupInterval] in batches of a few hundred rows, each batch
// its own short statement that skips rows other transactions hold (FOR
// UPDATE SKIP LOCKED): several instances may clean up at once without
// waiting on each other or on requests.
//
// Every method honours its context: when it is canceled or its deadline
// passes, the call returns at once with an error (pgx abandons the
// connection instead of waiting for the server). The exception is a
// session save that shares a transaction with others (below): once the
// transaction has started it runs for all of them, until it ends or the
// latest of their deadlines passes, and each caller hears its outcome.
// Errors are wrapped with a "pgstore: " prefix; only the store package's
// sentinels (store.ErrNotFound, store.ErrExists, store.ErrConflict) mean
// an answer. Any other error means the call failed: the database did not
// answer in time, or a write was given a string it cannot store (below).
// It never stands for "not found".
//
// # Group commit
//
// Session saves (SaveSession, on every request of a logged-in user) that
// arrive together share one transaction. A save that finds fewer than two
// batches under way starts one at once, on a connection of its own; saves
// that arrive while two run wait, and the next batch to start takes them,
// up to 64, in the order they arrived. A batch of one save runs as the one
// statement it always was. A batch of several is sent in one round trip:
// BEGIN ISOLATION LEVEL READ COMMITTED, a statement per save, COMMIT. Each
// save keeps its own compare-and-swap result (a new version,
// store.ErrConflict, or its own error). If the server refuses any
// statement of the transaction, which aborts it whole, each of its saves
// runs again on its own, so that only the refused one fails. The
// transaction is READ COMMITTED whatever the pool's default, so that it
// fails for no other transaction's sake; a compare-and-swap statement has
// the same result at every level. Its statements lock the sessions' rows
// in the order of their ids, so that the transactions of several instances
// do not deadlock one another. A save whose context ends while it waits is
// not made, and its caller hears at once.
//
// # Durability
//
// A save is acknowledged only once the statement or the COMMIT that holds
// it has returned, so it is as durable as the server's synchronous_commit
// makes a commit. The store does not set it: the server's setting
// applies, or the role's, or the URL's (pgx passes a parameter it does not
// know, such as synchronous_commit=off, to the server). With on,
// PostgreSQL's default, the save's WAL has been flushed to disk (and, with
// synchronous_standby_names set, to the synchronous standbys) before it is
// acknowledged. With remote_write or local it has been flushed locally, but
// a standby may not have it on disk; with off it may be lost if the server
// crashes within about three times wal_writer_delay after the
// acknowledgement (never half-made: the database stays consistent).
//
// PostgreSQL text cannot hold a NUL byte or invalid UTF-8. Names, account
// ids, purposes, key and deny-list ids, session kinds, owners and user
// agents with such bytes cannot be stored: writes refuse them with an
// error, and lookups answer as for a missing record. A session's account
// id and counter keys are kept as bytea and may hold any bytes.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/internal/groupcommit"
	"github.com/sessionkit/sessionkit/store"
)

// Defaults applied to zero fields of Options, and to pools Open creates.
const (
	// DefaultSchema is the schema the tables are created in when
	// Options.Schema is empty.
	DefaultSchema = "public"

	// DefaultCleanupInterval is how often expired rows are deleted when
	// Options.CleanupInterval is zero or negative.
	DefaultCleanupInterval = 5 * time.Minute

	// DefaultConnectTimeout bounds how long a pool Open creates spends
	// establishing one connection, when the URL does not set
	// connect_timeout. A server that is down fails fast instead of holding
	// a background connection attempt for pgxpool's two minutes.
	DefaultConnectTimeout = 5 * time.Second
)

// cleanupBatch bounds the rows one cleanup statement deletes, so that a
// cleanup never holds many row locks or a long transaction.
const cleanupBatch = 500

// cleanupTimeout bounds one round of cleanup.
const cleanupTimeout = time.Minute

// Options configures Open and New. The zero value is ready to use.
type Options struct {
	// Schema is the PostgreSQL schema the tables live in; empty means
	// DefaultSchema. It is created if it does not exist. The name is used
	// as given (quoted, so case and punctuation are kept) and must be at
	// most 63 bytes of valid UTF-8 without NUL.
	Schema string

	// CleanupInterval is how often expired rows are deleted; zero or
	// negative means DefaultCleanupInterval (5 minutes). Expired rows are
	// never returned, whatever the interval.
	CleanupInterval time.Duration

	// Now returns the current time, against which expiry is checked; nil
	// means time.Now.
	Now func() time.Time

	// Tracer, if set, is given every query of the pool Open creates (as
	// pgx.ConnConfig.Tracer): for instance otelpgx.NewTracer(), for
	// OpenTelemetry spans. New ignores it: a pool the caller made has
	// its own configuration.
	Tracer pgx.QueryTracer
}

// Store is a PostgreSQL-backed store. It implements store.Users,
// store.Passkeys, store.Keys, store.Clock, store.DenyList, store.Counters,
// store.Pinger and store.Sessions, and is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
	now      func() time.Time
	q        queries
	saves    groupcommit.Queue[store.Record, uint64] // SaveSession's batches (groupcommit.go)

	ctx    context.Context // ended by Close, to abort a running cleanup
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

var _ interface {
	store.Users
	store.Keys
	store.Clock
	store.DenyList
	store.Counters
	store.Pinger
	store.Sessions
} = (*Store)(nil)

// Open creates a connection pool for url (a postgres:// URL or a key=value
// connection string, with pgxpool's pool_* settings if wanted), brings the
// schema up to date and starts the cleanup goroutine. The Store owns the
// pool: Close closes it. Unless the URL sets connect_timeout, each
// connection attempt is bounded by DefaultConnectTimeout.
//
// Open fails if url cannot be parsed, ctx ends or the database cannot be
// reached before the schema is migrated, the role may not create the
// schema or its tables, or the schema was written by a newer version of
// sessionkit.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := poolConfig(url)
	if err != nil {
		return nil, err
	}
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s, err := newStore(ctx, pool, true, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// poolConfig parses url into the pool configuration Open uses.
func poolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors repeat the connection string with the
		// password masked; the message is safe to show.
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	return cfg, nil
}

// New uses pool, which the caller keeps owning: Close does not close it. It
// brings the schema up to date and starts the cleanup goroutine. It fails
// for the same reasons as Open, except parsing a URL.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	return newStore(ctx, pool, false, opts)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, owns bool, opts Options) (*Store, error) {
	schema := opts.Schema
	if schema == "" {
		schema = DefaultSchema
	}
	if err := checkSchemaName(schema); err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool, schema); err != nil {
		return nil, err
	}
	s := &Store{
		pool:     pool,
		ownsPool: owns,
		now:      opts.Now,
		q:        newQueries(quoteIdent(schema)),
		done:     make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.saves.Leaders = concurrentBatches
	s.ctx, s.cancel = context.WithCancel(context.Background())
	interval := opts.CleanupInterval
	if interval <= 0 {
		interval = DefaultCleanupInterval
	}
	go s.cleanup(interval)
	return s, nil
}

// Pool returns the connection pool the store uses, for packages that keep
// their own tables beside the store's. Callers must not close it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping reports whether the database answers before ctx ends.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	return nil
}

// Close stops the cleanup goroutine (aborting a cleanup in progress) and,
// if the store was made by Open, closes the pool, waiting for connections
// in use to be returned. Calling it more than once is safe.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
		if s.ownsPool {
			s.pool.Close()
		}
	})
	return nil
}

func (s *Store) cleanup(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, cleanupTimeout)
			// A failed cleanup is retried at the next tick; every read
			// filters out expired rows meanwhile.
			_, _ = s.removeExpired(ctx, s.now())
			cancel()
		}
	}
}

// removeExpired deletes the rows that expired by now from every table in
// s.q.expiring, in batches of cleanupBatch rows, each batch one statement,
// and returns how many it deleted. It stops at the first error.
func (s *Store) removeExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, e := range s.q.expiring {
		for {
			tag, err := s.pool.Exec(ctx, e.deleteBatch, now.UnixNano(), cleanupBatch)
			if err != nil {
				return total, fmt.Errorf("pgstore: cleanup %s: %w", e.table, err)
			}
			n := tag.RowsAffected()
			total += n
			if n < cleanupBatch {
				break
			}
		}
	}
	return total, nil
}

// checkSchemaName refuses schema names PostgreSQL would reject or silently
// truncate.
func checkSchemaName(schema string) error {
	switch {
	case len(schema) > 63:
		return fmt.Errorf("pgstore: schema name %q is longer than PostgreSQL's 63 bytes", schema)
	case !storable(schema):
		return fmt.Errorf("pgstore: schema name %q is not valid UTF-8 or holds a NUL byte", schema)
	}
	return nil
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(name string) string {
	return pgx.Identifier{name}.Sanitize()
}

// storable reports whether s can be kept in a PostgreSQL text column: valid
// UTF-8 without NUL bytes.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// errUnstorable is returned by writes given a string that PostgreSQL text
// cannot hold.
func errUnstorable(op, what string) error {
	return fmt.Errorf("pgstore: %s: %s is not valid UTF-8 or holds a NUL byte, which PostgreSQL text cannot store", op, what)
}

// uniqueViolation reports whether err is PostgreSQL's unique_violation.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// serializationFailure reports whether err is PostgreSQL's
// serialization_failure: under REPEATABLE READ or SERIALIZABLE, a row
// changed by a concurrent transaction.
func serializationFailure(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40001"
}
