package token

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/store"
)

// MaxTokenSize is the longest token a Verifier reads. Ours are about 400
// bytes; anything far larger is refused before it is decoded.
const MaxTokenSize = 8 << 10

// denyPrefix namespaces access-token ids in the deny list.
const denyPrefix = "jwt:"

// supportedAlgorithms are the algorithms the JWS parser accepts at all; the
// key a token names then pins the one it may use.
var supportedAlgorithms = []jose.SignatureAlgorithm{
	jose.EdDSA, jose.ES256, jose.RS256, jose.HS256,
}

// VerifierOptions configures NewVerifier.
type VerifierOptions struct {
	// Issuer and Audience are required: a token's "iss" must equal Issuer
	// and its "aud" must contain Audience.
	Issuer   string
	Audience string

	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway (30 seconds); negative means none.
	Leeway time.Duration

	// DenyList, when not nil, is checked for every token's jti, and Revoke
	// writes to it.
	DenyList store.DenyList

	// CacheSize is how many verified tokens Verify remembers, so that a
	// token presented again is not parsed and its signature not checked
	// again (its key, its times and the deny list are checked every time).
	// Zero means DefaultVerifyCacheSize (4096); negative means none.
	CacheSize int

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// A Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	keys      KeySource
	opts      VerifierOptions
	validator *jwt.Validator
	parser    *jwt.Parser    // access tokens: header and claims decoded once
	noRoots   *x509.CertPool // empty: any x5c chain fails at once
	verified  *verifiedCache // nil: none
}

// accessHeader reports whether an access token may carry the header
// parameter name. Anything else (a key or a key URL, "crit", "b64",
// "nonce", ...) is refused: the key is chosen by kid among our own keys,
// nothing else.
func accessHeader(name string) bool {
	switch name {
	case "alg", "kid", "typ", "cty":
		return true
	}
	return false
}

// NewVerifier returns a Verifier of tokens signed by keys. It fails when
// Issuer or Audience is empty.
func NewVerifier(keys KeySource, opts VerifierOptions) (*Verifier, error) {
	if keys == nil {
		return nil, errors.New("token: nil key source")
	}
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("token: a verifier needs an Issuer and an Audience")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.Leeway == 0:
		opts.Leeway = DefaultLeeway
	case opts.Leeway < 0:
		opts.Leeway = 0
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultVerifyCacheSize
	}
	v := &Verifier{keys: keys, opts: opts, noRoots: x509.NewCertPool(), verified: newVerifiedCache(opts.CacheSize)}
	v.validator = v.newValidator(opts.Now)
	algs := make([]string, len(supportedAlgorithms))
	for i, a := range supportedAlgorithms {
		algs[i] = string(a)
	}
	// Claims are validated by Verify itself, which tells an expired token
	// from an invalid one.
	v.parser = jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithStrictDecoding(), jwt.WithoutClaimsValidation())
	return v, nil
}

