package token

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// DefaultKeyPurpose is the store purpose signing keys are kept under.
const DefaultKeyPurpose = "jwt"

// Defaults of RingOptions, IssuerOptions and VerifierOptions, for their
// zero values. DefaultLeeway is a good value between machines.
const (
	DefaultReloadInterval = time.Minute
	DefaultLeeway         = 30 * time.Second
	DefaultAccessLifetime = 15 * time.Minute
	DefaultJWKSMaxAge     = 5 * time.Minute
	DefaultKeepRetired    = 24 * time.Hour
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

	// TokenLifetime is the longest lifetime of a token the keys sign, and
	// Leeway the clock skew verifiers allow. A rotation stores, for the key
	// it replaces, a retirement time that far after the new key starts
	// signing, so they must be at least the Issuer's Lifetime and the
	// Verifier's Leeway: otherwise a key retires while tokens it signed
	// are still valid. A zero or negative TokenLifetime means
	// DefaultAccessLifetime (15 minutes). A zero Leeway means
	// DefaultLeeway (30 seconds), as for a Verifier; negative means none.
	TokenLifetime time.Duration
	Leeway        time.Duration

	// ReloadInterval is how often the ring reads the store again, for keys
	// that other instances added or deleted. Zero or negative means
	// DefaultReloadInterval (1 minute).
	ReloadInterval time.Duration

	// JWKSMaxAge is how long a consumer may cache the published JWKS (the
	// Cache-Control max-age it is served with). Zero or negative means
	// DefaultJWKSMaxAge (5 minutes). A rotated key is published for
	// ReloadInterval + JWKSMaxAge + Leeway before it signs: by then every
	// instance has loaded it and every cache that honours max-age has
	// fetched it.
	JWKSMaxAge time.Duration

	// KeepRetired is how long a retired key stays in the store after its
	// retirement, no longer verifying or published, so that a token it
	// signed is still known for authentic and expired (its holder is sent
	// to refresh, not to log in). Then the first ring to reload deletes
	// it. Zero or negative means DefaultKeepRetired (24 hours).
	KeepRetired time.Duration

	// Clock gives the times a rotation stores (creation, first signing,
	// retirement of the keys replaced): the store's, so that every
	// instance and the command line agree whatever their own clocks say.
	// Nil means the key store's own, if it implements store.Clock, and
	// Now otherwise.
	Clock store.Clock

	// Now returns the current time, to which the stored times are
	// compared; nil means time.Now. Instances sharing a store should follow
	// the store's clock.
	Now func() time.Time
}

// A Ring is a key set kept in a store, shared by every instance that uses
// the store. A key added by Rotate verifies at once everywhere (a verifier
// reloads for a kid it does not know) and is published at once; it becomes
// the primary, the key that signs, only after PublishDelay, when every
// instance and every JWKS cache knows it. The key it replaced keeps
// verifying until every token it may have signed has expired: Rotate
// stores that retirement time with the key, from the store's clock. A
// retired key no longer verifies (a token it signed is expired); KeepRetired
// after its retirement, the first ring to reload deletes it from the store.
//
// A Ring reads the store again when its keys are older than ReloadInterval
// and it is used (to sign, verify or publish), and at once (rate-limited)
// when asked to verify a kid it does not know, so a key rotated or deleted
// by another instance or by the command line is picked up without a
// restart. When the store has no key at all (it was emptied), the next
// reload adds one. It is safe for concurrent use.
type Ring struct {
	store  store.Keys
	opts   RingOptions
	set    atomic.Pointer[KeySet]
	loaded atomic.Int64          // Unix nanoseconds of the last load (or failed try)
	failed atomic.Pointer[error] // why the last try failed; nil after a success
	mu     sync.Mutex            // serialises loads

	// secrets are the stored secrets of the keys installed last, by ID,
	// to tell an unchanged key (written under mu).
	secrets map[string][]byte
}

