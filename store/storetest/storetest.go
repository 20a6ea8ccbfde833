// Package storetest is the conformance suite store backends run.
//
// The suite checks the behaviour the store package documents, so that every
// backend behaves the same way. It comes whole and in parts, one part for
// each interface of the store package, so that a backend can run it however
// much of the contract it implements.
//
// A backend that implements everything (store.Users, store.Passkeys,
// store.Keys, store.DenyList, store.Counters, store.Pinger and
// store.Sessions: the [Store] interface) calls [Run] with a function that
// returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			s := memstore.New(memstore.Options{})
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// A backend that keeps only some kinds of state runs the parts it
// implements: [RunSessions] for store.Sessions, [RunUsers] for store.Users,
// [RunPasskeys] for store.Passkeys (with store.Users, whose DeleteUser must
// delete the account's passkeys: the [PasskeyStore] interface), [RunKeys]
// for store.Keys, [RunDenyList] for store.DenyList and [RunCounters] for
// store.Counters. A backend that keeps only sessions, say in MySQL, needs
// nothing else:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunSessions(t, func(t *testing.T) store.Sessions {
//			return openFreshMySQLStore(t)
//		})
//	}
//
// A backend whose store can take the time from a function (an Options.Now,
// say) should also run [RunCountersClocked], which moves that clock by hand
// to check counters' expiries exactly:
//
//	func TestCountersClocked(t *testing.T) {
//		storetest.RunCountersClocked(t, func(t *testing.T, now func() time.Time) store.Counters {
//			s := memstore.New(memstore.Options{Now: now})
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Each part runs its checks as subtests of t, named as [Run] names them
// (Sessions, SessionExpiry, Users, Passkeys, ...), so the same -run
// patterns select them, plus one more, Canceled, which checks that the
// part's methods give up on an ended context. [Run] gathers those checks in
// its own Canceled subtest, with one subtest per part (Canceled/Users,
// Canceled/Passkeys, Canceled/Sessions, ...) and one for store.Pinger
// (Canceled/Ping).
package storetest

import (
	"testing"

	"github.com/sessionkit/sessionkit/store"
)

// Store is what a backend must implement to run the whole suite with [Run].
// A backend that implements less runs the parts it implements instead:
// [RunUsers], [RunPasskeys], [RunKeys], [RunDenyList], [RunCounters],
// [RunSessions].
type Store interface {
	store.Users
	store.Passkeys
	store.Keys
	store.DenyList
	store.Counters
	store.Pinger
	store.Sessions
}

// PasskeyStore is what [RunPasskeys] checks: store.Passkeys, and the
// store.Users of the same backend, to check that deleting an account
// deletes its passkeys.
type PasskeyStore interface {
	store.Passkeys
	store.Users
}

// Run runs the whole suite: every part ([RunUsers], [RunPasskeys],
// [RunKeys], [RunDenyList], [RunCounters], [RunSessions]) and the checks of
// store.Pinger. open must return a new, empty store each time it is called;
// it may register cleanups on t.
//
// The checks of every part run as subtests of t under the names the parts
// give them; the parts' Canceled checks run together as subtests of one
// Canceled subtest, named after the part (Canceled/Users, ...).
func Run(t *testing.T, open func(t *testing.T) Store) {
	parts := []part{
		usersPart(func(t *testing.T) store.Users { return open(t) }),
		passkeysPart(func(t *testing.T) PasskeyStore { return open(t) }),
		keysPart(func(t *testing.T) store.Keys { return open(t) }),
		denyListPart(func(t *testing.T) store.DenyList { return open(t) }),
		countersPart(func(t *testing.T) store.Counters { return open(t) }),
		sessionsPart(func(t *testing.T) store.Sessions { return open(t) }),
	}
	for _, p := range parts {
		p.runChecks(t)
	}
	t.Run("Ping", func(t *testing.T) { testPing(t, open(t)) })
	t.Run("Canceled", func(t *testing.T) {
		for _, p := range parts {
			t.Run(p.name, p.canceled)
		}
		t.Run("Ping", func(t *testing.T) { testPingCanceled(t, open(t)) })
	})
}

