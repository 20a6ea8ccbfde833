package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// EarlierKeys checks keys that a version from before keys had SignsFrom
// and Retires wrote into s under purpose: a backend's migration test
// writes them in the old schema or layout, opens s, and calls it with
// the keys as written, oldest first (at least two, with zero SignsFrom
// and Retires). They must read back as they were, count for AddFirstKey,
// take a new secret from ReplaceKeySecret (afterReplace, when not nil,
// then checks how the backend stored it) and be retired by a RotateKey.
func EarlierKeys(t *testing.T, s store.Keys, purpose string, earlier []store.Key, afterReplace func()) {
	t.Helper()
	ctx := context.Background()
	want := append([]store.Key(nil), earlier...)
	checkKeys(t, s, purpose, want, "as the earlier version wrote them")

	first := store.Key{ID: "earlier-first", Secret: []byte("s"), Created: want[0].Created}
	if err := s.AddFirstKey(ctx, purpose, first); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddFirstKey on a purpose with keys of the earlier version: err = %v, want ErrExists", err)
	}
	last := &want[len(want)-1]
	if err := s.ReplaceKeySecret(ctx, purpose, last.ID, last.Secret, []byte("resealed:"+last.ID)); err != nil {
		t.Fatalf("ReplaceKeySecret of a key of the earlier version: %v", err)
	}
	last.Secret = []byte("resealed:" + last.ID)
	if afterReplace != nil {
		afterReplace()
	}
	checkKeys(t, s, purpose, want, "after ReplaceKeySecret")

	retire := want[0].Created.Add(72 * time.Hour)
	next := store.Key{ID: "earlier-next", Secret: []byte("next"), Created: last.Created.Add(time.Hour), SignsFrom: last.Created.Add(2 * time.Hour)}
	if err := s.RotateKey(ctx, purpose, next, retire); err != nil {
		t.Fatalf("RotateKey on keys of the earlier version: %v", err)
	}
	for i := range want {
		want[i].Retires = retire
	}
	checkKeys(t, s, purpose, append(want, next), "after RotateKey")
}
