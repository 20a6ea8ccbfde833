package token

import (
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Algorithm is a JWS signing algorithm (RFC 7518, RFC 8037).
type Algorithm string

// The algorithms a key can have. EdDSA (Ed25519) is the default: small
// keys and signatures, fast, and no parameter choices to get wrong.
// HS256 keys are symmetric: they are never published in a JWKS, so only
// services that share the store can verify HS256 tokens.
const (
	EdDSA Algorithm = "EdDSA"
	ES256 Algorithm = "ES256"
	RS256 Algorithm = "RS256"
	HS256 Algorithm = "HS256"
)

// DefaultAlgorithm is the algorithm of keys generated when none is named.
const DefaultAlgorithm = EdDSA

// Algorithms lists the supported algorithms.
func Algorithms() []Algorithm { return []Algorithm{EdDSA, ES256, RS256, HS256} }

// ParseAlgorithm returns the Algorithm named s ("EdDSA", "ES256", "RS256"
// or "HS256"), or an error for any other name, "none" included.
func ParseAlgorithm(s string) (Algorithm, error) {
	for _, a := range Algorithms() {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("token: unsupported algorithm %q (want EdDSA, ES256, RS256 or HS256)", s)
}

// method returns golang-jwt's implementation of a.
func (a Algorithm) method() jwt.SigningMethod {
	switch a {
	case EdDSA:
		return jwt.SigningMethodEdDSA
	case ES256:
		return jwt.SigningMethodES256
	case RS256:
		return jwt.SigningMethodRS256
	case HS256:
		return jwt.SigningMethodHS256
	}
	return nil
}

// symmetric reports whether a's keys are secrets shared by signer and
// verifier.
func (a Algorithm) symmetric() bool { return a == HS256 }

func (a Algorithm) jose() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(a) }
