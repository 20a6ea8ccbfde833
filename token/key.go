package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/store"
)

// rsaBits is the size of generated RS256 keys.
const rsaBits = 2048

// hmacBytes is the size of generated HS256 secrets: the hash's output size,
// as RFC 7518 section 3.2 asks at the least.
const hmacBytes = 32

// A Key is one signing key: an ID (the "kid" of the tokens it signs), the
// one algorithm it signs and verifies with, and its material. A key read
// from a JWKS holds only a public key and cannot sign.
//
// Keys are immutable and safe for concurrent use.
type Key struct {
	// ID is the key's "kid". It is random and safe to show.
	ID string

	// Algorithm is the only algorithm the key is used with.
	Algorithm Algorithm

	// Created is when the key was generated (zero for a key from a JWKS).
	Created time.Time

	// SignsFrom is when the key may start signing. A key added by
	// Ring.Rotate waits the ring's PublishDelay, until every instance has
	// loaded (and publishes) it and every JWKS cache may have fetched it,
	// before any of them signs with it; until then it only verifies. Zero
	// means at once (a Ring's first key, or a key from a JWKS).
	SignsFrom time.Time

	// Expires is when the key stops verifying: once a newer key has taken
	// over signing, every token this key signed has expired by then. Zero
	// means no end (the primary key, or a key from a JWKS).
	Expires time.Time

	signing   any // private key or HMAC secret; nil for a public-only key
	verifying any // public key or HMAC secret
}

// CanSign reports whether k holds private material.
func (k *Key) CanSign() bool { return k.signing != nil }

// PublicKey returns the public key that verifies the tokens k signs, as
// golang-jwt's method for k's algorithm ([Key.Method]) takes it: an
// [ed25519.PublicKey] (EdDSA), an [*ecdsa.PublicKey] on P-256 (ES256) or
// an [*rsa.PublicKey] (RS256). It is a copy: changing it does not change
// k. It returns nil for an HS256 key, which has no public half: its
// secret verifies and signs alike, and is never handed out.
//
// A service that parses tokens with golang-jwt itself gives it the key
// the token's kid names, and must accept only that key's method (see the
// example); a [Verifier] does so, and checks the token's type, times,
// issuer and audience as well.
func (k *Key) PublicKey() crypto.PublicKey {
	switch pub := k.verifying.(type) {
	case ed25519.PublicKey:
		return slices.Clone(pub)
	case *ecdsa.PublicKey:
		b, err := pub.Bytes()
		if err != nil {
			return nil // not made by keyFromJWK
		}
		cp, err := ecdsa.ParseUncompressedPublicKey(pub.Curve, b)
		if err != nil {
			return nil
		}
		return cp
	case *rsa.PublicKey:
		return &rsa.PublicKey{N: new(big.Int).Set(pub.N), E: pub.E}
	}
	return nil
}

// Method returns golang-jwt's signing method for k's algorithm: the only
// one a token k signed may name in its "alg" header.
func (k *Key) Method() jwt.SigningMethod { return k.Algorithm.method() }

// verifiesAt reports whether k may verify a token at now.
func (k *Key) verifiesAt(now time.Time) bool {
	return k.Expires.IsZero() || now.Before(k.Expires)
}

// GenerateKey returns a new key for alg as the store keeps it: a random ID
// and, as the secret, the private key as a JWK (RFC 7517) naming its ID and
// algorithm. It fails only for an unsupported algorithm.
func GenerateKey(alg Algorithm, now time.Time) (store.Key, error) {
	var material any
	switch alg {
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return store.Key{}, fmt.Errorf("token: generating an Ed25519 key: %w", err)
		}
		material = priv
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return store.Key{}, fmt.Errorf("token: generating a P-256 key: %w", err)
		}
		material = priv
	case RS256:
		priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return store.Key{}, fmt.Errorf("token: generating an RSA key: %w", err)
		}
		material = priv
	case HS256:
		secret := make([]byte, hmacBytes)
		_, _ = rand.Read(secret)
		material = secret
	default:
		_, err := ParseAlgorithm(string(alg))
		return store.Key{}, err
	}
	id := newKeyID()
	jwk := jose.JSONWebKey{Key: material, KeyID: id, Algorithm: string(alg), Use: "sig"}
	secret, err := jwk.MarshalJSON()
	if err != nil {
		return store.Key{}, fmt.Errorf("token: encoding a new %s key: %w", alg, err)
	}
	return store.Key{ID: id, Secret: secret, Created: now}, nil
}

// newKeyID returns 72 random bits in base64url: 12 characters.
func newKeyID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseKey returns the key that sk holds, as GenerateKey made it. It fails
// when the secret is not a private JWK, its kid differs from sk.ID, or its
// algorithm does not fit its key type.
func ParseKey(sk store.Key) (*Key, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(sk.Secret); err != nil {
		return nil, fmt.Errorf("token: key %q: not a JWK: %w", sk.ID, err)
	}
	if jwk.KeyID != sk.ID {
		return nil, fmt.Errorf("token: key %q: its JWK names kid %q", sk.ID, jwk.KeyID)
	}
	k, err := keyFromJWK(jwk)
	if err != nil {
		return nil, err
	}
	if !k.CanSign() {
		return nil, fmt.Errorf("token: key %q: no private key", sk.ID)
	}
	k.Created = sk.Created
	return k, nil
}

// keyFromJWK builds a Key from a JWK, private or public. The JWK must name
// its kid and its algorithm, and the algorithm must fit the key type: a
// key's algorithm is what pins the algorithm of the tokens it verifies.
func keyFromJWK(jwk jose.JSONWebKey) (*Key, error) {
	if jwk.KeyID == "" {
		return nil, fmt.Errorf("token: a JWK without a kid")
	}
	alg, err := ParseAlgorithm(jwk.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("token: key %q: %w", jwk.KeyID, err)
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return nil, fmt.Errorf("token: key %q: use %q is not sig", jwk.KeyID, jwk.Use)
	}
	k := &Key{ID: jwk.KeyID, Algorithm: alg}
	ok := false
	switch m := jwk.Key.(type) {
	case ed25519.PrivateKey:
		ok, k.signing, k.verifying = alg == EdDSA, m, m.Public()
	case ed25519.PublicKey:
		ok, k.verifying = alg == EdDSA, m
	case *ecdsa.PrivateKey:
		ok, k.signing, k.verifying = alg == ES256 && m.Curve == elliptic.P256(), m, &m.PublicKey
	case *ecdsa.PublicKey:
		ok, k.verifying = alg == ES256 && m.Curve == elliptic.P256(), m
	case *rsa.PrivateKey:
		ok, k.signing, k.verifying = alg == RS256 && m.N.BitLen() >= rsaBits, m, &m.PublicKey
	case *rsa.PublicKey:
		ok, k.verifying = alg == RS256 && m.N.BitLen() >= rsaBits, m
	case []byte:
		ok, k.signing, k.verifying = alg == HS256 && len(m) >= hmacBytes, m, m
	}
	if !ok {
		return nil, fmt.Errorf("token: key %q: a %T does not fit algorithm %s", jwk.KeyID, jwk.Key, alg)
	}
	return k, nil
}

// publicJWK returns k's public half as a JWK, and false for a symmetric key,
// which has none.
func (k *Key) publicJWK() (jose.JSONWebKey, bool) {
	if k.Algorithm.symmetric() {
		return jose.JSONWebKey{}, false
	}
	return jose.JSONWebKey{Key: k.verifying, KeyID: k.ID, Algorithm: string(k.Algorithm), Use: "sig"}, true
}
