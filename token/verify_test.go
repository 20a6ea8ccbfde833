package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// ringWith returns a ring on a fresh memstore whose only key is a cached
// key of alg (RSA keys are slow to make), created at the clock's now.
func ringWith(t testing.TB, clock *fakeclock.Clock, alg token.Algorithm, opts token.RingOptions) (*token.Ring, store.Key) {
	t.Helper()
	ms := newMemstore(t, clock)
	sk := cachedKey(t, alg, 0, clock.Now())
	if err := ms.AddKey(context.Background(), token.DefaultKeyPurpose, sk); err != nil {
		t.Fatal(err)
	}
	opts.Now = clock.Now
	r, err := token.OpenRing(context.Background(), ms, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, sk
}

func TestRoundTrip(t *testing.T) {
	const lifetime = 10 * time.Minute
	for _, alg := range token.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			clock := newClock()
			clock.Advance(1500 * time.Millisecond) // not a whole second
			ring, sk := ringWith(t, clock, alg, token.RingOptions{})
			if p := ring.KeySet().Primary(time.Now()); p == nil || p.ID != sk.ID || p.Algorithm != alg {
				t.Fatalf("primary %+v; want %s key %s", p, alg, sk.ID)
			}
			iss := mustIssuer(t, ring, token.IssuerOptions{Lifetime: lifetime, Now: clock.Now})
			v := mustVerifier(t, ring, token.VerifierOptions{Leeway: -1, Now: clock.Now}) // no leeway

			tok, issued := issue(t, iss, "alice", "family-7")
			got := mustVerify(t, v, tok)

			want := token.Claims{
				Subject: "alice", Session: "family-7", Issuer: testIssuer,
				Audience: []string{testAudience}, KeyID: sk.ID, ID: issued.ID,
			}
			if got.Subject != want.Subject || got.Session != want.Session || got.Issuer != want.Issuer ||
				!slices.Equal(got.Audience, want.Audience) || got.KeyID != want.KeyID || got.ID != want.ID {
				t.Errorf("verified claims %+v\nwant %+v", got, want)
			}
			if len(got.ID) < 20 {
				t.Errorf("jti %q is too short to be unique", got.ID)
			}
			at := t0.Add(time.Second) // the clock, to the second
			if !got.IssuedAt.Equal(at) || !got.NotBefore.Equal(at) || got.Expires.Sub(got.IssuedAt) != lifetime {
				t.Errorf("iat %v nbf %v exp %v; want iat = nbf = %v, exp - iat = %v", got.IssuedAt, got.NotBefore, got.Expires, at, lifetime)
			}
			// What Issue says it signed is what Verify reads.
			if issued.Subject != got.Subject || issued.ID != got.ID || issued.Session != got.Session ||
				issued.Issuer != got.Issuer || !slices.Equal(issued.Audience, got.Audience) || issued.KeyID != got.KeyID ||
				!issued.IssuedAt.Equal(got.IssuedAt) || !issued.NotBefore.Equal(got.NotBefore) || !issued.Expires.Equal(got.Expires) {
				t.Errorf("Issue returned %+v, Verify %+v", issued, got)
			}
			h := decodeHeader(t, tok)
			if h["typ"] != token.AccessTokenType || h["kid"] != sk.ID || h["alg"] != string(alg) || len(h) != 3 {
				t.Errorf("header %v; want exactly alg %s, typ %s, kid %s", h, alg, token.AccessTokenType, sk.ID)
			}

			tok2, c2 := issue(t, iss, "alice", "family-7")
			if tok2 == tok || c2.ID == issued.ID {
				t.Errorf("two tokens share jti %s", c2.ID)
			}

			// Valid until exp, and then expired.
			clock.Set(got.Expires.Add(-time.Second))
			mustVerify(t, v, tok)
			clock.Set(got.Expires)
			_, err := v.Verify(context.Background(), tok)
			wantRejected(t, err, "expired", token.ErrExpired)
		})
	}
}

