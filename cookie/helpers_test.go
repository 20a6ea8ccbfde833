package cookie

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// testNow returns the fixed time tests start from.
func testNow() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// testKey returns a key whose secret is derived from seed, so that tests are
// repeatable.
func testKey(id string, seed byte) store.Key {
	return store.Key{ID: id, Secret: bytes.Repeat([]byte{seed}, KeySize), Created: testNow()}
}

// mustRing returns a ring of keys or fails the test.
func mustRing(t testing.TB, keys ...store.Key) *KeyRing {
	t.Helper()
	r, err := NewKeyRing(keys...)
	if err != nil {
		t.Fatalf("NewKeyRing: %v", err)
	}
	return r
}

// mustSeal seals value under name, expiring an hour after testNow.
func mustSeal(t testing.TB, r *KeyRing, name string, value []byte) string {
	t.Helper()
	s, err := r.Seal(name, value, testNow().Add(time.Hour))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return s
}

// collidingSecrets returns two different secrets whose key tags are equal,
// found by a deterministic birthday search.
func collidingSecrets(t testing.TB) (a, b []byte) {
	t.Helper()
	seen := make(map[[tagSize]byte][]byte)
	for i := 0; i < 1<<20; i++ {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		secret := sum[:]
		tag := keyTag(secret)
		if other, ok := seen[tag]; ok {
			return other, secret
		}
		seen[tag] = secret
	}
	t.Fatal("no colliding key tags found")
	return nil, nil
}

// newDenyList returns a memstore deny list whose clock is now, closed when
// the test ends.
//
// The tests move their clock without locking, so the store's background
// cleanup, which reads the clock from its own goroutine, is set to run far
// later than any test lasts: cleanup is not what these tests are about, and
// Denied answers by the clock whether or not expired entries are forgotten.
func newDenyList(t testing.TB, now func() time.Time) *memstore.Store {
	t.Helper()
	s := memstore.New(memstore.Options{Now: now, CleanupInterval: 24 * time.Hour})
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the deny list: %v", err)
		}
	})
	return s
}

// errStoreDown is what brokenDenyList answers.
var errStoreDown = errors.New("store down")

// brokenDenyList is a store.DenyList that cannot answer.
type brokenDenyList struct{}

func (brokenDenyList) Deny(context.Context, string, time.Time) error { return errStoreDown }
func (brokenDenyList) Denied(context.Context, string) (bool, error)  { return false, errStoreDown }
