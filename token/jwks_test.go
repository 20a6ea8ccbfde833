package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sessionkit/sessionkit/token"
)

// TestJWKSVerifiesElsewhere: another service, holding only the JWKS bytes
// our ring publishes, verifies our tokens.
func TestJWKSVerifiesElsewhere(t *testing.T) {
	for _, alg := range []token.Algorithm{token.EdDSA, token.ES256, token.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			clock := newClock()
			ring, sk := ringWith(t, clock, alg, token.RingOptions{})
			tok, _ := issue(t, mustIssuer(t, ring, token.IssuerOptions{Now: clock.Now}), "alice", "f")

			jwks, err := ring.KeySet().JWKS(clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			assertPublicOnly(t, jwks)

			// The other service.
			set, err := token.ParseJWKS(jwks)
			if err != nil {
				t.Fatalf("ParseJWKS(%s): %v", jwks, err)
			}
			keys := set.Keys()
			if len(keys) != 1 || keys[0].ID != sk.ID || keys[0].Algorithm != alg || keys[0].CanSign() || set.Primary(time.Now()) != nil {
				t.Fatalf("JWKS keys %+v; want %s public key %s", keys, alg, sk.ID)
			}
			v := mustVerifier(t, set, token.VerifierOptions{Now: clock.Now})
			c := mustVerify(t, v, tok)
			if c.Subject != "alice" || c.KeyID != sk.ID {
				t.Errorf("claims %+v", c)
			}
			// And it refuses what our verifier refuses.
			_, err = v.Verify(context.Background(), flipBit(t, tok, 2, 0))
			wantRejected(t, err, "signature")
		})
	}
}

// assertPublicOnly fails when a JWKS carries private or symmetric material,
// or a key without kid, alg and use sig.
func assertPublicOnly(t *testing.T, jwks []byte) {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS %s: %v", jwks, err)
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key has private member %q: %v", private, k)
			}
		}
		if k["kty"] == "oct" {
			t.Errorf("JWKS has a symmetric key: %v", k)
		}
		if k["kid"] == "" || k["alg"] == "" || k["use"] != "sig" {
			t.Errorf("JWKS key without kid, alg or use sig: %v", k)
		}
	}
}

