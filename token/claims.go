package token

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are what an access token says.
type Claims struct {
	Subject   string    // "sub": the user
	ID        string    // "jti": unique per token; what revocation deny-lists
	Session   string    // "sid": the refresh-token family (the login) it belongs to
	Issuer    string    // "iss"
	Audience  []string  // "aud"
	IssuedAt  time.Time // "iat"
	NotBefore time.Time // "nbf"
	Expires   time.Time // "exp"
	KeyID     string    // the header's "kid": the key that signed it
}

// wireClaims is the JSON payload of an access token.
type wireClaims struct {
	jwt.RegisteredClaims
	Session string `json:"sid,omitempty"`
}

func (w *wireClaims) claims(kid string) Claims {
	c := Claims{
		Subject:  w.Subject,
		ID:       w.ID,
		Session:  w.Session,
		Issuer:   w.Issuer,
		Audience: []string(w.Audience),
		KeyID:    kid,
	}
	if w.IssuedAt != nil {
		c.IssuedAt = w.IssuedAt.Time
	}
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time
	}
	if w.ExpiresAt != nil {
		c.Expires = w.ExpiresAt.Time
	}
	return c
}

// newTokenID returns a jti: 128 random bits in base64url.
func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
