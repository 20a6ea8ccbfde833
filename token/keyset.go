package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeySource is where an [Issuer] or a [Verifier] gets its keys: a fixed
// [*KeySet], a [*Ring] that keeps them in a store and picks up keys other
// instances added, or, to verify the tokens of another service, the
// [*RemoteKeys] of its published JWKS.
type KeySource interface {
	// keySet returns the keys to use now. kid, when not empty, names a key
	// the caller did not find last time: a source that can reload does so
	// (rate-limited) before answering.
	keySet(ctx context.Context, kid string) (*KeySet, error)
}

// A KeySet is a fixed list of keys, oldest first. The newest key that can
// sign is the primary; every key verifies until its Expires. A KeySet is
// immutable and safe for concurrent use.
type KeySet struct {
	keys []*Key
	byID map[string]*Key
	algs []jose.SignatureAlgorithm
}

// NewKeySet returns a set of keys, oldest first. It fails when two keys
// share an ID or a key is nil.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	s := &KeySet{keys: slices.Clone(keys), byID: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		if k == nil {
			return nil, errors.New("token: nil key")
		}
		if _, dup := s.byID[k.ID]; dup {
			return nil, fmt.Errorf("token: two keys with kid %q", k.ID)
		}
		s.byID[k.ID] = k
		if a := k.Algorithm.jose(); !slices.Contains(s.algs, a) {
			s.algs = append(s.algs, a)
		}
	}
	return s, nil
}

func (s *KeySet) keySet(context.Context, string) (*KeySet, error) { return s, nil }

// Keys returns the keys, oldest first.
func (s *KeySet) Keys() []*Key { return slices.Clone(s.keys) }

// Primary returns the key that signs at now: the newest one that can sign
// and whose SignsFrom has come. It returns nil when no key can sign (a set
// read from a JWKS).
func (s *KeySet) Primary(now time.Time) *Key {
	var oldest *Key
	for i := len(s.keys) - 1; i >= 0; i-- {
		k := s.keys[i]
		if !k.CanSign() {
			continue
		}
		if !now.Before(k.SignsFrom) {
			return k
		}
		oldest = k
	}
	return oldest // no key's time has come: the oldest that can sign
}

// lookup returns the key that must verify a token whose header names kid.
// Without a kid, a set of exactly one key uses it (RFC 7515 makes kid
// optional); otherwise the token is refused. The key may have retired: the
// caller checks its signature first, and then what its retirement means.
func (s *KeySet) lookup(kid string) (*Key, error) {
	var k *Key
	switch {
	case kid != "":
		k = s.byID[kid]
		if k == nil {
			return nil, invalid("unknown kid %q", kid)
		}
	case len(s.keys) == 1:
		k = s.keys[0]
	default:
		return nil, invalid("no kid in the header")
	}
	return k, nil
}

// JWKS returns the public keys that verify at now as a JSON Web Key Set
// (RFC 7517 section 5). Symmetric (HS256) keys are never included.
func (s *KeySet) JWKS(now time.Time) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range s.keys {
		if !k.verifiesAt(now) {
			continue
		}
		if jwk, ok := k.publicJWK(); ok {
			set.Keys = append(set.Keys, jwk)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encoding the JWKS: %w", err)
	}
	return b, nil
}

// ParseJWKS returns the keys of a JSON Web Key Set, as another service
// publishes it, for verifying only. Every key must name its kid and its
// algorithm (which pins what it verifies); private keys and symmetric keys
// are refused, as a JWKS must never carry them.
func ParseJWKS(data []byte) (*KeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("token: reading a JWKS: %w", err)
	}
	keys := make([]*Key, 0, len(set.Keys))
	for _, jwk := range set.Keys {
		if !jwk.IsPublic() {
			return nil, fmt.Errorf("token: JWKS key %q is not a public key", jwk.KeyID)
		}
		k, err := keyFromJWK(jwk)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return NewKeySet(keys...)
}
