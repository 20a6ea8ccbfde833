package token

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
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

	// Extra holds the application's own claims, by name, each as its JSON
	// value: what [Issuer.Issue] signs into the token besides the claims
	// above, and what [Verifier.Verify] read from it besides them. It is
	// nil when there are none. Set a claim with [Claims.SetExtra] and read
	// one with [Claims.DecodeExtra].
	//
	// The names the package writes itself (iss, sub, aud, exp, nbf, iat,
	// jti, sid, aid and auth_time) cannot be used, in any mix of upper and
	// lower case: Issue refuses them, and Verify refuses a token that has
	// one of them in another case, so that a custom claim can never be
	// read as one of the fields above, by this package or by another
	// verifier whose JSON decoder ignores case.
	Extra map[string]json.RawMessage
}

// SetExtra sets the custom claim name to v encoded as JSON, as
// [json.Marshal] encodes it. It fails, with an error wrapping ErrClaims
// and leaving c unchanged, when name is empty, not valid UTF-8 or one of
// the names the package writes itself (see [Claims.Extra]), or when v
// cannot be encoded.
func (c *Claims) SetExtra(name string, v any) error {
	if err := checkExtraName(name); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: claim %q: %w", ErrClaims, name, err)
	}
	if c.Extra == nil {
		c.Extra = make(map[string]json.RawMessage)
	}
	c.Extra[name] = b
	return nil
}

// DecodeExtra decodes the custom claim name into v, as [json.Unmarshal]
// does. It fails with an error wrapping ErrNoClaim when the claims have no
// custom claim of that name (the package's own claims are in the fields
// of Claims, never in Extra), and with one wrapping ErrClaims when the
// value does not decode into v.
func (c Claims) DecodeExtra(name string, v any) error {
	raw, ok := c.Extra[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoClaim, name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: claim %q: %w", ErrClaims, name, err)
	}
	return nil
}

// ownClaim returns the claim the package writes itself that name is, in
// any case, and whether there is one.
func ownClaim(name string) (string, bool) {
	for _, own := range [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "aid", "auth_time"} {
		if strings.EqualFold(name, own) {
			return own, true
		}
	}
	return "", false
}

// checkExtraName refuses a custom claim name that is empty or one the
// package writes itself.
func checkExtraName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: a custom claim without a name", ErrClaims)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: custom claim name %q is not valid UTF-8", ErrClaims, name)
	}
	if own, ok := ownClaim(name); ok {
		if own == name {
			return fmt.Errorf("%w: %q is a claim the issuer writes; it cannot be a custom claim", ErrClaims, name)
		}
		return fmt.Errorf("%w: custom claim %q differs from the issuer's %q only in case", ErrClaims, name, own)
	}
	return nil
}

// wireClaims is the JSON payload of an access token. Extra holds the
// members that are not the package's own claims: the custom claims.
type wireClaims struct {
	jwt.RegisteredClaims
	Session   string           `json:"sid,omitempty"`
	AccountID string           `json:"aid,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`

	Extra map[string]json.RawMessage `json:",unknown"`
}

// wireFields is wireClaims without its JSON methods, for the JSON library
// to encode and decode field by field.
type wireFields wireClaims

// MarshalJSON writes the claims with github.com/go-json-experiment/json
// (the JSON v2 of the Go project): the package's own claims, then the
// custom claims, in the order of their names.
func (w *wireClaims) MarshalJSON() ([]byte, error) {
	return jsonv2.Marshal((*wireFields)(w), jsonv2.Deterministic(true))
}

// UnmarshalJSON reads a JSON object of claims with
// github.com/go-json-experiment/json, whose defaults refuse what
// encoding/json lets through: a member that appears twice (encoding/json
// keeps the last, so a second "sub" would replace the subject), names
// matched regardless of case (a "SUB" would be read as "sub") and
// invalid UTF-8. The package's own claims are read under their exact
// names; any other member is a custom claim, unless its name is one of
// the package's in another case, which is refused, so that no verifier
// whose decoder ignores case could read it as that claim.
func (w *wireClaims) UnmarshalJSON(data []byte) error {
	*w = wireClaims{}
	if err := jsonv2.Unmarshal(data, (*wireFields)(w)); err != nil {
		return err
	}
	for name := range w.Extra {
		if own, ok := ownClaim(name); ok {
			return fmt.Errorf("claim %q differs from %q only in case", name, own)
		}
	}
	return nil
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
		Extra:     cloneExtra(w.Extra),
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

// cloneExtra returns a deep copy of custom claims (nil for none), so that
// the caller's changes do not reach claims kept elsewhere.
func cloneExtra(extra map[string]json.RawMessage) map[string]json.RawMessage {
	if len(extra) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(extra))
	for name, v := range extra {
		out[name] = bytes.Clone(v)
	}
	return out
}

// newTokenID returns a jti: 128 random bits in base64url.
func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