// TestVerifierLeeway: a zero Leeway is DefaultLeeway, a negative one is
// none: a token is accepted until its exp plus the leeway, and refused
// from then on.
func TestVerifierLeeway(t *testing.T) {
	tests := []struct {
		name   string
		leeway time.Duration
		want   time.Duration // the leeway that applies
	}{
		{"zero is the default", 0, token.DefaultLeeway},
		{"negative is none", -1, 0},
		{"negative minute is none", -time.Minute, 0},
		{"given", 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			ring, _ := ringWith(t, clock, token.EdDSA, token.RingOptions{})
			iss := mustIssuer(t, ring, token.IssuerOptions{Lifetime: time.Minute, Now: clock.Now})
			v := mustVerifier(t, ring, token.VerifierOptions{Leeway: tt.leeway, CacheSize: -1, Now: clock.Now})
			tok, c := issue(t, iss, "alice", "f1")

			clock.Set(c.Expires.Add(tt.want - time.Second))
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Errorf("a second before exp + %v: %v; want accepted", tt.want, err)
			}
			clock.Set(c.Expires.Add(tt.want))
			_, err := v.Verify(context.Background(), tok)
			wantRejected(t, err, "expired", token.ErrExpired)
		})
	}
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ring, _ := ringWith(t, clock, token.EdDSA, token.RingOptions{})
	deny := newMemstore(t, clock)
	iss := mustIssuer(t, ring, token.IssuerOptions{Lifetime: time.Minute, Now: clock.Now})
	v := mustVerifier(t, ring, token.VerifierOptions{DenyList: deny, Leeway: 5 * time.Second, Now: clock.Now})
	// Another instance with the same deny list.
	v2 := mustVerifier(t, ring, token.VerifierOptions{DenyList: deny, Leeway: 5 * time.Second, Now: clock.Now})

	tok, c := issue(t, iss, "alice", "f")
	keep, _ := issue(t, iss, "alice", "f")
	if err := v.Revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*token.Verifier{v, v2} {
		got, err := v.Verify(ctx, tok)
		wantRejected(t, err, "revoked", token.ErrRevoked)
		if !isZero(got) {
			t.Errorf("revoked token gave claims %+v", got)
		}
	}
	mustVerify(t, v, keep)

	// The entry lasts as long as the token would verify: until exp plus
	// the leeway. Then the token is refused as expired.
	denied, err := deny.Denied(ctx, "jwt:"+c.ID)
	if err != nil || !denied {
		t.Fatalf("deny list entry for %s: %v, %v", c.ID, denied, err)
	}
	clock.Set(c.Expires.Add(4 * time.Second))
	_, err = v.Verify(ctx, tok)
	wantRejected(t, err, "revoked", token.ErrRevoked)
	clock.Set(c.Expires.Add(5 * time.Second))
	if denied, _ := deny.Denied(ctx, "jwt:"+c.ID); !denied {
		t.Errorf("deny list entry forgotten at exp + leeway")
	}
	_, err = v.Verify(ctx, tok)
	wantRejected(t, err, "expired", token.ErrExpired)

	noDeny := mustVerifier(t, ring, token.VerifierOptions{Now: clock.Now})
	if err := noDeny.Revoke(ctx, c); err == nil || errors.Is(err, token.ErrInvalid) {
		t.Errorf("Revoke without a deny list: %v", err)
	}
	if err := v.Revoke(ctx, token.Claims{Subject: "alice"}); err == nil {
		t.Errorf("Revoke of claims without jti succeeded")
	}
}

