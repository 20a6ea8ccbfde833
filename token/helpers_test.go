package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// Issuer and audience of every test token.
const (
	testIssuer   = "https://sessionkit.test"
	testAudience = "sessionkit-api"
)

// t0 is where fake clocks start: a whole second, so that issued times
// (NumericDate has whole seconds) equal the clock.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *fakeclock.Clock { return fakeclock.New(t0) }

// newMemstore returns a memstore on clock, closed when the test ends.
func newMemstore(t testing.TB, clock *fakeclock.Clock) *memstore.Store {
	t.Helper()
	s := memstore.New(memstore.Options{Now: clock.Now})
	t.Cleanup(func() { s.Close() })
	return s
}

// keyCache holds generated keys by algorithm, so that a test run generates
// only a few RSA keys on a small machine.
var keyCache struct {
	mu   sync.Mutex
	keys map[token.Algorithm][]store.Key
}

// cachedKey returns the n-th cached key of alg (generating it the first
// time), as the store keeps it, with Created set to created.
func cachedKey(t testing.TB, alg token.Algorithm, n int, created time.Time) store.Key {
	t.Helper()
	keyCache.mu.Lock()
	defer keyCache.mu.Unlock()
	if keyCache.keys == nil {
		keyCache.keys = map[token.Algorithm][]store.Key{}
	}
	for len(keyCache.keys[alg]) <= n {
		sk, err := token.GenerateKey(alg, t0)
		if err != nil {
			t.Fatalf("GenerateKey(%s): %v", alg, err)
		}
		keyCache.keys[alg] = append(keyCache.keys[alg], sk)
	}
	sk := keyCache.keys[alg][n]
	sk.Secret = append([]byte(nil), sk.Secret...)
	sk.Created = created
	return sk
}

// material returns the private key (or HMAC secret) a stored key holds,
// read from its JWK the way an attacker who stole it, or a test, would.
func material(t testing.TB, sk store.Key) any {
	t.Helper()
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(sk.Secret); err != nil {
		t.Fatalf("key %s: %v", sk.ID, err)
	}
	return jwk.Key
}

// publicOf returns the public key of a private key (an HMAC secret is its
// own).
func publicOf(t testing.TB, priv any) any {
	t.Helper()
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		return k.Public()
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case *rsa.PrivateKey:
		return &k.PublicKey
	case []byte:
		return k
	}
	t.Fatalf("no public key for a %T", priv)
	return nil
}

// method returns golang-jwt's signing method for alg.
func method(alg token.Algorithm) jwt.SigningMethod {
	return jwt.GetSigningMethod(string(alg))
}

// parsedKey returns the token.Key of a stored key.
func parsedKey(t testing.TB, sk store.Key) *token.Key {
	t.Helper()
	k, err := token.ParseKey(sk)
	if err != nil {
		t.Fatalf("ParseKey(%s): %v", sk.ID, err)
	}
	return k
}

// keySetOf returns a fixed key set of stored keys, oldest first.
func keySetOf(t testing.TB, sks ...store.Key) *token.KeySet {
	t.Helper()
	keys := make([]*token.Key, len(sks))
	for i, sk := range sks {
		keys[i] = parsedKey(t, sk)
	}
	set, err := token.NewKeySet(keys...)
	if err != nil {
		t.Fatalf("NewKeySet: %v", err)
	}
	return set
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// signRaw returns the compact JWS of the given header and payload bytes,
// signed with m and key: any header, any payload, as a forger makes them.
func signRaw(t testing.TB, m jwt.SigningMethod, key any, header, payload []byte) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	sig, err := m.Sign(input, key)
	if err != nil {
		t.Fatalf("signing with %s: %v", m.Alg(), err)
	}
	return input + "." + b64(sig)
}

