package memstore_test

import (
	"context"
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

// TestStoreTime checks that the store's clock is Options.Now when it is
// set, and the machine's otherwise.
func TestStoreTime(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	clocked := memstore.New(memstore.Options{Now: func() time.Time { return at }})
	defer clocked.Close()
	if got, err := clocked.StoreTime(ctx); err != nil || !got.Equal(at) {
		t.Errorf("StoreTime with Options.Now = %v, %v; want %v", got, err, at)
	}
	s := memstore.New(memstore.Options{})
	defer s.Close()
	before := time.Now()
	got, err := s.StoreTime(ctx)
	if err != nil || got.Before(before) || got.After(time.Now()) {
		t.Errorf("StoreTime = %v, %v; want the machine's time, between %v and now", got, err, before)
	}
}
