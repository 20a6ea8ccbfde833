// Package sqlitestore implements the store interfaces on an embedded SQLite
// database (modernc.org/sqlite: pure Go, no cgo). It is sessionkit's default:
// a single file that survives restarts, with nothing else to install.
//
// The database runs in WAL mode with a busy timeout, so it is safe for
// concurrent use by many goroutines (and by several processes on the same
// machine). The file is created readable by its owner only, since it holds
// password hashes, the server's keys and session data. Expired rows
// (deny-list entries, counters and sessions) are deleted periodically in
// small batches; Close stops that and closes the database.
//
// # Durability
//
// Every connection runs with PRAGMA synchronous=NORMAL. In WAL mode a
// commit is then written to the WAL file but not synced: a write the store
// has acknowledged survives a crash of the process, but the last ones may
// be lost (never half-made: the database stays consistent) if the machine
// loses power or the operating system crashes before the next checkpoint
// syncs the WAL. Each write is acknowledged only after the transaction
// that holds it has committed.
//
// # Group commit
//
// Session saves (SaveSession, on every request of a logged-in user) that
// arrive together share one write transaction: the first caller to find no
// batch under way runs its save at once, and the saves that arrive
// meanwhile wait for it and then go, up to 64, in the next transaction, in
// the order they arrived. Each keeps its own compare-and-swap result (a new
// version, store.ErrConflict, or its own error, after which the others go
// on), and no caller hears before the transaction commits. If it does not
// commit, every save of the batch fails and none is made. Other writes run
// in transactions of their own, one at a time on the same connection, never
// inside a batch.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultCleanupInterval is how often expired rows are deleted when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// cleanupBatch bounds the rows one cleanup statement deletes, so that a
// cleanup never holds the write lock for long.
const cleanupBatch = 500

// Options configures Open. The zero value is ready to use.
//
// Durability is not an option: every write is acknowledged once it has
// committed with PRAGMA synchronous=NORMAL in WAL mode, which survives a
// crash of the process but may lose the last writes to a power loss (see
// the package documentation).
type Options struct {
	// CleanupInterval is how often expired rows are deleted. Expired rows
	// are never returned, whatever the interval. Zero or negative means
	// DefaultCleanupInterval (5 minutes).
	CleanupInterval time.Duration

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store is a SQLite-backed store. It is safe for concurrent use.
type Store struct {
	// db reads, on several connections: in WAL mode readers do not wait
	// for the writer. w writes, on one connection: SQLite lets one writer
	// in at a time, and writers waiting on one connection queue in Go,
	// where SQLite's busy handler would poll with sleeps of milliseconds.
	db    *sql.DB
	w     *sql.DB
	stmts *statements
	saves saveQueue // SaveSession's batches on w (groupcommit.go)

	now  func() time.Time
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Open opens (creating if needed) the database file at path, brings its
// schema up to date and starts the cleanup goroutine. It fails if the file
// cannot be created or opened, is not a SQLite database, or was written by a
// newer version of sessionkit.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	// Create the file ourselves so that it is private from the start:
	// SQLite gives its -wal and -shm files the mode of the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(0)
	stmts, err := prepare(ctx, db, w)
	if err != nil {
		db.Close()
		w.Close()
		return nil, err
	}
	s := &Store{db: db, w: w, stmts: stmts, now: opts.Now, stop: make(chan struct{}), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	interval := opts.CleanupInterval
	if interval <= 0 {
		interval = DefaultCleanupInterval
	}
	go s.cleanup(interval)
	return s, nil
}

// dsn builds the driver's connection string: every connection gets the same
// pragmas, and write transactions take the lock when they begin, so that two
// writers never deadlock upgrading read locks.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// DB returns the underlying database (the pool the store reads with), for
// packages that keep their own tables beside the store's. Callers must not
// close it. Its writes wait for the store's (and the store's for them) in
// SQLite's busy handler.
func (s *Store) DB() *sql.DB { return s.db }

// Ping reports whether the database answers a query before ctx ends.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlitestore: ping: %w", err)
	}
	return nil
}

// Close stops the cleanup goroutine and closes the database. Calling it more
// than once is safe.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		err = errors.Join(s.stmts.close(), s.db.Close(), s.w.Close())
	})
	return err
}

func (s *Store) cleanup(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			// A failed cleanup is retried at the next tick; expired rows are
			// filtered out by every read meanwhile.
			_, _ = s.removeExpired(ctx, s.now())
			cancel()
		}
	}
}

// expiring lists, for each table whose rows expire, the statement that
// deletes one batch of its expired rows. Each takes the current time
// (UnixNano) and the batch size.
var expiring = [...]struct{ table, deleteBatch string }{
	{"deny_list", `DELETE FROM deny_list WHERE rowid IN (SELECT rowid FROM deny_list WHERE until <= ? LIMIT ?)`},
	{"counters", `DELETE FROM counters WHERE rowid IN (SELECT rowid FROM counters WHERE expires <= ? LIMIT ?)`},
	{"sessions", `DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires <= ? LIMIT ?)`},
}

// removeExpired deletes expired rows from every table in expiring, in
// batches, each its own short transaction, and returns how many it deleted.
// It stops at the first error.
func (s *Store) removeExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, e := range expiring {
		for {
			res, err := s.w.ExecContext(ctx, e.deleteBatch, now.UnixNano(), cleanupBatch)
			if err != nil {
				return total, fmt.Errorf("sqlitestore: cleanup %s: %w", e.table, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, fmt.Errorf("sqlitestore: cleanup %s: %w", e.table, err)
			}
			total += n
			if n < cleanupBatch {
				break
			}
		}
	}
	return total, nil
}