// RunUsers runs the part of the suite that checks store.Users: subtests
// Users, Concurrent and Canceled. open must return a new store, with no
// accounts, each time it is called; it may register cleanups on t.
func RunUsers(t *testing.T, open func(t *testing.T) store.Users) {
	usersPart(open).run(t)
}

// RunKeys runs the part of the suite that checks store.Keys: subtests
// Keys, KeyFields, AddFirstKey, AddFirstKeyConcurrent, RotateKey,
// RotateKeyConcurrent, ReplaceKeySecret, StoreTime and Canceled. open must
// return a new store, with no keys, each time it is called; it may
// register cleanups on t. StoreTime (and the StoreTime call of Canceled)
// checks store.Clock when the store implements it, and is skipped
// otherwise; it expects the store's clock to agree with the test's to
// within a minute.
func RunKeys(t *testing.T, open func(t *testing.T) store.Keys) {
	keysPart(open).run(t)
}

// RunDenyList runs the part of the suite that checks store.DenyList:
// subtests DenyList and Canceled. open must return a new store, with an
// empty deny list, each time it is called; it may register cleanups on t.
func RunDenyList(t *testing.T, open func(t *testing.T) store.DenyList) {
	denyListPart(open).run(t)
}

// RunCounters runs the part of the suite that checks store.Counters:
// subtests Counters, CounterExpiry, CountersConcurrent, CounterKeys and
// Canceled. open must return a new store, with no counters, each time it is
// called; it may register cleanups on t. CounterExpiry waits for counters
// with a window of 1.5 s to expire. A backend whose clock a test can set
// should run [RunCountersClocked] as well, for exact expiries.
func RunCounters(t *testing.T, open func(t *testing.T) store.Counters) {
	countersPart(open).run(t)
}

// RunSessions runs the part of the suite that checks store.Sessions:
// subtests Sessions, SessionFields, SessionCopies, LargeSession,
// SessionExpiry, UserSessions, SessionsConcurrent and Canceled. open must
// return a new store, with no session records, each time it is called; it
// may register cleanups on t.
func RunSessions(t *testing.T, open func(t *testing.T) store.Sessions) {
	sessionsPart(open).run(t)
}

// RunPasskeys runs the part of the suite that checks store.Passkeys:
// subtests Passkeys, PasskeyFields, PasskeyUse, PasskeyUseConcurrent,
// PasskeyOwner, PasskeyAccountDeleted, PasskeyIDs and Canceled. open must
// return a new store, with no accounts and no passkeys, each time it is
// called; it may register cleanups on t.
func RunPasskeys(t *testing.T, open func(t *testing.T) PasskeyStore) {
	passkeysPart(open).run(t)
}

// A part is the share of the suite that checks one interface of the store
// package.
type part struct {
	name     string             // the interface's name, and its subtest of Run's Canceled
	checks   []check            // run in order, each as a subtest
	canceled func(t *testing.T) // the calls with an ended context
}

// A check is one subtest of a part.
type check struct {
	name string
	run  func(t *testing.T)
}

// run runs the part alone: its checks, then its Canceled subtest.
func (p part) run(t *testing.T) {
	p.runChecks(t)
	t.Run("Canceled", p.canceled)
}

// runChecks runs the part's checks, each as a subtest of t.
func (p part) runChecks(t *testing.T) {
	for _, c := range p.checks {
		t.Run(c.name, c.run)
	}
}

// usersPart returns the part that checks store.Users against stores from open.
func usersPart(open func(t *testing.T) store.Users) part {
	return part{
		name: "Users",
		checks: []check{
			{"Users", func(t *testing.T) { testUsers(t, open(t)) }},
			{"Concurrent", func(t *testing.T) { testUsersConcurrent(t, open(t)) }},
		},
		canceled: func(t *testing.T) { testUsersCanceled(t, open(t)) },
	}
}

