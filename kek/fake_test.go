package kek_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// fakeKeys is a store.Keys in memory, with a hook that runs inside
// ReplaceKeySecret before it compares, to stage a concurrent writer.
type fakeKeys struct {
	mu   sync.Mutex
	keys map[string][]store.Key

	// beforeReplace, if not nil, runs (without the lock) at the start of
	// ReplaceKeySecret; it is cleared first, so it runs once.
	beforeReplace func()
	replaces      int // ReplaceKeySecret calls
}

var _ store.Keys = (*fakeKeys)(nil)

func newFakeKeys() *fakeKeys { return &fakeKeys{keys: make(map[string][]store.Key)} }

func cloneKey(k store.Key) store.Key {
	k.Secret = slices.Clone(k.Secret)
	return k
}

func (f *fakeKeys) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]store.Key, 0, len(f.keys[purpose]))
	for _, k := range f.keys[purpose] {
		out = append(out, cloneKey(k))
	}
	return out, nil
}

func (f *fakeKeys) has(purpose, id string) bool {
	return slices.ContainsFunc(f.keys[purpose], func(k store.Key) bool { return k.ID == id })
}

func (f *fakeKeys) AddKey(ctx context.Context, purpose string, k store.Key) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.has(purpose, k.ID) {
		return store.ErrExists
	}
	f.keys[purpose] = append(f.keys[purpose], cloneKey(k))
	return nil
}

func (f *fakeKeys) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.keys[purpose]) > 0 {
		return store.ErrExists
	}
	f.keys[purpose] = append(f.keys[purpose], cloneKey(k))
	return nil
}

func (f *fakeKeys) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.has(purpose, k.ID) {
		return store.ErrExists
	}
	for i := range f.keys[purpose] {
		if f.keys[purpose][i].Retires.IsZero() {
			f.keys[purpose][i].Retires = retire
		}
	}
	f.keys[purpose] = append(f.keys[purpose], cloneKey(k))
	return nil
}

func (f *fakeKeys) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	f.mu.Lock()
	hook := f.beforeReplace
	f.beforeReplace = nil
	f.replaces++
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.keys[purpose], func(k store.Key) bool { return k.ID == id })
	if i < 0 {
		return store.ErrNotFound
	}
	if !bytes.Equal(f.keys[purpose][i].Secret, old) {
		return store.ErrConflict
	}
	f.keys[purpose][i].Secret = slices.Clone(secret)
	return nil
}

func (f *fakeKeys) DeleteKey(ctx context.Context, purpose, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.keys[purpose], func(k store.Key) bool { return k.ID == id })
	if i < 0 {
		return store.ErrNotFound
	}
	f.keys[purpose] = slices.Delete(f.keys[purpose], i, i+1)
	return nil
}

// stored returns the secret the store keeps for the key of purpose named
// id, or nil.
func (f *fakeKeys) stored(purpose, id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys[purpose] {
		if k.ID == id {
			return slices.Clone(k.Secret)
		}
	}
	return nil
}

// put sets the stored secret of the key of purpose named id, adding the
// key when there is none: what someone who can write the store does.
func (f *fakeKeys) put(purpose, id string, secret []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, k := range f.keys[purpose] {
		if k.ID == id {
			f.keys[purpose][i].Secret = slices.Clone(secret)
			return
		}
	}
	f.keys[purpose] = append(f.keys[purpose], store.Key{ID: id, Secret: slices.Clone(secret), Created: time.Now()})
}
