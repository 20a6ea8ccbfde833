package storetest_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// A backend's test runs the whole suite against fresh stores.
func ExampleRun() {
	// In a backend's _test.go file:
	_ = func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store {
			s := memstore.New(memstore.Options{})
			t.Cleanup(func() { s.Close() })
			return s
		})
	}
}

// A backend that keeps only sessions (one on MySQL, say) runs the sessions
// part of the suite; it need not implement store.Users or any other
// interface. Here the backend is memstore with every method but those of
// store.Sessions hidden.
func ExampleRunSessions() {
	// The backend: a type with the methods of store.Sessions and no others.
	type sessionsOnly struct{ store.Sessions }

	// In the backend's _test.go file:
	_ = func(t *testing.T) {
		storetest.RunSessions(t, func(t *testing.T) store.Sessions {
			s := memstore.New(memstore.Options{})
			t.Cleanup(func() { s.Close() })
			return sessionsOnly{s}
		})
	}
}
