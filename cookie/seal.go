package cookie

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// MaxSize is the largest cookie browsers are required to keep: the length of
// the name, the "=" and the value together.
const MaxSize = 4096

var (
	// ErrInvalid is returned by [KeyRing.Open] for a value it did not seal
	// with one of its keys under the same name: garbage, a truncated or
	// altered value, a value sealed for another cookie name, or by a key
	// that is no longer in the ring. The error says nothing more on purpose.
	ErrInvalid = errors.New("cookie: invalid value")

	// ErrExpired is returned by [KeyRing.Open] for an authentic value whose
	// expiry has passed.
	ErrExpired = errors.New("cookie: value expired")

	// ErrTooLarge is returned (wrapped, with the sizes) by [KeyRing.Seal]
	// when the name, "=" and the sealed value together would exceed
	// [MaxSize] bytes, which browsers silently drop.
	ErrTooLarge = errors.New("cookie: value too large")

	// ErrNoExpiry is returned by [KeyRing.Seal] when the expiry is the zero
	// time: every sealed value must expire.
	ErrNoExpiry = errors.New("cookie: no expiry")
)

// The wire format of a sealed value, before base64url encoding without
// padding:
//
//	version (1) | key tag (4) | nonce (24) | ciphertext and Poly1305 tag
//
// and the plaintext is an 8-byte big-endian expiry in Unix seconds followed
// by the value. The additional data is adDomain followed by the cookie name.
const (
	version       = 1
	tagSize       = 4
	nonceSize     = chacha20poly1305.NonceSizeX
	headerSize    = 1 + tagSize + nonceSize
	expirySize    = 8
	minSealedSize = headerSize + expirySize + chacha20poly1305.Overhead
	// minEncodedSize is the base64url length of minSealedSize bytes.
	minEncodedSize = (minSealedSize*8 + 5) / 6

	adDomain = "sessionkit/cookie/v1"
)

// Seal encrypts and authenticates value for the cookie called name, to be
// refused by [KeyRing.Open] from expires on, and returns it encoded for a
// cookie (base64url without padding). Seal uses the ring's newest key and a
// fresh random nonce, so sealing the same value twice gives different
// results.
//
// The name is bound to the value: it opens only under the same name. The
// value's length is not hidden. Seal returns [ErrNoExpiry] when expires is
// the zero time, and an error wrapping [ErrTooLarge] when
// len(name)+1+len(sealed) would exceed [MaxSize]. The expiry is kept to the
// second, rounded down.
func (r *KeyRing) Seal(name string, value []byte, expires time.Time) (string, error) {
	return r.seal(name, nil, value, expires)
}

// seal seals head followed by value, so that callers can add a header to a
// value without copying it first.
func (r *KeyRing) seal(name string, head, value []byte, expires time.Time) (string, error) {
	if expires.IsZero() {
		return "", ErrNoExpiry
	}
	n := len(head) + len(value)
	rawLen := minSealedSize + n
	encLen := base64.RawURLEncoding.EncodedLen(rawLen)
	if size := len(name) + 1 + encLen; size > MaxSize {
		return "", fmt.Errorf("%w: %s=… would be %d bytes, over the %d-byte limit", ErrTooLarge, name, size, MaxSize)
	}

	// One buffer holds the additional data, the raw sealed value and its
	// encoding.
	adLen := len(adDomain) + len(name)
	buf := make([]byte, adLen+rawLen+encLen)
	ad := buf[:adLen]
	copy(ad, adDomain)
	copy(ad[len(adDomain):], name)
	raw := buf[adLen : adLen+rawLen : adLen+rawLen]
	out := buf[adLen+rawLen:]

	k := r.sealer()
	raw[0] = version
	copy(raw[1:], k.tag[:])
	nonce := raw[1+tagSize : headerSize]
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("cookie: reading a nonce: %w", err)
	}
	plain := raw[headerSize : headerSize+expirySize+n]
	binary.BigEndian.PutUint64(plain, uint64(expires.Unix()))
	copy(plain[expirySize:], head)
	copy(plain[expirySize+len(head):], value)
	k.aead.Seal(plain[:0], nonce, plain, ad) // in place; raw has room for the tag

	base64.RawURLEncoding.Encode(out, raw)
	return string(out), nil
}

// Open decodes, authenticates and decrypts a value sealed by [KeyRing.Seal]
// for the cookie called name with any key of the ring, and returns the
// value.
//
// It returns [ErrInvalid] for anything Seal did not produce with a key of
// the ring and the same name (including any change to the string, such as
// padding or line breaks, and any input longer than [MaxSize] allows), and
// [ErrExpired] for an authentic value when now is at or after its expiry.
// Open never panics, whatever the input.
func (r *KeyRing) Open(name, sealed string, now time.Time) ([]byte, error) {
	value, _, err := r.open(name, sealed, now)
	return value, err
}

// open is Open that also returns the value's expiry in Unix seconds.
func (r *KeyRing) open(name, sealed string, now time.Time) (value []byte, expires int64, err error) {
	if len(sealed) < minEncodedSize || len(sealed) > MaxSize-len(name)-1 || !isBase64URL(sealed) {
		return nil, 0, ErrInvalid
	}

	// One buffer holds the additional data, the decoded value (decrypted in
	// place) and a copy of the input to decode from.
	adLen := len(adDomain) + len(name)
	rawLen := base64.RawURLEncoding.DecodedLen(len(sealed))
	buf := make([]byte, adLen+rawLen+len(sealed))
	ad := buf[:adLen]
	copy(ad, adDomain)
	copy(ad[len(adDomain):], name)
	raw := buf[adLen : adLen+rawLen : adLen+rawLen]
	src := buf[adLen+rawLen:]
	copy(src, sealed)

	n, err := r.enc.Decode(raw, src)
	if err != nil || n < minSealedSize || raw[0] != version {
		return nil, 0, ErrInvalid
	}
	raw = raw[:n]
	var tag [tagSize]byte
	copy(tag[:], raw[1:])
	nonce := raw[1+tagSize : headerSize]
	ciphertext := raw[headerSize:]

	keys := *r.keys.Load()
	tries := 0
	for i := range keys {
		if keys[i].tag == tag {
			tries++
		}
	}
	var plain []byte
	opened := false
	for i := range keys {
		k := &keys[i]
		if k.tag != tag {
			continue
		}
		tries--
		// A failed Open clears its output: decrypt in place only on the
		// last try, so that an earlier failure leaves the ciphertext intact.
		dst := ciphertext[:0]
		if tries > 0 {
			dst = nil
		}
		if p, err := k.aead.Open(dst, nonce, ciphertext, ad); err == nil {
			plain, opened = p, true
			break
		}
	}
	if !opened {
		return nil, 0, ErrInvalid
	}

	expires = int64(binary.BigEndian.Uint64(plain))
	if now.Unix() >= expires {
		return nil, 0, ErrExpired
	}
	return plain[expirySize:len(plain):len(plain)], expires, nil
}

// isBase64URL reports whether s holds only characters of the base64url
// alphabet, so that no string other than the one Seal made decodes to the
// same bytes (the decoder would skip line breaks).
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
