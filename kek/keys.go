package kek

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// maxConflicts bounds how often Migrate and Rewrap re-read a key whose
// secret changed under them before they give up.
const maxConflicts = 5

// Keys is a [store.Keys] that keeps every secret encrypted under a KEK in
// the store it wraps, and hands out plaintext secrets. Make one with
// [Wrap]. It is safe for concurrent use.
//
// It remembers the secrets it decrypted, keyed by a hash of their purpose,
// ID and stored form, so that reading unchanged keys again (servers reload
// them every minute) costs no call to a key service. It remembers a
// purpose's keys until the next Keys call for that purpose.
//
// Keys implements store.Keys and nothing else: ask the wrapped store for
// store.Clock or store.Pinger.
type Keys struct {
	store store.Keys
	keks  []*KEK // the current KEK, then the previous ones

	mu    sync.Mutex
	cache map[string]map[cacheKey][]byte // purpose → stored form → plaintext
}

// cacheKey names a stored secret of one key of one purpose.
type cacheKey [sha256.Size]byte

var _ store.Keys = (*Keys)(nil)

// Wrap returns a [Keys] that keeps its secrets in keys, encrypted under
// current. It opens secrets encrypted under current or any of previous
// (tried in that order), which is how servers keep running while the KEK
// changes (see the package documentation). It panics if current or one
// of previous is nil. Wrap neither reads the store nor calls a key
// service: call [Keys.Check] to learn at start-up whether the KEK is right.
func Wrap(keys store.Keys, current *KEK, previous ...*KEK) *Keys {
	keks := append([]*KEK{current}, previous...)
	if slices.Contains(keks, nil) {
		panic("kek: Wrap with a nil KEK")
	}
	return &Keys{store: keys, keks: keks, cache: make(map[string]map[cacheKey][]byte)}
}

// Keys returns the keys of purpose, oldest first, with their secrets
// decrypted. It fails, returning no key, when one secret does not open:
// with an error wrapping [ErrPlaintext] for a secret stored unencrypted
// (call [Keys.Migrate]), [ErrWrongKEK] when no KEK opens it, [ErrCorrupt]
// when it was damaged or moved from another key, or the store's or key
// service's error.
func (w *Keys) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	have, err := w.store.Keys(ctx, purpose)
	if err != nil {
		return nil, err
	}
	seen := make(map[cacheKey][]byte, len(have))
	for i, k := range have {
		secret, ck, err := w.open(ctx, purpose, k.ID, k.Secret)
		if err != nil {
			return nil, err
		}
		seen[ck] = secret
		have[i].Secret = slices.Clone(secret)
	}
	w.mu.Lock()
	w.cache[purpose] = seen
	w.mu.Unlock()
	return have, nil
}

// AddKey encrypts k's secret and adds k to the keys of purpose, as the
// newest. It returns store.ErrExists when the purpose already has a key
// with k's ID, and the key service's error when it cannot encrypt.
func (w *Keys) AddKey(ctx context.Context, purpose string, k store.Key) error {
	return w.add(ctx, purpose, k, func(sealed store.Key) error {
		return w.store.AddKey(ctx, purpose, sealed)
	})
}

// AddFirstKey encrypts k's secret and adds k only when purpose has no key
// at all, in one atomic step, and returns store.ErrExists otherwise. It
// returns the key service's error when it cannot encrypt.
func (w *Keys) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	return w.add(ctx, purpose, k, func(sealed store.Key) error {
		return w.store.AddFirstKey(ctx, purpose, sealed)
	})
}

// RotateKey encrypts k's secret and adds k to the keys of purpose, as the
// newest, setting Retires to retire on every other key of purpose whose
// Retires is zero, in one atomic step (see [store.Keys]). It returns
// store.ErrExists when the purpose already has a key with k's ID, and the
// key service's error when it cannot encrypt.
func (w *Keys) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	return w.add(ctx, purpose, k, func(sealed store.Key) error {
		return w.store.RotateKey(ctx, purpose, sealed, retire)
	})
}

// add seals k's secret under the current KEK, stores the sealed key with
// put, and remembers the plaintext.
func (w *Keys) add(ctx context.Context, purpose string, k store.Key, put func(store.Key) error) error {
	stored, err := seal(ctx, w.keks[0], purpose, k.ID, k.Secret)
	if err != nil {
		return err
	}
	secret := slices.Clone(k.Secret)
	k.Secret = stored
	if err := put(k); err != nil {
		return err
	}
	w.remember(purpose, k.ID, stored, secret)
	return nil
}

