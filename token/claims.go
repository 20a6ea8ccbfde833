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
	AccountID string    // "aid": the ID of the subject's account when it logged in (store.User.ID)
	AuthTime  time.Time // "auth_time": when the subject last proved who they are (RFC 9470), in whole seconds; zero when not said
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
	Session   string           `json:"sid,omitempty"`
	AccountID string           `json:"aid,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
}

func (w *wireClaims) claims(kid string) Claims {
	c := Claims{
		Subject:   w.Subject,
		ID:        w.ID,
		Session:   w.Session,
		AccountID: w.AccountID,
		Issuer:    w.Issuer,
		Audience:  []string(w.Audience),
		KeyID:     kid,
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
	if w.AuthTime != nil {
		c.AuthTime = w.AuthTime.Time
	}
	return c
}

// newTokenID returns a jti: 128 random bits in base64url.
func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