// sign returns a compact JWS of header and claims (JSON-encoded), signed
// with m and key. The header's alg is m's unless header sets it.
func sign(t testing.TB, m jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": m.Alg()}
	for k, v := range header {
		if v == nil {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return signRaw(t, m, key, hb, cb)
}

// accessClaims returns the claims of a good access token issued at now.
// Set a value to nil to leave the claim out.
func accessClaims(now time.Time, changes map[string]any) map[string]any {
	c := map[string]any{
		"iss": testIssuer,
		"aud": []string{testAudience},
		"sub": "alice",
		"jti": "jti-" + now.Format("150405.000000000"),
		"sid": "family-1",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(15 * time.Minute).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// accessHeader returns the header of a good access token signed by kid.
func accessHeader(kid string, changes map[string]any) map[string]any {
	h := map[string]any{"typ": token.AccessTokenType, "kid": kid}
	for k, v := range changes {
		h[k] = v
	}
	return h
}

// decodeHeader returns the JOSE header of a compact JWS.
func decodeHeader(t testing.TB, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	var h map[string]any
	if err := json.Unmarshal(unb64(t, seg), &h); err != nil {
		t.Fatalf("header of %q: %v", tok, err)
	}
	return h
}

// segments returns the three parts of a compact JWS.
func segments(t testing.TB, tok string) [3]string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q has %d parts", tok, len(parts))
	}
	return [3]string{parts[0], parts[1], parts[2]}
}

// flipBit returns the compact JWS with one bit of the decoded segment i
// (0 header, 1 payload, 2 signature) flipped at byte pos, re-encoded, so
// that the change is in the bytes and not only in the encoding.
func flipBit(t testing.TB, tok string, i, pos int) string {
	t.Helper()
	parts := segments(t, tok)
	b := unb64(t, parts[i])
	if pos < 0 {
		pos += len(b)
	}
	b[pos] ^= 0x01
	parts[i] = b64(b)
	return strings.Join(parts[:], ".")
}

// isZero reports whether c is the zero Claims: what every rejection but
// expiry returns.
func isZero(c token.Claims) bool { return reflect.DeepEqual(c, token.Claims{}) }

// mustVerifier returns a Verifier of keys with the test issuer and audience.
func mustVerifier(t testing.TB, keys token.KeySource, opts token.VerifierOptions) *token.Verifier {
	t.Helper()
	if opts.Issuer == "" {
		opts.Issuer = testIssuer
	}
	if opts.Audience == "" {
		opts.Audience = testAudience
	}
	v, err := token.NewVerifier(keys, opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// mustIssuer returns an Issuer signing with keys for the test issuer and
// audience.
func mustIssuer(t testing.TB, keys token.KeySource, opts token.IssuerOptions) *token.Issuer {
	t.Helper()
	if opts.Issuer == "" {
		opts.Issuer = testIssuer
	}
	if opts.Audience == "" {
		opts.Audience = testAudience
	}
	i, err := token.NewIssuer(keys, opts)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return i
}

// issue issues an access token or fails the test.
func issue(t testing.TB, i *token.Issuer, sub, sid string) (string, token.Claims) {
	t.Helper()
	tok, c, err := i.Issue(context.Background(), token.Claims{Subject: sub, Session: sid})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok, c
}

// mustVerify verifies tok or fails the test.
func mustVerify(t testing.TB, v *token.Verifier, tok string) token.Claims {
	t.Helper()
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v\ntoken: %s", err, tok)
	}
	return c
}

// wantRejected fails the test unless err wraps every one of want (ErrInvalid
// always) and its text contains reason.
func wantRejected(t testing.TB, err error, reason string, want ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want an error wrapping %v", append([]error{token.ErrInvalid}, want...))
	}
	for _, w := range append([]error{token.ErrInvalid}, want...) {
		if !errors.Is(err, w) {
			t.Errorf("error %q does not wrap %q", err, w)
		}
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
}

// countingKeys is a store.Keys that counts reads.
type countingKeys struct {
	inner store.Keys
	reads atomic.Int64
}

func (c *countingKeys) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	c.reads.Add(1)
	return c.inner.Keys(ctx, purpose)
}

func (c *countingKeys) AddKey(ctx context.Context, purpose string, k store.Key) error {
	return c.inner.AddKey(ctx, purpose, k)
}

func (c *countingKeys) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	return c.inner.AddFirstKey(ctx, purpose, k)
}

func (c *countingKeys) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	return c.inner.RotateKey(ctx, purpose, k, retire)
}

func (c *countingKeys) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	return c.inner.ReplaceKeySecret(ctx, purpose, id, old, secret)
}

func (c *countingKeys) DeleteKey(ctx context.Context, purpose, id string) error {
	return c.inner.DeleteKey(ctx, purpose, id)
}

// failingKeys is a store.Keys that fails while down is set.
type failingKeys struct {
	inner store.Keys
	down  atomic.Bool
}

var errDown = errors.New("test store is down")

func (f *failingKeys) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.inner.Keys(ctx, purpose)
}

func (f *failingKeys) AddKey(ctx context.Context, purpose string, k store.Key) error {
	if f.down.Load() {
		return errDown
	}
	return f.inner.AddKey(ctx, purpose, k)
}

func (f *failingKeys) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	if f.down.Load() {
		return errDown
	}
	return f.inner.AddFirstKey(ctx, purpose, k)
}

func (f *failingKeys) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	if f.down.Load() {
		return errDown
	}
	return f.inner.RotateKey(ctx, purpose, k, retire)
}

func (f *failingKeys) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	return f.inner.ReplaceKeySecret(ctx, purpose, id, old, secret)
}

func (f *failingKeys) DeleteKey(ctx context.Context, purpose, id string) error {
	return f.inner.DeleteKey(ctx, purpose, id)
}
