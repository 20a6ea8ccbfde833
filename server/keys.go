package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// cookieKeyPurpose names the keys that seal cookies in the store.
const cookieKeyPurpose = "cookie"

// KeyPurposes returns the store purposes of every key the server keeps:
// what a tool that encrypts or lists them all goes through.
func KeyPurposes() []string { return []string{cookieKeyPurpose, token.DefaultKeyPurpose} }

// openKeys returns where the server keeps its keys: the backend's, under
// cfg.KEK. Keys the store holds in plaintext (kept by an earlier version)
// are encrypted first; then every key is opened once, so that a wrong KEK
// stops the start with kek.ErrWrongKEK rather than failing later.
func openKeys(ctx context.Context, backend store.Keys, cfg Config, log *slog.Logger) (store.Keys, error) {
	if cfg.KEK == nil {
		log.WarnContext(ctx, "keys are kept in the store unencrypted: Config.KEK is nil")
		return backend, nil
	}
	keys := kek.Wrap(backend, cfg.KEK, cfg.PreviousKEKs...)
	n, err := keys.Migrate(ctx, KeyPurposes()...)
	if err != nil {
		return nil, fmt.Errorf("server: encrypting the keys of the store: %w", err)
	}
	if n > 0 {
		log.InfoContext(ctx, "encrypted the store's plaintext keys under the key-encryption key", "keys", n)
	}
	if err := keys.Check(ctx, KeyPurposes()...); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return keys, nil
}

// keyReloadInterval is how often a running server reads its cookie keys
// and the store's clock again; the token ring reloads on the same interval
// (token.DefaultReloadInterval).
const keyReloadInterval = time.Minute

// cookieKeys keeps the cookie key ring in step with the keys of the store:
// every instance reads them again every keyReloadInterval, so a key added
// or deleted by another instance, or by an operator, reaches every one, and
// a store that lost its keys gets a first one again.
type cookieKeys struct {
	ring    *cookie.KeyRing
	keys    store.Keys
	clock   *storeClock  // the time of a new key, and now
	loaded  atomic.Int64 // Unix nanoseconds of the last successful load
	tried   atomic.Int64 // Unix nanoseconds of the last load for a cookie that did not open
	loading sync.Mutex   // serialises loads
}

// unknownKeyGap bounds how often cookies that do not open make the server
// read its cookie keys again: a stream of forged cookies costs one read of
// the store per gap.
const unknownKeyGap = time.Second

// openCookieKeys reads the cookie keys from keys, storing a first key when
// there is none: of instances that start at once on an empty store,
// exactly one adds it, and all seal with it.
func openCookieKeys(ctx context.Context, keys store.Keys, clock *storeClock) (*cookieKeys, error) {
	c := &cookieKeys{keys: keys, clock: clock}
	have, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	if c.ring, err = cookie.NewKeyRing(have...); err != nil {
		return nil, fmt.Errorf("server: %s keys: %w", cookieKeyPurpose, err)
	}
	c.loaded.Store(clock.Now().UnixNano())
	return c, nil
}

// read returns the keys that open and seal now, oldest first, adding a
// first key when the store has none. A key whose SignsFrom has not come
// is left out (nothing is sealed with it yet), and so is one past its
// Retires.
func (c *cookieKeys) read(ctx context.Context) ([]store.Key, error) {
	have, err := c.keys.Keys(ctx, cookieKeyPurpose)
	if err != nil {
		return nil, fmt.Errorf("server: reading %s keys: %w", cookieKeyPurpose, err)
	}
	if len(have) == 0 {
		created, err := c.clock.StoreTime(ctx)
		if err != nil {
			return nil, err
		}
		k, err := cookie.GenerateKey(created)
		if err != nil {
			return nil, fmt.Errorf("server: generating a %s key: %w", cookieKeyPurpose, err)
		}
		if err := c.keys.AddFirstKey(ctx, cookieKeyPurpose, k); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("server: storing a %s key: %w", cookieKeyPurpose, err)
		}
		if have, err = c.keys.Keys(ctx, cookieKeyPurpose); err != nil {
			return nil, fmt.Errorf("server: reading %s keys: %w", cookieKeyPurpose, err)
		}
	}
	now := c.clock.Now()
	live := make([]store.Key, 0, len(have))
	for _, k := range have {
		if now.Before(k.SignsFrom) || (!k.Retires.IsZero() && !now.Before(k.Retires)) {
			continue
		}
		live = append(live, k)
	}
	if len(live) == 0 {
		return nil, fmt.Errorf("server: no %s key is live: %w", cookieKeyPurpose, cookie.ErrNoKeys)
	}
	return live, nil
}

// stale reports whether the keys were last loaded keyReloadInterval ago or
// more.
func (c *cookieKeys) stale() bool {
	return time.Duration(c.clock.Now().UnixNano()-c.loaded.Load()) >= keyReloadInterval
}

// reloadForUnknown reads the keys again for a cookie that no key of the
// ring opens (it may be sealed with a key another instance added since the
// last reload), unless the keys were read less than unknownKeyGap ago. It
// reports whether it read them, so that the caller tries the cookie again.
func (c *cookieKeys) reloadForUnknown(ctx context.Context) bool {
	now := c.clock.Now().UnixNano()
	tried := c.tried.Load()
	if time.Duration(now-max(c.loaded.Load(), tried)) < unknownKeyGap {
		return false
	}
	if !c.tried.CompareAndSwap(tried, now) {
		return false // another request is trying now
	}
	return c.reload(ctx) == nil
}

// reload reads the keys again and gives them to the ring. On failure the
// ring keeps the keys it has.
func (c *cookieKeys) reload(ctx context.Context) error {
	c.loading.Lock()
	defer c.loading.Unlock()
	have, err := c.read(ctx)
	if err != nil {
		return err
	}
	if err := c.ring.SetKeys(have...); err != nil {
		return fmt.Errorf("server: %s keys: %w", cookieKeyPurpose, err)
	}
	c.loaded.Store(c.clock.Now().UnixNano())
	return nil
}
