package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

func TestOldestBeyond(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := func(name byte, created, lastSeen int) store.Record {
		return store.Record{
			ID:       store.SessionID{name},
			Created:  t0.Add(time.Duration(created) * time.Minute),
			LastSeen: t0.Add(time.Duration(lastSeen) * time.Minute),
		}
	}
	// a is the oldest; b and c began together, c was used earlier.
	all := []store.Record{rec('d', 9, 9), rec('b', 5, 8), rec('a', 1, 20), rec('c', 5, 6)}
	tests := []struct {
		keep int
		want string // the names of the records to end, in order
	}{
		{4, ""},
		{9, ""},
		{3, "a"},
		{2, "ac"},
		{1, "acb"},
		{0, "acbd"},
		{-1, "acbd"},
	}
	for _, tt := range tests {
		got := ""
		for _, r := range store.OldestBeyond(slices.Clone(all), tt.keep) {
			got += string(r.ID[0])
		}
		if got != tt.want {
			t.Errorf("OldestBeyond(keep %d) = %q, want %q", tt.keep, got, tt.want)
		}
	}
}
