package memstore_test

import (
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s := memstore.New(memstore.Options{})
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestCountersClocked checks counters' expiries exactly, by a clock the
// test moves (Options.Now).
func TestCountersClocked(t *testing.T) {
	storetest.RunCountersClocked(t, func(t *testing.T, now func() time.Time) store.Counters {
		s := memstore.New(memstore.Options{Now: now})
		t.Cleanup(func() { s.Close() })
		return s
	})
}
