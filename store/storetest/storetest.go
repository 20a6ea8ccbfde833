// Package storetest is the conformance suite every store backend runs.
//
// A backend's test calls Run with a function that returns a fresh, empty
// store; the suite checks the behaviour the store package documents, so
// that every backend behaves the same way:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			s := memstore.New(memstore.Options{})
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest

import (
	"testing"

	"github.com/sessionkit/sessionkit/store"
)

// Store is what a backend must implement to run the suite.
type Store interface {
	store.Users
	store.Keys
	store.DenyList
	store.Pinger
	store.Sessions
}

// Run runs the whole suite. open must return a new, empty store each time it
// is called; it may register cleanups on t.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("DenyList", func(t *testing.T) { testDenyList(t, open) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("SessionFields", func(t *testing.T) { testSessionFields(t, open) })
	t.Run("SessionCopies", func(t *testing.T) { testSessionCopies(t, open) })
	t.Run("LargeSession", func(t *testing.T) { testLargeSession(t, open) })
	t.Run("SessionExpiry", func(t *testing.T) { testSessionExpiry(t, open) })
	t.Run("UserSessions", func(t *testing.T) { testUserSessions(t, open) })
	t.Run("SessionsConcurrent", func(t *testing.T) { testSessionsConcurrent(t, open) })
}
