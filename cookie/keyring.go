package cookie

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sessionkit/sessionkit/store"
)

// KeySize is the length in bytes of a key's secret.
const KeySize = 32

var (
	// ErrNoKeys is returned by [NewKeyRing] when it is given no key, and by
	// [New] when it is given a nil key ring.
	ErrNoKeys = errors.New("cookie: no keys")

	// ErrKeySize is returned by [NewKeyRing] when a key's secret is not
	// [KeySize] bytes long.
	ErrKeySize = errors.New("cookie: key secret is not 32 bytes")

	// ErrDuplicateKey is returned by [NewKeyRing] when two keys have the same
	// ID.
	ErrDuplicateKey = errors.New("cookie: duplicate key ID")
)

// tagDomain separates the hash that names a key from any other use of the
// key's secret.
const tagDomain = "sessionkit/cookie/v1 key tag\x00"

// A KeyRing seals and opens values with a list of keys: the newest key seals,
// and every key opens. Rotating keys means giving the ring one more key at
// the end ([KeyRing.SetKeys], or a new ring); values sealed with older keys
// keep opening until their key is dropped from the ring.
//
// A KeyRing is safe for concurrent use, SetKeys included. It holds the keys'
// secrets in memory; it never reveals them.
type KeyRing struct {
	keys atomic.Pointer[[]ringKey] // oldest first; the last one seals
	enc  *base64.Encoding          // base64url without padding, strict
}

// ringKey is a key ready for use: its AEAD is built once, and its tag is
// what sealed values carry to name it.
type ringKey struct {
	tag  [tagSize]byte
	aead cipher.AEAD
}

// NewKeyRing returns a key ring holding keys, oldest first: the last key
// seals, and every key opens. It copies the secrets, so the caller may clear
// them afterwards.
//
// It returns an error wrapping [ErrNoKeys] when keys is empty,
// [ErrKeySize] when a secret is not [KeySize] bytes, and [ErrDuplicateKey]
// when two keys share an ID. It also fails when the process runs in FIPS
// 140-only mode, which forbids XChaCha20-Poly1305.
func NewKeyRing(keys ...store.Key) (*KeyRing, error) {
	r := &KeyRing{enc: base64.RawURLEncoding.Strict()}
	if err := r.SetKeys(keys...); err != nil {
		return nil, err
	}
	return r, nil
}

// SetKeys replaces the keys of the ring, oldest first, for every caller at
// once: a server that reloads its keys from the store calls it. Values
// sealed with a key no longer in the ring stop opening. It fails, and the
// ring keeps the keys it had, for the same reasons as [NewKeyRing].
func (r *KeyRing) SetKeys(keys ...store.Key) error {
	if len(keys) == 0 {
		return ErrNoKeys
	}
	ring := make([]ringKey, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if len(k.Secret) != KeySize {
			return fmt.Errorf("%w: key %q has %d bytes", ErrKeySize, k.ID, len(k.Secret))
		}
		if seen[k.ID] {
			return fmt.Errorf("%w: %q", ErrDuplicateKey, k.ID)
		}
		seen[k.ID] = true
		aead, err := chacha20poly1305.NewX(k.Secret)
		if err != nil {
			return fmt.Errorf("cookie: key %q: %w", k.ID, err)
		}
		ring = append(ring, ringKey{tag: keyTag(k.Secret), aead: aead})
	}
	r.keys.Store(&ring)
	return nil
}

// keyTag returns the first bytes of SHA-256 over tagDomain and secret: it
// names the key in a sealed value without revealing anything about it.
func keyTag(secret []byte) [tagSize]byte {
	h := sha256.New()
	h.Write([]byte(tagDomain))
	h.Write(secret)
	var sum [sha256.Size]byte
	var tag [tagSize]byte
	copy(tag[:], h.Sum(sum[:0]))
	return tag
}

// GenerateKey returns a new key for a [KeyRing]: a [KeySize]-byte secret and
// a random 8-hex-digit ID, both from crypto/rand, created at now. The ID is
// safe to show; the secret must be kept like a password.
//
// The error is non-nil only if the system's random source fails, which
// current Go versions treat as fatal instead of returning.
func GenerateKey(now time.Time) (store.Key, error) {
	var id [4]byte
	secret := make([]byte, KeySize)
	if _, err := rand.Read(id[:]); err != nil {
		return store.Key{}, fmt.Errorf("cookie: generating a key: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return store.Key{}, fmt.Errorf("cookie: generating a key: %w", err)
	}
	return store.Key{ID: hex.EncodeToString(id[:]), Secret: secret, Created: now}, nil
}

// sealer returns the key that seals: the newest.
func (r *KeyRing) sealer() *ringKey {
	keys := *r.keys.Load()
	return &keys[len(keys)-1]
}