// OpenRing loads the keys of opts.Purpose from keys, generating and storing
// a first key when there is none. Of instances that start at once on an
// empty store, exactly one adds the first key and every one signs with it.
// It fails when the store cannot be read or written within ctx, or holds a
// key it cannot parse.
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
	switch {
	case opts.Leeway == 0:
		opts.Leeway = DefaultLeeway
	case opts.Leeway < 0:
		opts.Leeway = 0
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = DefaultReloadInterval
	}
	if opts.JWKSMaxAge <= 0 {
		opts.JWKSMaxAge = DefaultJWKSMaxAge
	}
	if opts.KeepRetired <= 0 {
		opts.KeepRetired = DefaultKeepRetired
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Clock == nil {
		if c, ok := keys.(store.Clock); ok {
			opts.Clock = c
		}
	}
	r := &Ring{store: keys, opts: opts}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// PublishDelay is how long a rotated key is published before it signs:
// ReloadInterval + JWKSMaxAge + Leeway.
func (r *Ring) PublishDelay() time.Duration {
	return r.opts.ReloadInterval + r.opts.JWKSMaxAge + r.opts.Leeway
}

// JWKSMaxAge is how long a consumer may cache the JWKS: serve it with this
// Cache-Control max-age.
func (r *Ring) JWKSMaxAge() time.Duration { return r.opts.JWKSMaxAge }

// storeTime returns the time by the store's clock, or by Now when there is
// none.
func (r *Ring) storeTime(ctx context.Context) (time.Time, error) {
	if r.opts.Clock == nil {
		return r.opts.Now(), nil
	}
	t, err := r.opts.Clock.StoreTime(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("token: reading the store's clock: %w", err)
	}
	return t, nil
}

// Check reloads the keys (unless that was done less than a second ago)
// and reports whether the ring can sign now: an error when the store
// cannot be read or holds no key that signs. A readiness check calls it;
// when the store has lost its keys, the reload adds a first one.
func (r *Ring) Check(ctx context.Context) error {
	now := r.opts.Now()
	var err error
	if time.Duration(now.UnixNano()-r.loaded.Load()) >= minReloadGap {
		err = r.Reload(ctx)
	} else if failed := r.failed.Load(); failed != nil {
		err = *failed
	}
	if err != nil {
		return err
	}
	if r.KeySet().Primary(now) == nil {
		return ErrNoKey
	}
	return nil
}

// KeySet returns the keys as last loaded.
func (r *Ring) KeySet() *KeySet { return r.set.Load() }

// Reload reads the keys from the store now.
func (r *Ring) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reload(ctx)
}

// reload reads the keys and installs them, and notes when it tried and,
// when it failed, why: until the next try, a kid the set lacks may be one
// that could not be loaded. The caller holds r.mu.
func (r *Ring) reload(ctx context.Context) error {
	err := r.load(ctx)
	r.loaded.Store(r.opts.Now().UnixNano())
	if err != nil {
		r.failed.Store(&err)
	} else {
		r.failed.Store(nil)
	}
	return err
}

// load is reload's work: read the keys (adding a first key to a store that
// has none), delete those retired long ago, and install the others.
func (r *Ring) load(ctx context.Context) error {
	have, err := r.store.Keys(ctx, r.opts.Purpose)
	if err != nil {
		return fmt.Errorf("token: reading keys: %w", err)
	}
	if len(have) == 0 {
		// A new store, or one that lost its keys: add a first key. Of rings
		// doing this at once, one adds it and all read it back.
		if err := r.addFirst(ctx); err != nil {
			return err
		}
		if have, err = r.store.Keys(ctx, r.opts.Purpose); err != nil {
			return fmt.Errorf("token: reading keys: %w", err)
		}
	}
	have = r.deleteRetired(ctx, have)
	return r.install(have)
}

// addFirst stores a first key, unless another ring stored one meanwhile.
func (r *Ring) addFirst(ctx context.Context) error {
	now, err := r.storeTime(ctx)
	if err != nil {
		return err
	}
	sk, err := GenerateKey(r.opts.Algorithm, now)
	if err != nil {
		return err
	}
	err = r.store.AddFirstKey(ctx, r.opts.Purpose, sk)
	if err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("token: storing a first key: %w", err)
	}
	return nil
}

// deleteRetired deletes from the store the keys retired more than
// KeepRetired ago (every token they signed expired long since), and
// returns the others. A key that cannot be deleted now (a store that
// fails, or that this process may only read) is left out all the same,
// and the next reload tries again. The newest key is never deleted.
func (r *Ring) deleteRetired(ctx context.Context, have []store.Key) []store.Key {
	now := r.opts.Now()
	kept := have[:0:0]
	for i, sk := range have {
		if i < len(have)-1 && !sk.Retires.IsZero() && !now.Before(sk.Retires.Add(r.opts.KeepRetired)) {
			_ = r.store.DeleteKey(ctx, r.opts.Purpose, sk.ID)
			continue
		}
		kept = append(kept, sk)
	}
	return kept
}

