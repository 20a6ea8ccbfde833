package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

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

	// Lifetime is how long a token is valid. Zero or negative means
	// DefaultAccessLifetime (15 minutes).
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

// NewIssuer returns an Issuer signing with keys. It fails when keys is
// nil, when Issuer or Audience is empty, or when Lifetime is under a
// second: token times are in whole seconds, so such a token would be
// expired when it is issued.
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
	if opts.Lifetime < time.Second {
		return nil, fmt.Errorf("token: a token lifetime of %v is under a second", opts.Lifetime)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Issuer{keys: keys, opts: opts}, nil
}

// Lifetime returns how long the tokens it issues are valid.
func (i *Issuer) Lifetime() time.Duration { return i.opts.Lifetime }

// Issue signs an access token saying what c says about the login: its
// Subject (the user, required), Session (the refresh family, the "sid"
// claim, required), AccountID ("aid", left out when empty), AuthTime
// ("auth_time", left out when zero) and the application's custom claims
// (Extra). The issuer sets the rest: iss, aud, iat, nbf and exp (valid
// from now for the lifetime), a fresh jti and the kid; those fields of c
// are ignored. It returns the token and its claims, as Verify will read
// them.
//
// It refuses, with an error wrapping ErrClaims, claims that would make a
// token Verify refuses or reads back differently: an empty Subject or
// Session, a Subject, Session or AccountID that is not valid UTF-8, a
// custom claim named as one of the package's own (see [Claims.Extra]) or
// whose value is not JSON in UTF-8, and claims that make the token longer
// than MaxTokenSize. It fails with ErrNoKey when the key source has no key that
// can sign; a key source that cannot reload its keys from the store signs
// with the keys it has.
func (i *Issuer) Issue(ctx context.Context, c Claims) (string, Claims, error) {
	extra, err := checkIssued(c)
	if err != nil {
		return "", Claims{}, err
	}
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
		Extra:     extra,
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
	if len(signed) > MaxTokenSize {
		return "", Claims{}, fmt.Errorf("%w: the token would be %d bytes, more than MaxTokenSize (%d)", ErrClaims, len(signed), MaxTokenSize)
	}
	return signed, wc.claims(k.ID), nil
}

// checkIssued refuses claims that Issue cannot sign, and returns their
// custom claims compacted, as the token will carry them.
func checkIssued(c Claims) (map[string]json.RawMessage, error) {
	switch {
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no Subject", ErrClaims)
	case c.Session == "":
		return nil, fmt.Errorf("%w: no Session", ErrClaims)
	}
	for _, f := range [...]struct{ name, value string }{{"Subject", c.Subject}, {"Session", c.Session}, {"AccountID", c.AccountID}} {
		if !utf8.ValidString(f.value) {
			return nil, fmt.Errorf("%w: %s is not valid UTF-8", ErrClaims, f.name)
		}
	}
	if len(c.Extra) == 0 {
		return nil, nil
	}
	extra := make(map[string]json.RawMessage, len(c.Extra))
	for name, v := range c.Extra {
		if err := checkExtraName(name); err != nil {
			return nil, err
		}
		// As encoding/json writes it into the token: compact, with <, >
		// and & escaped.
		var compact, escaped bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return nil, fmt.Errorf("%w: claim %q is not JSON: %w", ErrClaims, name, err)
		}
		if !utf8.Valid(v) {
			return nil, fmt.Errorf("%w: claim %q is not valid UTF-8", ErrClaims, name)
		}
		json.HTMLEscape(&escaped, compact.Bytes())
		extra[name] = escaped.Bytes()
	}
	return extra, nil
}