// keysPart returns the part that checks store.Keys against stores from open.
func keysPart(open func(t *testing.T) store.Keys) part {
	return part{
		name: "Keys",
		checks: []check{
			{"Keys", func(t *testing.T) { testKeys(t, open(t)) }},
			{"KeyFields", func(t *testing.T) { testKeyFields(t, open(t)) }},
			{"AddFirstKey", func(t *testing.T) { testAddFirstKey(t, open(t)) }},
			{"AddFirstKeyConcurrent", func(t *testing.T) { testAddFirstKeyConcurrent(t, open(t)) }},
			{"RotateKey", func(t *testing.T) { testRotateKey(t, open(t)) }},
			{"RotateKeyConcurrent", func(t *testing.T) { testRotateKeyConcurrent(t, open(t)) }},
			{"ReplaceKeySecret", func(t *testing.T) { testReplaceKeySecret(t, open(t)) }},
			{"StoreTime", func(t *testing.T) { testStoreTime(t, open(t)) }},
		},
		canceled: func(t *testing.T) { testKeysCanceled(t, open(t)) },
	}
}

// denyListPart returns the part that checks store.DenyList against stores from open.
func denyListPart(open func(t *testing.T) store.DenyList) part {
	return part{
		name: "DenyList",
		checks: []check{
			{"DenyList", func(t *testing.T) { testDenyList(t, open(t)) }},
		},
		canceled: func(t *testing.T) { testDenyListCanceled(t, open(t)) },
	}
}

// countersPart returns the part that checks store.Counters against stores from open.
func countersPart(open func(t *testing.T) store.Counters) part {
	return part{
		name: "Counters",
		checks: []check{
			{"Counters", func(t *testing.T) { testCounters(t, open(t)) }},
			{"CounterExpiry", func(t *testing.T) { testCounterExpiry(t, open(t)) }},
			{"CountersConcurrent", func(t *testing.T) { testCountersConcurrent(t, open(t)) }},
			{"CounterKeys", func(t *testing.T) { testCounterKeys(t, open(t)) }},
		},
		canceled: func(t *testing.T) { testCountersCanceled(t, open(t)) },
	}
}

// sessionsPart returns the part that checks store.Sessions against stores from open.
func sessionsPart(open func(t *testing.T) store.Sessions) part {
	return part{
		name: "Sessions",
		checks: []check{
			{"Sessions", func(t *testing.T) { testSessions(t, open(t)) }},
			{"SessionFields", func(t *testing.T) { testSessionFields(t, open(t)) }},
			{"SessionCopies", func(t *testing.T) { testSessionCopies(t, open(t)) }},
			{"LargeSession", func(t *testing.T) { testLargeSession(t, open(t)) }},
			{"SessionExpiry", func(t *testing.T) { testSessionExpiry(t, open(t)) }},
			{"UserSessions", func(t *testing.T) { testUserSessions(t, open(t)) }},
			{"SessionsConcurrent", func(t *testing.T) { testSessionsConcurrent(t, open) }},
		},
		canceled: func(t *testing.T) { testSessionsCanceled(t, open(t)) },
	}
}

// passkeysPart returns the part that checks store.Passkeys against stores
// from open.
func passkeysPart(open func(t *testing.T) PasskeyStore) part {
	return part{
		name: "Passkeys",
		checks: []check{
			{"Passkeys", func(t *testing.T) { testPasskeys(t, open(t)) }},
			{"PasskeyFields", func(t *testing.T) { testPasskeyFields(t, open(t)) }},
			{"PasskeyUse", func(t *testing.T) { testPasskeyUse(t, open(t)) }},
			{"PasskeyUseConcurrent", func(t *testing.T) { testPasskeyUseConcurrent(t, open(t)) }},
			{"PasskeyOwner", func(t *testing.T) { testPasskeyOwner(t, open(t)) }},
			{"PasskeyAccountDeleted", func(t *testing.T) { testPasskeyAccountDeleted(t, open(t)) }},
			{"PasskeyIDs", func(t *testing.T) { testPasskeyIDs(t, open(t)) }},
		},
		canceled: func(t *testing.T) { testPasskeysCanceled(t, open(t)) },
	}
}
