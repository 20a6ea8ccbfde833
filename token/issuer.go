package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AccessTokenType is the "typ" header of access tokens (RFC 9068).
const AccessTokenType = "at+jwt"

// IssuerOptions configures NewIssuer.
type IssuerOptions struct {
	// Issuer and Audience go into every token's "iss" and "aud". Both are
	// required: a verifier checks them.
	Issuer   string
	Audience string

	// Lifetime is how long a token is valid; DefaultAccessLifetime if zero.
	Lifetime time.Duration

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// An Issuer signs access tokens with the primary key of its key source. It
// is safe for concurrent use.
type Issuer struct {
	keys KeySource
	opts IssuerOptions
}

// NewIssuer returns an Issuer signing with keys. It fails when Issuer or
// Audience is empty.
func NewIssuer(keys KeySource, opts IssuerOptions) (*Issuer, error) {
	if keys == nil {
		return nil, errors.New("token: nil key source")
	}
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("token: an issuer needs an Issuer and an Audience")
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultAccessLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Issuer{keys: keys, opts: opts}, nil
}

// Lifetime returns how long the tokens it issues are valid.
func (i *Issuer) Lifetime() time.Duration { return i.opts.Lifetime }

// Issue signs an access token saying what c says about the login: its
// Subject (the user), Session (the refresh family, the "sid" claim),
// AccountID ("aid") and AuthTime ("auth_time", left out when zero). The
// issuer sets the rest: iss, aud, iat, nbf and exp (valid from now for the
// lifetime), a fresh jti and the kid; those fields of c are ignored. It
// returns the token and its claims. It fails with ErrNoKey when the key
// source has no key that can sign; a key source that cannot reload its
// keys from the store signs with the keys it has.
func (i *Issuer) Issue(ctx context.Context, c Claims) (string, Claims, error) {
	set, _ := i.keys.keySet(ctx, "") // a failed reload leaves the keys known
	now := i.opts.Now()
	var k *Key
	if set != nil {
		k = set.Primary(now)
	}
	if k == nil {
		return "", Claims{}, ErrNoKey
	}
	now = now.Truncate(time.Second) // NumericDate has whole seconds
	wc := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.opts.Issuer,
			Subject:   c.Subject,
			Audience:  jwt.ClaimStrings{i.opts.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(i.opts.Lifetime)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        newTokenID(),
		},
		Session:   c.Session,
		AccountID: c.AccountID,
	}
	if !c.AuthTime.IsZero() {
		wc.AuthTime = jwt.NewNumericDate(c.AuthTime)
	}
	t := jwt.NewWithClaims(k.Algorithm.method(), &wc)
	t.Header["kid"] = k.ID
	t.Header["typ"] = AccessTokenType
	signed, err := t.SignedString(k.signing)
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: signing with key %q: %w", k.ID, err)
	}
	return signed, wc.claims(k.ID), nil
}
