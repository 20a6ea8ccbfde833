package cookie

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"sessionkit/store"
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

// memDenyList is a store.DenyList in memory, for tests.
type memDenyList struct {
	mu     sync.Mutex
	now    func() time.Time
	denied map[string]time.Time
}

func newMemDenyList(now func() time.Time) *memDenyList {
	return &memDenyList{now: now, denied: make(map[string]time.Time)}
}

func (d *memDenyList) Deny(ctx context.Context, id string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if until.After(d.denied[id]) {
		d.denied[id] = until
	}
	return nil
}

func (d *memDenyList) Denied(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.denied[id]
	return ok && d.now().Before(until), nil
}

// until returns when id stops being denied, or the zero time.
func (d *memDenyList) until(id string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.denied[id]
}

// errStoreDown is what brokenDenyList answers.
var errStoreDown = errors.New("store down")

// brokenDenyList is a store.DenyList that cannot answer.
type brokenDenyList struct{}

func (brokenDenyList) Deny(context.Context, string, time.Time) error { return errStoreDown }
func (brokenDenyList) Denied(context.Context, string) (bool, error)  { return false, errStoreDown }