func TestJWKSNeverHasHMACKeys(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ring, _ := ringWith(t, clock, token.HS256, token.RingOptions{})
	jwks, err := ring.KeySet().JWKS(clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if string(jwks) != `{"keys":[]}` {
		t.Errorf("JWKS of an HS256 ring = %s; want no keys", jwks)
	}
	// With an EdDSA key beside it, only that one is published.
	clock.Advance(time.Minute)
	ed, err := ring.Rotate(ctx, token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err = ring.KeySet().JWKS(clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	assertPublicOnly(t, jwks)
	if ids := jwksKIDs(t, ring.KeySet(), clock.Now()); len(ids) != 1 || ids[0] != ed.ID {
		t.Errorf("JWKS has %v; want only the EdDSA key %s", ids, ed.ID)
	}
}

// TestRingJWKS checks Ring.JWKS, what the server publishes: it picks up a
// key another instance added once the reload interval has passed.
func TestRingJWKS(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	a := openRing(t, ms, clock, rotationOpts)
	b := openRing(t, ms, clock, rotationOpts)
	k1 := a.KeySet().Primary(clock.Now())
	k2, err := a.Rotate(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	kids := func(r *token.Ring) string {
		b, err := r.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		set, err := token.ParseJWKS(b)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range set.Keys() {
			ids = append(ids, k.ID)
		}
		return strings.Join(ids, ",")
	}
	if got := kids(b); got != k1.ID {
		t.Errorf("b publishes %s before its reload interval; want K1 only", got)
	}
	clock.Advance(rotationOpts.ReloadInterval)
	if got, want := kids(b), k1.ID+","+k2.ID; got != want {
		t.Errorf("b publishes %s after its reload interval; want %s", got, want)
	}
}

func TestParseJWKSRefuses(t *testing.T) {
	ed := parsedKey(t, cachedKey(t, token.EdDSA, 0, t0))
	edPublic := publicJWK(t, cachedKey(t, token.EdDSA, 0, t0).Secret)
	es := publicJWK(t, cachedKey(t, token.ES256, 0, t0).Secret)
	rs := publicJWK(t, cachedKey(t, token.RS256, 0, t0).Secret)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)

	with := func(jwk map[string]any, changes map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range jwk {
			out[k] = v
		}
		for k, v := range changes {
			if v == nil {
				delete(out, k)
				continue
			}
			out[k] = v
		}
		return out
	}
	jwkOf := func(key any, kid, alg string) map[string]any {
		b, err := (&jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	set := func(keys ...map[string]any) []byte {
		b, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	private := func(alg token.Algorithm) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(cachedKey(t, alg, 0, t0).Secret, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	// The controls: well-formed public keys of each algorithm are read.
	good, err := token.ParseJWKS(set(edPublic, es, rs))
	if err != nil || len(good.Keys()) != 3 {
		t.Fatalf("ParseJWKS of three good keys: %v", err)
	}
	if k := good.Keys()[0]; k.ID != ed.ID || k.Algorithm != token.EdDSA {
		t.Errorf("first key %+v", k)
	}
	if _, err := token.ParseJWKS(set(with(edPublic, map[string]any{"use": nil}))); err != nil {
		t.Errorf("a key without use: %v", err)
	}
	if empty, err := token.ParseJWKS([]byte(`{"keys":[]}`)); err != nil || len(empty.Keys()) != 0 {
		t.Errorf("an empty JWKS: %v", err)
	}

	for _, row := range []struct {
		name string
		jwks []byte
	}{
		{"private EdDSA key", set(private(token.EdDSA))},
		{"private ES256 key", set(private(token.ES256))},
		{"private RS256 key", set(private(token.RS256))},
		{"symmetric key", set(private(token.HS256))},
		{"symmetric key among public ones", set(edPublic, private(token.HS256))},
		{"no kid", set(with(edPublic, map[string]any{"kid": nil}))},
		{"empty kid", set(with(edPublic, map[string]any{"kid": ""}))},
		{"no alg", set(with(edPublic, map[string]any{"alg": nil}))},
		{"alg none", set(with(edPublic, map[string]any{"alg": "none"}))},
		{"Ed25519 key as ES256", set(with(edPublic, map[string]any{"alg": "ES256"}))},
		{"Ed25519 key as HS256", set(with(edPublic, map[string]any{"alg": "HS256"}))},
		{"P-256 key as EdDSA", set(with(es, map[string]any{"alg": "EdDSA"}))},
		{"P-256 key as RS256", set(with(es, map[string]any{"alg": "RS256"}))},
		{"RSA key as HS256", set(with(rs, map[string]any{"alg": "HS256"}))},
		{"RSA key as ES256", set(with(rs, map[string]any{"alg": "ES256"}))},
		{"P-384 key as ES256", set(jwkOf(&p384.PublicKey, "p384", "ES256"))},
		{"1024-bit RSA key", set(jwkOf(&small.PublicKey, "small", "RS256"))},
		{"use enc", set(with(edPublic, map[string]any{"use": "enc"}))},
		{"two keys with one kid", set(edPublic, with(es, map[string]any{"kid": ed.ID}))},
		{"not JSON", []byte(`keys`)},
		{"not a key", set(map[string]any{"kty": "XYZ", "kid": "x", "alg": "EdDSA"})},
	} {
		t.Run(row.name, func(t *testing.T) {
			if s, err := token.ParseJWKS(row.jwks); err == nil {
				t.Errorf("ParseJWKS(%s) accepted %d keys", row.jwks, len(s.Keys()))
			}
		})
	}
}

// publicJWK returns the public half of a stored private JWK, as a map.
func publicJWK(t *testing.T, secret []byte) map[string]any {
	t.Helper()
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(secret); err != nil {
		t.Fatal(err)
	}
	b, err := jwk.Public().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
