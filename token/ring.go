package token

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// DefaultKeyPurpose is the store purpose signing keys are kept under.
const DefaultKeyPurpose = "jwt"

// Defaults of RingOptions, IssuerOptions and VerifierOptions.
// DefaultLeeway is a good value between machines; a zero Leeway means none.
const (
	DefaultReloadInterval = time.Minute
	DefaultLeeway         = 30 * time.Second
	DefaultAccessLifetime = 15 * time.Minute
)

// minReloadGap bounds how often a token naming an unknown kid makes a Ring
// read the store: a stream of forged kids costs one read per gap.
const minReloadGap = time.Second

// RingOptions configures OpenRing. The zero value gives the defaults.
type RingOptions struct {
	// Purpose is the store purpose of the keys; DefaultKeyPurpose if empty.
	Purpose string

	// Algorithm is the algorithm of the first key, generated when the store
	// has none; DefaultAlgorithm if empty.
	Algorithm Algorithm

	// TokenLifetime is the longest lifetime of a token the keys sign
	// (DefaultAccessLifetime if zero), and Leeway the clock skew verifiers
	// allow (zero means none). They decide how long a key keeps verifying
	// after a newer one took over, so they must be at least the Issuer's
	// Lifetime and the Verifier's Leeway: otherwise a key retires while
	// tokens it signed are still valid.
	TokenLifetime time.Duration
	Leeway        time.Duration

	// ReloadInterval is how often the ring reads the store for keys that
	// other instances added; DefaultReloadInterval if zero.
	ReloadInterval time.Duration

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// A Ring is a key set kept in a store, shared by every instance that uses
// the store. A key added by Rotate verifies at once everywhere (a verifier
// reloads for a kid it does not know), is published by every instance
// within a reload interval, and only then becomes the primary, the key that
// signs: no client is handed a token whose key an instance's JWKS lacks. An older key keeps verifying until every
// token it may have signed has expired (its successor's first signing,
// plus the token lifetime and the leeway), then stops.
//
// A Ring reads the store again every ReloadInterval when asked for a
// signing key, and at once (rate-limited) when asked to verify a kid it
// does not know, so a key rotated by another instance or by the command
// line is picked up without a restart. It is safe for concurrent use.
type Ring struct {
	store  store.Keys
	opts   RingOptions
	set    atomic.Pointer[KeySet]
	loaded atomic.Int64          // Unix nanoseconds of the last load (or failed try)
	failed atomic.Pointer[error] // why the last try failed; nil after a success
	mu     sync.Mutex            // serialises loads
}

// OpenRing loads the keys of opts.Purpose from keys, generating and storing
// a first key when there is none. Two instances starting at once on an
// empty store may each add one; both then read the same list and sign with
// the newer. It fails when the store cannot be read or written within ctx,
// or holds a key it cannot parse.
func OpenRing(ctx context.Context, keys store.Keys, opts RingOptions) (*Ring, error) {
	if opts.Purpose == "" {
		opts.Purpose = DefaultKeyPurpose
	}
	if opts.Algorithm == "" {
		opts.Algorithm = DefaultAlgorithm
	}
	if _, err := ParseAlgorithm(string(opts.Algorithm)); err != nil {
		return nil, err
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultAccessLifetime
	}
	if opts.Leeway < 0 {
		opts.Leeway = 0
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = DefaultReloadInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Ring{store: keys, opts: opts}
	have, err := keys.Keys(ctx, opts.Purpose)
	if err != nil {
		return nil, fmt.Errorf("token: reading keys: %w", err)
	}
	if len(have) == 0 {
		if _, err := r.Rotate(ctx, opts.Algorithm); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err := r.install(have); err != nil {
		return nil, err
	}
	return r, nil
}

// KeySet returns the keys as last loaded.
func (r *Ring) KeySet() *KeySet { return r.set.Load() }

// Reload reads the keys from the store now.
func (r *Ring) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reload(ctx)
}

func (r *Ring) reload(ctx context.Context) error {
	have, err := r.store.Keys(ctx, r.opts.Purpose)
	if err != nil {
		return fmt.Errorf("token: reading keys: %w", err)
	}
	return r.install(have)
}

// install parses stored keys and makes them the current set.
func (r *Ring) install(stored []store.Key) error {
	keys := make([]*Key, 0, len(stored))
	for _, sk := range stored {
		k, err := ParseKey(sk)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	// A rotated key is published (JWKS, verification) at once but signs
	// only a reload interval after it was made, when every instance has
	// loaded it: no one is handed a token signed by a key another instance
	// does not know. A key stops verifying once its successor has signed
	// long enough for every token the key signed to have expired.
	retire := r.opts.TokenLifetime + r.opts.Leeway
	for i := 1; i < len(keys); i++ {
		keys[i].SignsFrom = keys[i].Created.Add(r.opts.ReloadInterval)
		keys[i-1].Expires = keys[i].SignsFrom.Add(retire)
	}
	set, err := NewKeySet(keys...)
	if err != nil {
		return err
	}
	r.set.Store(set)
	r.loaded.Store(r.opts.Now().UnixNano())
	return nil
}

// Rotate generates a key for alg and stores it. It verifies at once,
// everywhere (a verifier reloads for a kid it does not know); this ring
// publishes it at once and every other within ReloadInterval; it becomes
// the primary ReloadInterval after its creation, and from then on every
// instance signs with it. Older keys keep verifying until their tokens
// have expired.
func (r *Ring) Rotate(ctx context.Context, alg Algorithm) (*Key, error) {
	if alg == "" {
		alg = r.opts.Algorithm
	}
	sk, err := GenerateKey(alg, r.opts.Now())
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.store.AddKey(ctx, r.opts.Purpose, sk); err != nil {
		return nil, fmt.Errorf("token: storing a new key: %w", err)
	}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	k := r.KeySet().byID[sk.ID]
	if k == nil {
		return nil, fmt.Errorf("token: the new key %q was not read back from the store", sk.ID)
	}
	return k, nil
}

// keySet returns the current set. For signing (kid empty) it reloads when
// the set is older than the reload interval; for a kid the set does not
// know, it reloads unless it did so less than a second ago. When a reload
// fails it returns the set it had with the error: a signer may go on with
// the keys it knows (and is not slowed by retries until the next interval),
// while a verifier cannot tell an unknown kid from one it failed to load.
func (r *Ring) keySet(ctx context.Context, kid string) (*KeySet, error) {
	set := r.set.Load()
	loaded := r.loaded.Load()
	now := r.opts.Now().UnixNano()
	age := time.Duration(now - loaded)
	switch {
	case kid == "" && age < r.opts.ReloadInterval:
		return set, nil
	case kid != "" && set.byID[kid] != nil:
		return set, nil
	case kid != "" && age < minReloadGap:
		// Too soon to try again; if the last try failed, the kid may be
		// one we could not load rather than an unknown one.
		if err := r.failed.Load(); err != nil {
			return set, *err
		}
		return set, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded.Load() != loaded {
		return r.set.Load(), nil // another caller reloaded meanwhile
	}
	if err := r.reload(ctx); err != nil {
		r.loaded.Store(now) // back off until the next interval or gap
		r.failed.Store(&err)
		return set, err
	}
	r.failed.Store(nil)
	return r.set.Load(), nil
}
