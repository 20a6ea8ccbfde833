package storetest_test

import (
	"testing"

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