// TestVerifyStoreDown checks that a deny list that cannot answer is not
// taken for a bad token: the error does not wrap ErrInvalid.
func TestVerifyStoreDown(t *testing.T) {
	clock := newClock()
	ring, _ := ringWith(t, clock, token.EdDSA, token.RingOptions{})
	iss := mustIssuer(t, ring, token.IssuerOptions{Now: clock.Now})
	tok, _ := issue(t, iss, "alice", "f")
	v := mustVerifier(t, ring, token.VerifierOptions{DenyList: newMemstore(t, clock), Now: clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := v.Verify(ctx, tok)
	if err == nil || errors.Is(err, token.ErrInvalid) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with the deny list down: %v; want the store's error, not ErrInvalid", err)
	}
	if !isZero(c) {
		t.Errorf("claims returned: %+v", c)
	}
}

func TestNewIssuerVerifierOptions(t *testing.T) {
	set := keySetOf(t, cachedKey(t, token.EdDSA, 0, t0))
	for _, o := range []token.IssuerOptions{{}, {Issuer: "i"}, {Audience: "a"}} {
		if _, err := token.NewIssuer(set, o); err == nil {
			t.Errorf("NewIssuer(%+v) succeeded", o)
		}
	}
	if _, err := token.NewIssuer(nil, token.IssuerOptions{Issuer: "i", Audience: "a"}); err == nil {
		t.Errorf("NewIssuer(nil) succeeded")
	}
	for _, o := range []token.VerifierOptions{{}, {Issuer: "i"}, {Audience: "a"}} {
		if _, err := token.NewVerifier(set, o); err == nil {
			t.Errorf("NewVerifier(%+v) succeeded", o)
		}
	}
	if _, err := token.NewVerifier(nil, token.VerifierOptions{Issuer: "i", Audience: "a"}); err == nil {
		t.Errorf("NewVerifier(nil) succeeded")
	}
	if got := mustIssuer(t, set, token.IssuerOptions{}).Lifetime(); got != token.DefaultAccessLifetime {
		t.Errorf("default lifetime %v", got)
	}
	// Token times are whole seconds: a lifetime under a second would
	// issue tokens already expired.
	if _, err := token.NewIssuer(set, token.IssuerOptions{Issuer: "i", Audience: "a", Lifetime: 999 * time.Millisecond}); err == nil {
		t.Errorf("NewIssuer with a lifetime under a second succeeded")
	}
	if got := mustIssuer(t, set, token.IssuerOptions{Lifetime: time.Second}).Lifetime(); got != time.Second {
		t.Errorf("lifetime of a second: %v", got)
	}

	// A set without a signing key cannot issue.
	jwks, err := set.JWKS(t0)
	if err != nil {
		t.Fatal(err)
	}
	public, err := token.ParseJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mustIssuer(t, public, token.IssuerOptions{}).Issue(context.Background(), token.Claims{Subject: "alice", Session: "f"}); !errors.Is(err, token.ErrNoKey) {
		t.Errorf("Issue with public keys only: %v, want ErrNoKey", err)
	}
}

func TestParseAlgorithm(t *testing.T) {
	for _, a := range token.Algorithms() {
		if got, err := token.ParseAlgorithm(string(a)); got != a || err != nil {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", a, got, err)
		}
	}
	for _, s := range []string{"none", "None", "", "eddsa", "HS384", "RS512", "PS256", "ES384"} {
		if _, err := token.ParseAlgorithm(s); err == nil {
			t.Errorf("ParseAlgorithm(%q) succeeded", s)
		}
	}
	if token.DefaultAlgorithm != token.EdDSA {
		t.Errorf("default algorithm %s", token.DefaultAlgorithm)
	}
}

func TestKeys(t *testing.T) {
	for _, alg := range token.Algorithms() {
		sk := cachedKey(t, alg, 0, t0)
		k := parsedKey(t, sk)
		if k.ID != sk.ID || k.Algorithm != alg || !k.CanSign() || !k.Created.Equal(t0) || !k.Expires.IsZero() {
			t.Errorf("%s: ParseKey gave %+v", alg, k)
		}
		if len(sk.ID) != 12 {
			t.Errorf("%s: kid %q is not 12 characters", alg, sk.ID)
		}
		// The stored secret must name its kid: a key moved under another
		// id is refused.
		moved := sk
		moved.ID = "other"
		if _, err := token.ParseKey(moved); err == nil {
			t.Errorf("%s: ParseKey of a key stored under another id succeeded", alg)
		}
	}
	if _, err := token.GenerateKey("none", t0); err == nil {
		t.Errorf("GenerateKey(none) succeeded")
	}
	for name, secret := range map[string]string{
		"not JSON":   `kid`,
		"no kid":     `{"kty":"oct","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`,
		"no alg":     `{"kty":"oct","kid":"k","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`,
		"alg none":   `{"kty":"oct","kid":"k","alg":"none","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`,
		"short HMAC": `{"kty":"oct","kid":"k","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}`,
		"HMAC as ES": `{"kty":"oct","kid":"k","alg":"ES256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`,
		"use enc":    `{"kty":"oct","kid":"k","alg":"HS256","use":"enc","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`,
		"public":     `{"kty":"OKP","crv":"Ed25519","kid":"k","alg":"EdDSA","x":"` + rfc8037X + `"}`,
	} {
		if _, err := token.ParseKey(store.Key{ID: "k", Secret: []byte(secret)}); err == nil {
			t.Errorf("ParseKey(%s) succeeded", name)
		}
	}
	// The control: the same HMAC key, well formed.
	parsedKey(t, store.Key{ID: "k", Secret: []byte(`{"kty":"oct","kid":"k","alg":"HS256","use":"sig","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`)})

	a := parsedKey(t, cachedKey(t, token.EdDSA, 0, t0))
	if _, err := token.NewKeySet(a, a); err == nil {
		t.Errorf("NewKeySet with a duplicate kid succeeded")
	}
	if _, err := token.NewKeySet(a, nil); err == nil {
		t.Errorf("NewKeySet with a nil key succeeded")
	}
}

// TestSignatureSpelling: base64url leaves spare bits in the last character
// of the signature; a token whose signature is spelled with other spare
// bits decodes to the same bytes but is refused, so that exactly one
// string is each token.
func TestSignatureSpelling(t *testing.T) {
	clock := newClock()
	ring := openRing(t, newMemstore(t, clock), clock, token.RingOptions{})
	v := mustVerifier(t, ring, token.VerifierOptions{Now: clock.Now})
	tok, _ := issue(t, mustIssuer(t, ring, token.IssuerOptions{Now: clock.Now}), "alice", "sid")
	mustVerify(t, v, tok)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	// An Ed25519 signature is 64 bytes: 86 characters, the last carrying 2
	// bits of signature and 4 spare bits.
	other := tok[:len(tok)-1] + string(alphabet[last^1])
	if unb64(t, segments(t, other)[2]) == nil || string(unb64(t, segments(t, other)[2])) != string(unb64(t, segments(t, tok)[2])) {
		t.Fatal("test bug: the respelled signature does not decode to the same bytes")
	}
	_, err := v.Verify(context.Background(), other)
	wantRejected(t, err, "canonical")
}

// TestVerifyRemembersTokens: a token presented again is not parsed again,
// but everything that can change between two presentations is checked
// each time: the deny list, the token's times, and whether its key is
// still in the ring. The claims returned are the caller's own.
func TestVerifyRemembersTokens(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	ring := openRing(t, ms, clock, token.RingOptions{})
	iss := mustIssuer(t, ring, token.IssuerOptions{Lifetime: time.Minute, Now: clock.Now})
	v := mustVerifier(t, ring, token.VerifierOptions{DenyList: ms, Now: clock.Now})

	revoked, _ := issue(t, iss, "alice", "f1")
	expiring, _ := issue(t, iss, "bob", "f2")
	c := mustVerify(t, v, revoked)
	mustVerify(t, v, expiring)

	if allocs := testing.AllocsPerRun(20, func() { v.Verify(ctx, expiring) }); allocs > 15 {
		t.Errorf("verifying a remembered token made %.0f allocations: it was parsed again", allocs)
	}

	c.Audience[0] = "changed by the caller"
	if again := mustVerify(t, v, revoked); again.Audience[0] != testAudience {
		t.Errorf("audience %q: the caller's change reached the remembered claims", again.Audience)
	}
	if err := v.Revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(ctx, revoked)
	wantRejected(t, err, "revoked", token.ErrRevoked)

	clock.Advance(time.Minute + token.DefaultLeeway)
	got, err := v.Verify(ctx, expiring)
	wantRejected(t, err, "expired", token.ErrExpired)
	if got.Subject != "bob" {
		t.Errorf("expired token's claims: %+v", got)
	}

	// A key removed from the store and the ring stops verifying the
	// tokens it signed, remembered or not.
	fresh, fc := issue(t, iss, "carol", "f3")
	mustVerify(t, v, fresh)
	if err := ms.DeleteKey(ctx, token.DefaultKeyPurpose, fc.KeyID); err != nil {
		t.Fatal(err)
	}
	if err := ring.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ctx, fresh)
	wantRejected(t, err, "unknown kid")

	// Without a cache, the same answers.
	none := mustVerifier(t, ring, token.VerifierOptions{DenyList: ms, Now: clock.Now, CacheSize: -1})
	_, err = none.Verify(ctx, fresh)
	wantRejected(t, err, "unknown kid")
}