// ReplaceKeySecret replaces the plaintext secret of the key of purpose
// named id with secret, encrypted under the current KEK, if its plaintext
// secret is still old (compare-and-swap, as Keys returns secrets). A key
// stored unencrypted may be replaced too: its new secret is encrypted.
// It returns store.ErrNotFound when there is no such key, store.ErrConflict
// when its secret is no longer old (also when it changes between the read
// and the write), and the errors of Keys when the current secret does not
// open.
func (w *Keys) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	have, err := w.store.Keys(ctx, purpose)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(have, func(k store.Key) bool { return k.ID == id })
	if i < 0 {
		return store.ErrNotFound
	}
	stored := have[i].Secret
	current := stored
	if isEnvelope(stored) {
		if current, _, err = w.open(ctx, purpose, id, stored); err != nil {
			return err
		}
	}
	if subtle.ConstantTimeCompare(current, old) != 1 {
		return store.ErrConflict
	}
	sealed, err := seal(ctx, w.keks[0], purpose, id, secret)
	if err != nil {
		return err
	}
	if err := w.store.ReplaceKeySecret(ctx, purpose, id, stored, sealed); err != nil {
		return err
	}
	w.remember(purpose, id, sealed, slices.Clone(secret))
	return nil
}

// DeleteKey removes the key of purpose named id from the wrapped store,
// whatever its secret, so that nothing it sealed or signed is accepted any
// more. It returns store.ErrNotFound when the purpose has no such key.
func (w *Keys) DeleteKey(ctx context.Context, purpose, id string) error {
	return w.store.DeleteKey(ctx, purpose, id)
}

