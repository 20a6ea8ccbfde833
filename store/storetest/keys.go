package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testKeys checks adding, listing and deleting keys, each purpose apart
// from the others.
func testKeys(t *testing.T, s store.Keys) {
	ctx := context.Background()
	keys, err := s.Keys(ctx, "cookie")
	if err != nil {
		t.Fatalf("Keys on an empty store: %v", err)
	}
	if len(keys) != 0 {
		t.Fatalf("Keys on an empty store = %d keys, want none", len(keys))
	}

	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Added out of creation order: Keys must return them in the order they
	// were added, which is the order the caller rotated them in.
	added := []store.Key{
		{ID: "k2", Secret: bytes.Repeat([]byte{2}, 32), Created: base.Add(2 * time.Hour)},
		{ID: "k1", Secret: bytes.Repeat([]byte{1}, 32), Created: base.Add(time.Hour)},
		{ID: "k3", Secret: bytes.Repeat([]byte{0, 255}, 64<<10), Created: base.Add(3 * time.Hour)},
	}
	for _, k := range added {
		if err := s.AddKey(ctx, "cookie", k); err != nil {
			t.Fatalf("AddKey(%s): %v", k.ID, err)
		}
	}
	if err := s.AddKey(ctx, "token", store.Key{ID: "k1", Secret: []byte("other purpose"), Created: base}); err != nil {
		t.Fatalf("AddKey with an ID used by another purpose: %v", err)
	}
	if err := s.AddKey(ctx, "cookie", store.Key{ID: "k1", Secret: []byte("dup"), Created: base}); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddKey with a duplicate ID: err = %v, want ErrExists", err)
	}

	keys, err = s.Keys(ctx, "cookie")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(added) {
		t.Fatalf("Keys = %d keys, want %d", len(keys), len(added))
	}
	for i, k := range keys {
		if w := added[i]; !sameKey(k, w) {
			t.Errorf("key %d = %s, want %s", i, formatKey(k), formatKey(w))
		}
	}
	// The caller owns what it got: changing it must not change the store.
	keys[0].Secret[0] ^= 0xff
	again, err := s.Keys(ctx, "cookie")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again[0].Secret, added[0].Secret) {
		t.Error("changing a returned secret changed the stored key")
	}
	other, err := s.Keys(ctx, "token")
	if err != nil {
		t.Fatal(err)
	}
	if len(other) != 1 || string(other[0].Secret) != "other purpose" {
		t.Errorf("Keys(token) = %+v, want the one token key", other)
	}

	// Deleting a key removes it from its purpose only, keeps the order of
	// the rest, and a deleted ID can be used again.
	if err := s.DeleteKey(ctx, "cookie", "k1"); err != nil {
		t.Fatalf("DeleteKey(k1): %v", err)
	}
	if err := s.DeleteKey(ctx, "cookie", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteKey of a deleted key: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteKey(ctx, "nothing", "k2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteKey in a purpose without keys: err = %v, want ErrNotFound", err)
	}
	left, err := s.Keys(ctx, "cookie")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0].ID != "k2" || left[1].ID != "k3" {
		t.Errorf("after DeleteKey(k1), Keys = %v, want [k2 k3]", keyIDs(left))
	}
	if other, _ := s.Keys(ctx, "token"); len(other) != 1 {
		t.Errorf("DeleteKey(cookie, k1) changed the token keys: %v", keyIDs(other))
	}
	if err := s.AddKey(ctx, "cookie", store.Key{ID: "k1", Secret: []byte("again"), Created: base.Add(4 * time.Hour)}); err != nil {
		t.Fatalf("AddKey with a deleted ID: %v", err)
	}
	left, err = s.Keys(ctx, "cookie")
	if err != nil {
		t.Fatal(err)
	}
	if ids := keyIDs(left); len(ids) != 3 || ids[2] != "k1" {
		t.Errorf("a key added after a delete must come last: Keys = %v", ids)
	}
}

func keyIDs(keys []store.Key) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}