// retiredSet returns a fixed key set of a key a (EdDSA) that retires at
// retires and a live key b (ES256), with their stored keys.
func retiredSet(t *testing.T, retires time.Time) (*token.KeySet, store.Key, store.Key) {
	t.Helper()
	a, b := cachedKey(t, token.EdDSA, 0, t0), cachedKey(t, token.ES256, 0, t0)
	ka, kb := parsedKey(t, a), parsedKey(t, b)
	ka.Expires = retires
	set, err := token.NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	return set, a, b
}

// TestVerifyRetiredKey: a key retires once every token it signed has
// expired. A token it signed is then refused as expired, with its claims,
// as a token past its exp is: the client refreshes, and a logout still
// finds the login its sid names. Only a signature that verifies gets that
// answer: a forged token under a retired key's kid is only invalid.
func TestVerifyRetiredKey(t *testing.T) {
	ctx := context.Background()
	for _, cache := range []int{0, -1} {
		t.Run(fmt.Sprintf("cache %d", cache), func(t *testing.T) {
			clock := newClock()
			retires := t0.Add(time.Minute)
			set, a, b := retiredSet(t, retires)
			v := mustVerifier(t, set, token.VerifierOptions{Now: clock.Now, CacheSize: cache})

			// Issued by a, with a's own set, just before it retired; valid
			// for 15 minutes by its exp.
			clock.Set(retires.Add(-time.Second))
			tok, issued := issue(t, mustIssuer(t, keySetOf(t, a), token.IssuerOptions{Now: clock.Now}), "alice", "login-1")
			mustVerify(t, v, tok) // and remembered, with a cache
			clock.Set(retires)

			_, attacker, _ := ed25519.GenerateKey(rand.Reader)
			now := clock.Now()
			for _, row := range []struct {
				name    string
				tok     string
				expired bool   // ErrExpired, with claims
				why     string // what the error says
			}{
				{"signed by the retired key", tok, true, "retired"},
				{"signed by the retired key, past its exp too", sign(t, method(token.EdDSA), material(t, a), accessHeader(a.ID, nil),
					accessClaims(now.Add(-20*time.Minute), map[string]any{"sid": "login-1"})), true, "retired"},
				{"signed by the retired key, without kid", sign(t, method(token.EdDSA), material(t, a), accessHeader(a.ID, map[string]any{"kid": nil}),
					accessClaims(now, map[string]any{"sid": "login-1"})), false, "no kid"},
				{"retired key's kid, signed by another key", sign(t, method(token.EdDSA), attacker, accessHeader(a.ID, nil),
					accessClaims(now, map[string]any{"sid": "login-1"})), false, "signature"},
				{"retired key's kid, signature changed", flipBit(t, tok, 2, 5), false, "signature"},
				{"retired key's kid, payload changed", flipBit(t, tok, 1, 3), false, ""},
				{"signed by the retired key for another audience", sign(t, method(token.EdDSA), material(t, a), accessHeader(a.ID, nil),
					accessClaims(now, map[string]any{"sid": "login-1", "aud": "another-api"})), false, "audience"},
				{"signed by the retired key, not yet valid", sign(t, method(token.EdDSA), material(t, a), accessHeader(a.ID, nil),
					accessClaims(now, map[string]any{"sid": "login-1", "nbf": now.Add(time.Hour).Unix()})), false, "not valid yet"},
				{"unknown kid", sign(t, method(token.EdDSA), material(t, a), accessHeader("no-such-key", nil),
					accessClaims(now, map[string]any{"sid": "login-1"})), false, "unknown kid"},
			} {
				t.Run(row.name, func(t *testing.T) {
					c, err := v.Verify(ctx, row.tok)
					if row.expired {
						wantRejected(t, err, row.why, token.ErrExpired)
						if c.Session != "login-1" || c.Subject != "alice" || c.KeyID != a.ID {
							t.Errorf("claims %+v; want alice's, of login-1, kid %s", c, a.ID)
						}
						return
					}
					wantRejected(t, err, row.why)
					if errors.Is(err, token.ErrExpired) || !isZero(c) {
						t.Errorf("%+v, %v; want only ErrInvalid, without claims", c, err)
					}
				})
			}
			if c, err := v.Verify(ctx, tok); c.ID != issued.ID || !errors.Is(err, token.ErrExpired) {
				t.Errorf("again: %+v, %v; want the issued claims and ErrExpired", c, err)
			}

			// A JWS that is not an access token has no expiry to report:
			// VerifySignature refuses the retired key.
			if _, err := v.VerifySignature(ctx, tok); !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrExpired) {
				t.Errorf("VerifySignature of the retired key's token: %v; want ErrInvalid only", err)
			}
			// The control: the live key's tokens verify.
			mustVerify(t, v, issueWith(t, b, clock))
		})
	}
}