// Check opens every key of each of purposes, as a start-up check that the
// KEK is right and the store holds no plaintext secret. It returns nil when
// all open, and otherwise the errors of every key that does not (joined:
// test them with errors.Is for [ErrWrongKEK], [ErrPlaintext] and
// [ErrCorrupt]). The secrets it opens are remembered, so that the first
// Keys call that follows makes no call to a key service.
func (w *Keys) Check(ctx context.Context, purposes ...string) error {
	var errs []error
	for _, purpose := range purposes {
		have, err := w.store.Keys(ctx, purpose)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, k := range have {
			if _, _, err := w.open(ctx, purpose, k.ID, k.Secret); err != nil {
				if ctx.Err() != nil {
					return errors.Join(append(errs, err)...)
				}
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Migrate encrypts, under the current KEK, every secret of the keys of
// each of purposes that is stored unencrypted, and returns how many it
// encrypted. It replaces each with a compare-and-swap, so it may run while
// servers run: a key that changes meanwhile is read again, and one deleted
// meanwhile is skipped. Secrets already encrypted are left as they are
// (Migrate does not check that they open: see [Keys.Check]), so running it
// again encrypts nothing. On error, the count is of the secrets encrypted
// before it.
func (w *Keys) Migrate(ctx context.Context, purposes ...string) (int, error) {
	return replaceAll(ctx, w.store, purposes, func(purpose string, k store.Key) ([]byte, error) {
		if isEnvelope(k.Secret) {
			return nil, nil
		}
		return seal(ctx, w.keks[0], purpose, k.ID, k.Secret)
	}, w.remember)
}

// Rewrap re-encrypts the data key of every secret of the keys of each of
// purposes in keys from the KEK from to the KEK to, and returns how many
// secrets it changed. The sealed secrets themselves stay as they are, so
// it costs one decryption and one encryption by the key services per key.
// A secret already under to is skipped (running Rewrap again changes
// nothing); a secret stored unencrypted is encrypted under to. keys is the
// store itself: given a [Keys], Rewrap works on the store it wraps.
//
// It replaces each secret with a compare-and-swap, so it may run while
// servers run: a key that changes meanwhile is read again, one deleted
// meanwhile is skipped. Servers keep the keys they loaded; to open keys
// they load afterwards they need to know to (see the package
// documentation).
//
// It stops at the first secret that neither KEK opens, with an error
// wrapping [ErrWrongKEK], or that is damaged ([ErrCorrupt]). On error, the
// count is of the secrets changed before it.
func Rewrap(ctx context.Context, keys store.Keys, from, to *KEK, purposes ...string) (int, error) {
	if from == nil || to == nil {
		return 0, errors.New("kek: Rewrap needs both KEKs")
	}
	if w, ok := keys.(*Keys); ok {
		keys = w.store
	}
	return replaceAll(ctx, keys, purposes, func(purpose string, k store.Key) ([]byte, error) {
		e, err := parseEnvelope(k.Secret)
		if errors.Is(err, ErrPlaintext) {
			return seal(ctx, to, purpose, k.ID, k.Secret)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: key %q of purpose %q", err, k.ID, purpose)
		}
		dek, by, err := unwrap(ctx, []*KEK{from, to}, e, purpose, k.ID)
		if err != nil {
			return nil, err
		}
		if _, err := openSealed(dek, e, purpose, k.ID); err != nil {
			return nil, err
		}
		if by == to && e.kekID == to.id {
			return nil, nil
		}
		wrapped, err := wrapDEK(ctx, to, dek, purpose, k.ID)
		if err != nil {
			return nil, err
		}
		return envelope{kekID: to.id, wrapped: wrapped, sealed: e.sealed}.encode(), nil
	}, nil)
}

// replaceAll replaces, with a compare-and-swap, the secret of every key
// of purposes in keys for which next returns a new stored secret (nil
// means leave it), reading a key again when it changed meanwhile, and
// returns how many it replaced. done, if not nil, is told each replacement.
func replaceAll(ctx context.Context, keys store.Keys, purposes []string,
	next func(purpose string, k store.Key) ([]byte, error),
	done func(purpose, id string, stored, secret []byte)) (int, error) {
	n := 0
	for _, purpose := range purposes {
		have, err := keys.Keys(ctx, purpose)
		if err != nil {
			return n, err
		}
		for _, k := range have {
			replaced, err := replaceOne(ctx, keys, purpose, k, next, done)
			if replaced {
				n++
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// replaceOne is replaceAll for the key k of purpose.
func replaceOne(ctx context.Context, keys store.Keys, purpose string, k store.Key,
	next func(purpose string, k store.Key) ([]byte, error),
	done func(purpose, id string, stored, secret []byte)) (bool, error) {
	for attempt := 0; ; attempt++ {
		stored, err := next(purpose, k)
		if err != nil || stored == nil {
			return false, err
		}
		err = keys.ReplaceKeySecret(ctx, purpose, k.ID, k.Secret, stored)
		switch {
		case err == nil:
			if done != nil {
				done(purpose, k.ID, stored, k.Secret)
			}
			return true, nil
		case errors.Is(err, store.ErrNotFound):
			return false, nil // deleted meanwhile: nothing left to protect
		case !errors.Is(err, store.ErrConflict):
			return false, fmt.Errorf("kek: replacing the secret of key %q of purpose %q: %w", k.ID, purpose, err)
		case attempt+1 >= maxConflicts:
			return false, fmt.Errorf("kek: the secret of key %q of purpose %q kept changing: %w", k.ID, purpose, err)
		}
		if err := store.WaitAfterConflict(ctx, attempt); err != nil {
			return false, err
		}
		have, err := keys.Keys(ctx, purpose)
		if err != nil {
			return false, err
		}
		i := slices.IndexFunc(have, func(h store.Key) bool { return h.ID == k.ID })
		if i < 0 {
			return false, nil
		}
		k = have[i]
	}
}

// open returns the plaintext of the stored secret of the key of purpose
// named id, from memory when it was opened before, and the name it is
// remembered under. The plaintext is shared: callers must not change it.
func (w *Keys) open(ctx context.Context, purpose, id string, stored []byte) ([]byte, cacheKey, error) {
	ck := newCacheKey(purpose, id, stored)
	w.mu.Lock()
	secret, ok := w.cache[purpose][ck]
	w.mu.Unlock()
	if ok {
		return secret, ck, nil
	}
	secret, err := open(ctx, w.keks, purpose, id, stored)
	if err != nil {
		return nil, ck, err
	}
	w.remember(purpose, id, stored, secret)
	return secret, ck, nil
}

// remember records that stored, the secret of the key of purpose named
// id, opens to secret, which the cache keeps (callers give up secret).
func (w *Keys) remember(purpose, id string, stored, secret []byte) {
	ck := newCacheKey(purpose, id, stored)
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.cache[purpose]
	if m == nil {
		m = make(map[cacheKey][]byte)
		w.cache[purpose] = m
	}
	m[ck] = secret
}

// newCacheKey hashes a stored secret together with the purpose and ID it
// is stored under: the same bytes under another key must be opened (and
// fail) rather than found in memory.
func newCacheKey(purpose, id string, stored []byte) cacheKey {
	h := sha256.New()
	var n [4]byte
	for _, part := range [][]byte{[]byte(purpose), []byte(id), stored} {
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var ck cacheKey
	h.Sum(ck[:0])
	return ck
}