// install makes stored the current set. A key that is as it was at the
// last install (secret and times) keeps its *Key, so that it is not
// parsed again and the tokens a Verifier remembers for it stay
// remembered: a reload every minute throws nothing away.
func (r *Ring) install(stored []store.Key) error {
	signsFrom, expires := r.times(stored)
	prev := r.set.Load()
	keys := make([]*Key, 0, len(stored))
	for i, sk := range stored {
		if prev != nil {
			if k := prev.byID[sk.ID]; k != nil && string(r.secrets[sk.ID]) == string(sk.Secret) &&
				k.Created.Equal(sk.Created) && k.SignsFrom.Equal(signsFrom[i]) && k.Expires.Equal(expires[i]) {
				keys = append(keys, k)
				continue
			}
		}
		k, err := ParseKey(sk)
		if err != nil {
			return err
		}
		k.SignsFrom, k.Expires = signsFrom[i], expires[i]
		keys = append(keys, k)
	}
	set, err := NewKeySet(keys...)
	if err != nil {
		return err
	}
	secrets := make(map[string][]byte, len(stored))
	for _, sk := range stored {
		secrets[sk.ID] = sk.Secret
	}
	r.secrets = secrets
	r.set.Store(set)
	return nil
}

// times returns when each stored key starts signing and stops verifying.
// Keys stored before retirement times were stored have neither time: such
// a key, unless it is the first, signed a reload interval after its
// creation, and its predecessor retired the token lifetime and leeway
// after that.
func (r *Ring) times(stored []store.Key) (signsFrom, expires []time.Time) {
	signsFrom = make([]time.Time, len(stored))
	expires = make([]time.Time, len(stored))
	for i, sk := range stored {
		signsFrom[i], expires[i] = sk.SignsFrom, sk.Retires
	}
	retire := r.opts.TokenLifetime + r.opts.Leeway
	for i := 1; i < len(stored); i++ {
		if signsFrom[i].IsZero() {
			signsFrom[i] = stored[i].Created.Add(r.opts.ReloadInterval)
		}
		if expires[i-1].IsZero() {
			expires[i-1] = signsFrom[i].Add(retire)
		}
	}
	return signsFrom, expires
}

// Rotate generates a key for alg and stores it, with times read from the
// store's clock: it verifies at once everywhere (a verifier reloads for a
// kid it does not know), is published by every instance within
// ReloadInterval, and becomes the primary PublishDelay after its creation.
// In the same step the store records when the keys it replaces retire:
// TokenLifetime plus Leeway after the new key starts signing.
func (r *Ring) Rotate(ctx context.Context, alg Algorithm) (*Key, error) {
	if alg == "" {
		alg = r.opts.Algorithm
	}
	now, err := r.storeTime(ctx)
	if err != nil {
		return nil, err
	}
	sk, err := GenerateKey(alg, now)
	if err != nil {
		return nil, err
	}
	sk.SignsFrom = now.Add(r.PublishDelay())
	retire := sk.SignsFrom.Add(r.opts.TokenLifetime + r.opts.Leeway)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.store.RotateKey(ctx, r.opts.Purpose, sk, retire); err != nil {
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

// keySet returns the current set. It reloads when the set is older than
// the reload interval, whatever it is asked for (a ring that only verifies
// learns of deleted keys too), and for a kid the set does not know unless
// it did so less than a second ago. Only a caller that needs the answer (a
// kid the set lacks) waits for a reload another caller has begun; the
// others go on with the set they have. When a reload fails it returns the
// set it had with the error: a signer may go on with the keys it knows
// (and is not slowed by retries until the next interval), while a verifier
// cannot tell an unknown kid from one it failed to load.
func (r *Ring) keySet(ctx context.Context, kid string) (*KeySet, error) {
	set := r.set.Load()
	loaded := r.loaded.Load()
	age := time.Duration(r.opts.Now().UnixNano() - loaded)
	known := kid == "" || set.byID[kid] != nil
	switch {
	case known && age < r.opts.ReloadInterval:
		return set, nil
	case !known && age < minReloadGap:
		// Too soon to try again; if the last try failed, the kid may be
		// one we could not load rather than an unknown one.
		if err := r.failed.Load(); err != nil {
			return set, *err
		}
		return set, nil
	}
	if known {
		if !r.mu.TryLock() {
			return set, nil // another caller is reloading
		}
	} else {
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	if r.loaded.Load() != loaded {
		// Another caller reloaded meanwhile.
		if err := r.failed.Load(); err != nil {
			return r.set.Load(), *err
		}
		return r.set.Load(), nil
	}
	if err := r.reload(ctx); err != nil {
		return set, err
	}
	return r.set.Load(), nil
}