// issueWith returns a token signed by sk at the clock's now.
func issueWith(t *testing.T, sk store.Key, clock *fakeclock.Clock) string {
	t.Helper()
	tok, _ := issue(t, mustIssuer(t, keySetOf(t, sk), token.IssuerOptions{Now: clock.Now}), "alice", "login-1")
	return tok
}

// TestKeyPublicKey: a service can verify tokens with golang-jwt itself,
// given a key's public key and method; the key it gets is a copy.
func TestKeyPublicKey(t *testing.T) {
	clock := newClock()
	for _, alg := range token.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			sk := cachedKey(t, alg, 0, t0)
			tok, _ := issue(t, mustIssuer(t, keySetOf(t, sk), token.IssuerOptions{Now: clock.Now}), "alice", "login-1")
			for _, k := range publicAndPrivate(t, sk) {
				if got := k.Method(); got == nil || got.Alg() != string(alg) {
					t.Fatalf("Method() = %v; want %s", got, alg)
				}
				pub := k.PublicKey()
				if alg == token.HS256 {
					if pub != nil {
						t.Errorf("PublicKey of an HS256 key = %T; want nil", pub)
					}
					continue
				}
				if want := publicOf(t, material(t, sk)); !reflect.DeepEqual(pub, want) {
					t.Fatalf("PublicKey() = %T %v; want %v", pub, pub, want)
				}
				parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil },
					jwt.WithValidMethods([]string{k.Method().Alg()}), jwt.WithTimeFunc(clock.Now))
				if err != nil || !parsed.Valid {
					t.Fatalf("jwt.Parse with PublicKey: %v", err)
				}
				// Spoil the copy: the key still verifies.
				switch p := pub.(type) {
				case ed25519.PublicKey:
					p[0] ^= 1
				case *ecdsa.PublicKey:
					*p = ecdsa.PublicKey{}
				case *rsa.PublicKey:
					p.N.SetInt64(1) // the big.Int, shared by a shallow copy
				}
				if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return k.PublicKey(), nil },
					jwt.WithValidMethods([]string{k.Method().Alg()}), jwt.WithTimeFunc(clock.Now)); err != nil {
					t.Errorf("after changing the key PublicKey returned: %v", err)
				}
			}
		})
	}
}

// publicAndPrivate returns sk's key as ParseKey reads it and, unless it
// is symmetric, as ParseJWKS reads it from a JWKS.
func publicAndPrivate(t *testing.T, sk store.Key) []*token.Key {
	t.Helper()
	k := parsedKey(t, sk)
	if k.Algorithm == token.HS256 {
		return []*token.Key{k}
	}
	set := keySetOf(t, sk)
	jwks, err := set.JWKS(t0)
	if err != nil {
		t.Fatal(err)
	}
	public, err := token.ParseJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	return []*token.Key{k, public.Keys()[0]}
}