func (v *Verifier) newValidator(now func() time.Time) *jwt.Validator {
	return jwt.NewValidator(
		jwt.WithTimeFunc(now),
		jwt.WithLeeway(v.opts.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(v.opts.Issuer),
		jwt.WithAudience(v.opts.Audience),
	)
}

// Verify checks an access token and returns its claims. The token must be
// a compact JWS of type at+jwt, signed by the key its kid names with that
// key's algorithm, with no key or key URL in its header; it must carry
// sub, jti, sid, iss and aud as configured, and exp, nbf and iat that hold
// at now within the leeway; and its jti must not be deny-listed.
//
// Every rejection wraps ErrInvalid. An authentic token that has only
// expired gives an error wrapping ErrExpired together with its claims, so
// that a caller can send the client to refresh, or end the session it
// names; so does an authentic token signed by a key that has retired
// since (its Expires has passed), whatever its exp says, provided its
// other claims hold. A token whose kid names no key, or whose signature
// does not verify, never gives ErrExpired. A deny-listed token wraps
// ErrRevoked. Any other error means the deny list or the key store could
// not be read within ctx.
//
// The custom claims of the token (any but the package's own) are returned
// in Claims.Extra. A token that has a claim twice, or one of the
// package's own claims under a name that differs only in case, is
// refused.
func (v *Verifier) Verify(ctx context.Context, tok string) (Claims, error) {
	ctx, span := scope.Start(ctx, "token.verify")
	c, err := v.verify(ctx, tok)
	endSpan(span, err)
	span.End()
	return c, err
}

// verify is Verify, inside its span.
func (v *Verifier) verify(ctx context.Context, tok string) (Claims, error) {
	if len(tok) > MaxTokenSize {
		return Claims{}, invalid("longer than %d bytes", MaxTokenSize)
	}
	t, ok, err := v.rememberedToken(ctx, tok)
	if err != nil {
		return Claims{}, err
	}
	if !ok {
		if t, err = v.parseToken(ctx, tok); err != nil {
			return Claims{}, err
		}
	}
	wc := t.claims
	err = v.validator.Validate(&wc)
	expired := errors.Is(err, jwt.ErrTokenExpired) && v.onlyExpired(&wc)
	if err != nil && !expired {
		return Claims{}, invalid("%v", err)
	}
	// The signature is good. A key retires once every token it signed has
	// expired, so a token of a retired key is expired whatever its exp
	// says: the client refreshes, as for any expired token.
	if !t.key.verifiesAt(v.opts.Now()) {
		return wc.claims(t.key.ID), rejected(ErrExpired, "key %q is retired", t.key.ID)
	}
	if expired {
		return wc.claims(t.key.ID), rejected(ErrExpired, "expired at %s", wc.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if v.opts.DenyList != nil {
		denied, err := v.opts.DenyList.Denied(ctx, denyPrefix+wc.ID)
		if err != nil {
			return Claims{}, fmt.Errorf("token: checking the deny list: %w", err)
		}
		if denied {
			return Claims{}, rejected(ErrRevoked, "token %s was revoked", wc.ID)
		}
	}
	return wc.claims(t.key.ID), nil
}

// rememberedToken returns what was established about tok when it was
// verified before, if the key that signed it is still the one its kid
// names. An error means the keys could not be loaded.
func (v *Verifier) rememberedToken(ctx context.Context, tok string) (verifiedToken, bool, error) {
	t, ok := v.verified.get(tok)
	if !ok {
		v.verified.counted(false)
		return t, false, nil
	}
	set, err := v.keys.keySet(ctx, t.key.ID)
	if set == nil || (err != nil && set.byID[t.key.ID] == nil) {
		return t, false, fmt.Errorf("token: loading keys: %w", err)
	}
	if set.byID[t.key.ID] != t.key {
		// The key was removed, or reloaded: check the token in full.
		v.verified.drop(tok)
		v.verified.counted(false)
		return t, false, nil
	}
	v.verified.counted(true)
	return t, true, nil
}

// parseToken parses tok, checks its header, its signature (with the key
// its kid names, retired or not) and that it is an access token with a
// subject, an id and a session, and remembers it.
func (v *Verifier) parseToken(ctx context.Context, tok string) (verifiedToken, error) {
	// golang-jwt splits the token, decodes its header and claims (once
	// each: no second parse) and checks the signature with the key
	// accessKey picks.
	var vt verifiedToken
	var refused error // why accessKey gave no key
	t, err := v.parser.ParseWithClaims(tok, &vt.claims, func(t *jwt.Token) (any, error) {
		vt.key, refused = v.accessKey(ctx, t.Header)
		if refused != nil {
			return nil, refused
		}
		return vt.key.verifying, nil
	})
	if refused != nil {
		return vt, refused
	}
	if err != nil {
		return vt, parseError(t, err)
	}
	if typ, _ := t.Header["typ"].(string); !isAccessTokenType(typ) {
		return vt, invalid("typ %q is not %s", typ, AccessTokenType)
	}
	if wc := vt.claims; wc.Subject == "" || wc.ID == "" || wc.Session == "" {
		return vt, invalid("sub, jti or sid missing")
	}
	v.verified.put(tok, vt)
	return vt, nil
}

// accessKey checks an access token's header and returns the key that must
// have signed it: the one its kid names, whose algorithm its alg must be.
// An error that is not ErrInvalid means the keys could not be loaded.
func (v *Verifier) accessKey(ctx context.Context, h map[string]any) (*Key, error) {
	for name := range h {
		if !accessHeader(name) {
			return nil, invalid("header %q is not accepted", name)
		}
	}
	kid, ok := h["kid"].(string)
	if !ok && h["kid"] != nil {
		return nil, invalid("kid is not a string")
	}
	set, err := v.keys.keySet(ctx, kid)
	if set == nil || (err != nil && set.byID[kid] == nil) {
		return nil, fmt.Errorf("token: loading keys: %w", err)
	}
	k, err := set.lookup(kid)
	if err != nil {
		return nil, err
	}
	if alg, _ := h["alg"].(string); alg != string(k.Algorithm) {
		return nil, invalid("alg %q differs from key %q's %s", alg, k.ID, k.Algorithm)
	}
	return k, nil
}

// parseError describes why golang-jwt refused a token t (nil when it did
// not split into three parts), as an error wrapping ErrInvalid.
func parseError(t *jwt.Token, err error) error {
	var corrupt base64.CorruptInputError
	switch {
	case t == nil:
		return invalid("not a compact JWS: it must have three parts: %v", err)
	case errors.As(err, &corrupt):
		// Strict decoding: the spare bits of each segment's last character
		// must be zero, so that exactly one string is each token.
		return invalid("not a compact JWS in canonical base64url: %v", err)
	case t.Header == nil:
		return invalid("not a compact JWS: %v", err)
	case errors.Is(err, jwt.ErrTokenMalformed):
		// The header decoded; the claims did not.
		return invalid("claims are not a JSON object with the expected types: %v", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable):
		if alg, _ := t.Header["alg"].(string); !slices.Contains(supportedAlgorithms, jose.SignatureAlgorithm(alg)) {
			return invalid("alg %q is not accepted", alg)
		}
		return invalid("signature: %v", err)
	default:
		return invalid("not a compact JWS: %v", err)
	}
}

// onlyExpired reports whether claims that failed validation as expired
// would have passed just before they expired: expiry is their only fault.
func (v *Verifier) onlyExpired(wc *wireClaims) bool {
	exp := wc.ExpiresAt.Time
	at := v.newValidator(func() time.Time { return exp.Add(-time.Second) })
	return at.Validate(wc) == nil
}

// isAccessTokenType reports whether typ names an access token: "at+jwt",
// or in full "application/at+jwt", in any case (RFC 9068 section 4).
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == AccessTokenType || typ == "application/"+AccessTokenType
}

// VerifySignature checks a compact JWS the way Verify does (size, header,
// key pinned by kid, signature) but not its payload, which need not be
// JSON, and returns the payload. Use it for JWS that are not access tokens.
// Unlike Verify, it refuses a JWS signed by a retired key as invalid: the
// payload has no expiry that could say it merely expired.
func (v *Verifier) VerifySignature(ctx context.Context, jws string) ([]byte, error) {
	payload, _, _, err := v.verifyJWS(ctx, jws)
	return payload, err
}

// verifyJWS parses tok with go-jose, refuses header parameters that would
// let the token choose its key, finds the key its kid names, requires the
// header's alg to be that key's, and checks the signature with golang-jwt.
func (v *Verifier) verifyJWS(ctx context.Context, tok string) ([]byte, jose.Header, *Key, error) {
	if len(tok) > MaxTokenSize {
		return nil, jose.Header{}, nil, invalid("longer than %d bytes", MaxTokenSize)
	}
	jws, err := jose.ParseSignedCompact(tok, supportedAlgorithms)
	if err != nil {
		return nil, jose.Header{}, nil, invalid("not a compact JWS: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, jose.Header{}, nil, invalid("not one signature")
	}
	sig := jws.Signatures[0]
	h := sig.Protected
	if err := v.checkHeader(h); err != nil {
		return nil, h, nil, err
	}
	set, err := v.keys.keySet(ctx, h.KeyID)
	if set == nil || (err != nil && set.byID[h.KeyID] == nil) {
		return nil, h, nil, fmt.Errorf("token: loading keys: %w", err)
	}
	k, err := set.lookup(h.KeyID)
	if err != nil {
		return nil, h, nil, err
	}
	if !k.verifiesAt(v.opts.Now()) {
		return nil, h, nil, invalid("key %q is retired", k.ID)
	}
	if h.Algorithm != string(k.Algorithm) {
		return nil, h, nil, invalid("alg %q differs from key %q's %s", h.Algorithm, k.ID, k.Algorithm)
	}
	dot := strings.LastIndexByte(tok, '.')
	input := tok[:dot]
	if err := k.Algorithm.method().Verify(input, sig.Signature, k.verifying); err != nil {
		return nil, h, nil, invalid("signature: %v", err)
	}
	// base64 leaves spare bits in the last character: only the canonical
	// spelling of the signature is the token, so no other string verifies.
	if base64.RawURLEncoding.EncodeToString(sig.Signature) != tok[dot+1:] {
		return nil, h, nil, invalid("signature is not in canonical base64url")
	}
	return jws.UnsafePayloadWithoutVerification(), h, k, nil
}

// checkHeader refuses a header that carries a key ("jwk"), points at one
// ("jku", "x5u", "x5c"), or has parameters we do not understand: the key is
// chosen by kid among our own keys, nothing else.
func (v *Verifier) checkHeader(h jose.Header) error {
	if h.JSONWebKey != nil {
		return invalid("embedded jwk header")
	}
	if h.Nonce != "" {
		return invalid("unexpected nonce header")
	}
	for name := range h.ExtraHeaders {
		switch name {
		case jose.HeaderType, jose.HeaderContentType:
		default:
			return invalid("header %q is not accepted", string(name))
		}
	}
	// An empty root pool fails any chain at once, without the system roots.
	if _, err := h.Certificates(x509.VerifyOptions{Roots: v.noRoots}); !errors.Is(err, jose.ErrMissingX5cHeader) {
		return invalid("x5c header is not accepted")
	}
	return nil
}

// Revoke deny-lists the token c describes until it expires (plus the
// leeway), so that Verify refuses it from then on, wherever it is
// presented. It fails when the Verifier has no deny list or the deny list
// cannot be written within ctx.
func (v *Verifier) Revoke(ctx context.Context, c Claims) error {
	if v.opts.DenyList == nil {
		return errors.New("token: no deny list to revoke with")
	}
	if c.ID == "" {
		return errors.New("token: revoking a token without jti")
	}
	if err := v.opts.DenyList.Deny(ctx, denyPrefix+c.ID, c.Expires.Add(v.opts.Leeway+time.Second)); err != nil {
		return fmt.Errorf("token: deny-listing a token: %w", err)
	}
	return nil
}
