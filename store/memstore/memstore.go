// Package memstore is an in-process implementation of the store interfaces,
// for tests and single-process apps. Everything it holds is lost when the
// process ends.
//
// A Store is safe for concurrent use. A background goroutine forgets expired
// entries; Close stops it.
package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// DefaultCleanupInterval is how often a Store forgets expired entries when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = time.Minute

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// CleanupInterval is how often expired entries are removed from memory.
	// Expired entries are never returned, whatever the interval. Zero or
	// negative means DefaultCleanupInterval (1 minute).
	CleanupInterval time.Duration

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store keeps accounts, passkeys, keys, deny-listed ids, counters and
// session records in memory.
type Store struct {
	now  func() time.Time
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu    sync.RWMutex
	users map[string]store.User // by store.FoldName(Name)
	keys  map[string][]store.Key
	deny  map[string]time.Time
	// counters holds live counters, and expired ones until cleanup.
	counters map[string]counter
	// passkeys are under the users' lock, so that DeleteUser deletes an
	// account's passkeys in the same step as the account.
	passkeys        map[string]passkey             // by string(ID)
	accountPasskeys map[string]map[string]struct{} // string(ID)s by AccountID; no empty sets
	passkeySeq      uint64                         // the seq of the passkey added last

	// Sessions have their own lock, so that session traffic (a read and
	// often a save on every request) does not wait on the rest.
	smu      sync.RWMutex
	sessions map[store.SessionID]store.Record
	byUser   map[string]map[store.SessionID]struct{} // by store.FoldName(User); only non-empty users
}

// New returns an empty Store and starts its cleanup goroutine.
func New(opts Options) *Store {
	s := &Store{
		now:   opts.Now,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		users: make(map[string]store.User),
		keys:  make(map[string][]store.Key),
		deny:  make(map[string]time.Time),

		counters: make(map[string]counter),

		passkeys:        make(map[string]passkey),
		accountPasskeys: make(map[string]map[string]struct{}),

		sessions: make(map[store.SessionID]store.Record),
		byUser:   make(map[string]map[store.SessionID]struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	interval := opts.CleanupInterval
	if interval <= 0 {
		interval = DefaultCleanupInterval
	}
	go s.cleanup(interval)
	return s
}

// Close stops the cleanup goroutine. The Store keeps answering afterwards;
// Close only ends the background work. Calling Close more than once is safe.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

// Ping always succeeds unless ctx has ended: memory is always there.
func (s *Store) Ping(ctx context.Context) error {
	return ctx.Err()
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
			s.removeExpired(s.now())
		}
	}
}

// removeExpired forgets the deny-list entries, counters and sessions that
// have expired by now.
func (s *Store) removeExpired(now time.Time) {
	s.mu.Lock()
	for id, until := range s.deny {
		if !now.Before(until) {
			delete(s.deny, id)
		}
	}
	for key, c := range s.counters {
		if !now.Before(c.expires) {
			delete(s.counters, key)
		}
	}
	s.mu.Unlock()
	s.removeExpiredSessions(now)
}
