package store_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/store"
)

func TestFoldName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alice", "alice"},
		{"Alice", "alice"},
		{"ALICE_Bob-1.x", "alice_bob-1.x"},
		{"", ""},
		{"Ärger", "Ärger"}, // only ASCII folds: É, Ä and the Kelvin sign stay
		{"\u212Aelvin", "\u212Aelvin"},
	} {
		if got := store.FoldName(c.in); got != c.want {
			t.Errorf("FoldName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
