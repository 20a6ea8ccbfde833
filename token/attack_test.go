package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// attackEnv is a ring with a key of every algorithm, one of them retired,
// and a verifier with a deny list, as a server has them.
type attackEnv struct {
	clock  *fakeclock.Clock
	store  *memstore.Store
	ring   *token.Ring
	issuer *token.Issuer
	v      *token.Verifier
	now    time.Time

	old            store.Key // EdDSA, the ring's first key, retired by now
	rs, es, hs, ed store.Key // live; ed is the primary

	attackerEd ed25519.PrivateKey
	attackerES *ecdsa.PrivateKey
}

const (
	attackLeeway   = 30 * time.Second
	attackLifetime = 15 * time.Minute
)

func newAttackEnv(t *testing.T) *attackEnv {
	t.Helper()
	ctx := context.Background()
	e := &attackEnv{clock: newClock()}
	e.store = newMemstore(t, e.clock)
	var err error
	// The ring generates its first key (EdDSA) at t0; a key retires
	// 1m+15m+30s after its successor was created.
	e.ring, err = token.OpenRing(ctx, e.store, token.RingOptions{
		TokenLifetime:  attackLifetime,
		Leeway:         attackLeeway,
		ReloadInterval: time.Minute,
		Now:            e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each key is added as a rotation stores it: signing a reload interval
	// after its creation, the keys before it retiring the token lifetime
	// and leeway after that.
	add := func(sk store.Key) store.Key {
		sk.SignsFrom = sk.Created.Add(time.Minute)
		retire := sk.SignsFrom.Add(attackLifetime + attackLeeway)
		if err := e.store.RotateKey(ctx, token.DefaultKeyPurpose, sk, retire); err != nil {
			t.Fatal(err)
		}
		return sk
	}
	e.rs = add(cachedKey(t, token.RS256, 0, e.clock.Advance(20*time.Minute))) // retires the first key at t0+36m30s
	e.es = add(cachedKey(t, token.ES256, 0, e.clock.Advance(20*time.Minute))) // t0+40m
	e.hs = add(cachedKey(t, token.HS256, 0, e.clock.Advance(time.Minute)))    // t0+41m
	e.clock.Advance(3 * time.Minute)
	k, err := e.ring.Rotate(ctx, token.EdDSA) // t0+44m
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.clock.Advance(e.ring.PublishDelay()) // t0+50m30s: the new key signs
	stored, err := e.store.Keys(ctx, token.DefaultKeyPurpose)
	if err != nil || len(stored) != 5 {
		t.Fatalf("store has %d keys, %v; want 5", len(stored), err)
	}
	e.old, e.ed = stored[0], stored[4]
	if e.ed.ID != k.ID {
		t.Fatalf("newest stored key %s is not the rotated %s", e.ed.ID, k.ID)
	}
	for _, k := range e.ring.KeySet().Keys() {
		retired := !k.Expires.IsZero() && !e.now.Before(k.Expires)
		if retired != (k.ID == e.old.ID) {
			t.Fatalf("key %s (%s) expires %v; at %v only the first key should be retired", k.ID, k.Algorithm, k.Expires, e.now)
		}
	}
	e.issuer = mustIssuer(t, e.ring, token.IssuerOptions{Lifetime: attackLifetime, Now: e.clock.Now})
	e.v = mustVerifier(t, e.ring, token.VerifierOptions{Leeway: attackLeeway, DenyList: e.store, Now: e.clock.Now})
	_, e.attackerEd, _ = ed25519.GenerateKey(rand.Reader)
	e.attackerES, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return e
}

// forge returns a token signed with sk's own algorithm and private key,
// naming sk's kid, with a good access-token header and claims, changed as
// given (nil removes a member).
func (e *attackEnv) forge(t *testing.T, sk store.Key, header, claims map[string]any) string {
	t.Helper()
	alg := token.Algorithm(parsedKey(t, sk).Algorithm)
	return sign(t, method(alg), material(t, sk), accessHeader(sk.ID, header), accessClaims(e.now, claims))
}

// TestForgeControl is the positive control of the attack table: the
// forging helper, without an attack, makes tokens that verify, with every
// live key; so each attack row is refused for its attack.
func TestForgeControl(t *testing.T) {
	e := newAttackEnv(t)
	for _, sk := range []store.Key{e.rs, e.es, e.hs, e.ed} {
		c := mustVerify(t, e.v, e.forge(t, sk, nil, nil))
		if c.KeyID != sk.ID || c.Subject != "alice" || c.Session != "family-1" {
			t.Errorf("claims %+v; want alice, family-1, kid %s", c, sk.ID)
		}
	}
	// A token without kid is accepted by a set of one key (RFC 7515 makes
	// kid optional), so the "no kid" row is refused because the ring has
	// several.
	one := mustVerifier(t, keySetOf(t, e.ed), token.VerifierOptions{Now: e.clock.Now})
	mustVerify(t, one, e.forge(t, e.ed, map[string]any{"kid": nil}, nil))
	// A header naming an unknown parameter the JOSE way is refused only
	// because of what the parameter is (see the jku/x5u rows).
	mustVerify(t, e.v, e.forge(t, e.ed, map[string]any{"cty": "JWT"}, nil))
	// A large token under the limit verifies.
	big := e.forge(t, e.ed, nil, map[string]any{"pad": strings.Repeat("x", 5000)})
	if len(big) > token.MaxTokenSize {
		t.Fatalf("control token is %d bytes", len(big))
	}
	mustVerify(t, e.v, big)
}

func TestVerifyAttacks(t *testing.T) {
	ctx := context.Background()
	e := newAttackEnv(t)
	now := e.now

	good := e.forge(t, e.ed, nil, nil)
	parts := segments(t, good)
	other := e.forge(t, e.ed, nil, map[string]any{"sub": "mallory"})

	none := func() string {
		tk := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(accessClaims(now, nil)))
		tk.Header["kid"] = e.ed.ID
		tk.Header["typ"] = token.AccessTokenType
		s, err := tk.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()

	rsaPub := publicOf(t, material(t, e.rs))
	pkixDER, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(rsaPub.(*rsa.PublicKey))
	hsWith := func(secret []byte, kid string) string {
		return sign(t, jwt.SigningMethodHS256, secret, accessHeader(kid, nil), accessClaims(now, nil))
	}

	attackerJWK := func(pub any) map[string]any {
		var m map[string]any
		b, err := (&jose.JSONWebKey{Key: pub}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cert := selfSigned(t, e.attackerES)
	x5c := []string{base64.StdEncoding.EncodeToString(cert)}

	issued, issuedClaims := issue(t, e.issuer, "alice", "family-1")
	revoked, revokedClaims := issue(t, e.issuer, "alice", "family-1")
	if err := e.v.Revoke(ctx, revokedClaims); err != nil {
		t.Fatal(err)
	}
	if issuedClaims.KeyID != e.ed.ID {
		t.Fatalf("issued with %s, want the primary %s", issuedClaims.KeyID, e.ed.ID)
	}

	expired := accessClaims(now.Add(-attackLifetime-attackLeeway-time.Second), nil)

	// withMember returns good's payload with a member added at its end,
	// signed by our primary key: JSON that a map cannot make.
	withMember := func(member string) string {
		p := unb64(t, parts[1])
		p = append(p[:len(p)-1], ","+member+"}"...)
		return signRaw(t, jwt.SigningMethodEdDSA, material(t, e.ed), unb64(t, parts[0]), p)
	}

	rows := []struct {
		name string
		tok  string
		why  string  // what the error says
		errs []error // what it wraps besides ErrInvalid
	}{
		{"alg none", none, `"none"`, nil},
		{"alg none with a real signature", signRaw(t, jwt.SigningMethodEdDSA, material(t, e.ed),
			[]byte(`{"alg":"none","kid":"`+e.ed.ID+`","typ":"at+jwt"}`), unb64(t, parts[1])), `"none"`, nil},
		{"ES256 header, EdDSA key's kid", sign(t, jwt.SigningMethodES256, e.attackerES,
			accessHeader(e.ed.ID, nil), accessClaims(now, nil)), `differs`, nil},
		{"RS256 key's kid, HS256 with its public key (PKIX PEM)",
			hsWith(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixDER}), e.rs.ID), "differs", nil},
		{"RS256 key's kid, HS256 with its public key (PKCS#1 PEM)",
			hsWith(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1}), e.rs.ID), "differs", nil},
		{"RS256 key's kid, HS256 with its public key (PKIX DER)", hsWith(pkixDER, e.rs.ID), "differs", nil},
		{"RS256 key's kid, HS256 with its public key (PKCS#1 DER)", hsWith(pkcs1, e.rs.ID), "differs", nil},
		{"EdDSA key's kid, HS256 with its public key", hsWith(publicOf(t, material(t, e.ed)).(ed25519.PublicKey), e.ed.ID), "differs", nil},
		{"unknown kid", e.forge(t, e.ed, map[string]any{"kid": "no-such-key"}, nil), "unknown kid", nil},
		{"no kid, several keys", e.forge(t, e.ed, map[string]any{"kid": nil}, nil), "no kid", nil},
		{"jku", e.forge(t, e.ed, map[string]any{"jku": "https://attacker.example/jwks.json"}, nil), `"jku"`, nil},
		{"x5u", e.forge(t, e.ed, map[string]any{"x5u": "https://attacker.example/cert.pem"}, nil), `"x5u"`, nil},
		{"x5c, signed by our key", e.forge(t, e.ed, map[string]any{"x5c": x5c}, nil), "x5c", nil},
		{"x5c, signed by the certificate's key", sign(t, jwt.SigningMethodES256, e.attackerES,
			accessHeader(e.es.ID, map[string]any{"x5c": x5c}), accessClaims(now, nil)), "x5c", nil},
		{"jwk of the attacker who signed, our kid", sign(t, jwt.SigningMethodEdDSA, e.attackerEd,
			accessHeader(e.ed.ID, map[string]any{"jwk": attackerJWK(e.attackerEd.Public())}), accessClaims(now, nil)), "jwk", nil},
		{"jwk of the attacker who signed, no kid", sign(t, jwt.SigningMethodEdDSA, e.attackerEd,
			map[string]any{"typ": token.AccessTokenType, "jwk": attackerJWK(e.attackerEd.Public())}, accessClaims(now, nil)), "jwk", nil},
		{"jwk, signed by our key", e.forge(t, e.ed, map[string]any{"jwk": attackerJWK(e.attackerEd.Public())}, nil), "jwk", nil},
		{"crit", e.forge(t, e.ed, map[string]any{"crit": []string{"exp"}, "exp": now.Unix()}, nil), "is not accepted", nil},
		{"unencoded payload (b64 false)", e.forge(t, e.ed, map[string]any{"crit": []string{"b64"}, "b64": false}, nil), "is not accepted", nil},
		{"nonce", e.forge(t, e.ed, map[string]any{"nonce": "n"}, nil), "nonce", nil},
		{"typ JWT", e.forge(t, e.ed, map[string]any{"typ": "JWT"}, nil), "typ", nil},
		{"no typ", sign(t, jwt.SigningMethodEdDSA, material(t, e.ed), map[string]any{"kid": e.ed.ID}, accessClaims(now, nil)), "typ", nil},
		{"typ not a string", e.forge(t, e.ed, map[string]any{"typ": 1}, nil), "typ", nil},
		{"expired and wrong iss", e.forge(t, e.ed, nil, map[string]any{"iss": "https://evil.example",
			"iat": expired["iat"], "nbf": expired["nbf"], "exp": expired["exp"]}), "", nil},
		{"nbf beyond leeway", e.forge(t, e.ed, nil, map[string]any{"nbf": now.Add(attackLeeway + time.Second).Unix()}), "not valid yet", nil},
		{"iat in the future beyond leeway", e.forge(t, e.ed, nil, map[string]any{"iat": now.Add(attackLeeway + time.Second).Unix()}), "before issued", nil},
		{"wrong iss", e.forge(t, e.ed, nil, map[string]any{"iss": "https://evil.example"}), "issuer", nil},
		{"no iss", e.forge(t, e.ed, nil, map[string]any{"iss": nil}), "iss", nil},
		{"wrong aud", e.forge(t, e.ed, nil, map[string]any{"aud": []string{"another-api"}}), "audience", nil},
		{"no aud", e.forge(t, e.ed, nil, map[string]any{"aud": nil}), "aud", nil},
		{"no exp", e.forge(t, e.ed, nil, map[string]any{"exp": nil}), "exp", nil},
		{"exp not a number", e.forge(t, e.ed, nil, map[string]any{"exp": "tomorrow"}), "claims", nil},
		{"no jti", e.forge(t, e.ed, nil, map[string]any{"jti": nil}), "sub, jti or sid missing", nil},
		{"no sub", e.forge(t, e.ed, nil, map[string]any{"sub": nil}), "sub, jti or sid missing", nil},
		{"empty sub", e.forge(t, e.ed, nil, map[string]any{"sub": ""}), "sub, jti or sid missing", nil},
		{"no sid", e.forge(t, e.ed, nil, map[string]any{"sid": nil}), "sub, jti or sid missing", nil},
		{"cut in the header", good[:len(parts[0])-5], "three parts", nil},
		{"cut in the payload", good[:len(parts[0])+1+len(parts[1])/2], "three parts", nil},
		{"cut in the signature", good[:len(good)-4], "signature", nil},
		{"two parts", parts[0] + "." + parts[1], "three parts", nil},
		{"empty signature", parts[0] + "." + parts[1] + ".", "signature", nil},
		{"four parts", good + "." + parts[2], "three parts", nil},
		{"empty", "", "not a compact JWS", nil},
		{"100 KB", e.forge(t, e.ed, nil, map[string]any{"pad": strings.Repeat("x", 100<<10)}), "longer than", nil},
		{"bad base64 in the header", corrupt(parts, 0, "*"), "illegal base64", nil},
		{"bad base64 in the payload", corrupt(parts, 1, "*"), "illegal base64", nil},
		{"bad base64 in the signature", corrupt(parts, 2, "*"), "illegal base64", nil},
		{"standard base64 in the signature", corrupt(parts, 2, "+"), "illegal base64", nil},
		{"padding on the signature", good + "==", "illegal base64", nil},
		{"header not JSON", b64([]byte("not json")) + "." + parts[1] + "." + parts[2], "not a compact JWS", nil},
		{"payload not JSON", signRaw(t, jwt.SigningMethodEdDSA, material(t, e.ed),
			unb64(t, parts[0]), []byte("not json")), "not a JSON object", nil},
		{"payload a JSON array", signRaw(t, jwt.SigningMethodEdDSA, material(t, e.ed),
			unb64(t, parts[0]), []byte(`["alice"]`)), "not a JSON object", nil},
		{"signature of another token", parts[0] + "." + parts[1] + "." + segments(t, other)[2], "signature", nil},
		{"our kid, signed by an attacker's key", sign(t, jwt.SigningMethodES256, e.attackerES,
			accessHeader(e.es.ID, nil), accessClaims(now, nil)), "signature", nil},
		{"a retired key's kid, signed by an attacker's key", sign(t, jwt.SigningMethodEdDSA, e.attackerEd,
			accessHeader(e.old.ID, nil), accessClaims(now, nil)), "signature", nil},
		{"deny-listed", revoked, "revoked", []error{token.ErrRevoked}},
		{"sub twice", withMember(`"sub":"mallory"`), `duplicate object member name "sub"`, nil},
		{"sid twice", withMember(`"sid":"family-2"`), `duplicate object member name "sid"`, nil},
		{"a custom claim twice", withMember(`"role":"user","role":"admin"`), `duplicate object member name "role"`, nil},
		{"SUB beside sub", e.forge(t, e.ed, nil, map[string]any{"SUB": "mallory"}), "only in case", nil},
		{"Sid beside sid", e.forge(t, e.ed, nil, map[string]any{"Sid": "family-2"}), "only in case", nil},
		{"sub with a long s", e.forge(t, e.ed, nil, map[string]any{"\u017fub": "mallory"}), "only in case", nil},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			c, err := e.v.Verify(ctx, row.tok)
			wantRejected(t, err, row.why, row.errs...)
			if errors.Is(err, token.ErrExpired) {
				t.Errorf("error %q wraps ErrExpired", err)
			}
			if !slices.Contains(row.errs, token.ErrRevoked) && errors.Is(err, token.ErrRevoked) {
				t.Errorf("error %q wraps ErrRevoked", err)
			}
			if !isZero(c) {
				t.Errorf("claims returned: %+v", c)
			}
		})
	}

	t.Run("expired beyond leeway", func(t *testing.T) {
		tok := e.forge(t, e.ed, nil, map[string]any{"iat": expired["iat"], "nbf": expired["nbf"], "exp": expired["exp"]})
		c, err := e.v.Verify(ctx, tok)
		wantRejected(t, err, "expired", token.ErrExpired)
		if errors.Is(err, token.ErrRevoked) {
			t.Errorf("error %q wraps ErrRevoked", err)
		}
		// An authentic expired token gives its claims, so the caller can
		// send the client to refresh.
		if c.Subject != "alice" || c.Session != "family-1" || c.KeyID != e.ed.ID ||
			c.Expires.Unix() != expired["exp"] {
			t.Errorf("claims %+v; want alice's, of family-1, kid %s, expiring %d", c, e.ed.ID, expired["exp"])
		}
	})

	t.Run("signed by a retired key", func(t *testing.T) {
		// A key retires once every token it signed has expired: a token
		// it signed is expired, whatever its exp says, and the client is
		// sent to refresh, not to log in.
		c, err := e.v.Verify(ctx, e.forge(t, e.old, nil, nil))
		wantRejected(t, err, "retired", token.ErrExpired)
		if errors.Is(err, token.ErrRevoked) {
			t.Errorf("error %q wraps ErrRevoked", err)
		}
		if c.Subject != "alice" || c.Session != "family-1" || c.KeyID != e.old.ID {
			t.Errorf("claims %+v; want alice's, of family-1, kid %s", c, e.old.ID)
		}
	})

	// The tokens the table revoked and spliced are themselves fine, and
	// so is a member added once.
	if c := mustVerify(t, e.v, withMember(`"role":"user"`)); string(c.Extra["role"]) != `"user"` {
		t.Errorf("custom claims %s; want role user", c.Extra)
	}
	mustVerify(t, e.v, issued)
	mustVerify(t, e.v, other)
	mustVerify(t, e.v, good)
}

// TestVerifyAcceptsWithinLeeway is the other side of the time rows above:
// clocks that disagree by less than the leeway are not an attack.
func TestVerifyAcceptsWithinLeeway(t *testing.T) {
	e := newAttackEnv(t)
	now := e.now
	within := attackLeeway - time.Second
	expiredWithin := accessClaims(now.Add(-attackLifetime-within), nil)
	for _, row := range []struct {
		name   string
		header map[string]any
		claims map[string]any
	}{
		{"exp within leeway", nil, map[string]any{"iat": expiredWithin["iat"], "nbf": expiredWithin["nbf"], "exp": expiredWithin["exp"]}},
		{"nbf within leeway", nil, map[string]any{"nbf": now.Add(within).Unix()}},
		{"iat within leeway", nil, map[string]any{"iat": now.Add(within).Unix(), "nbf": now.Add(within).Unix()}},
		{"no nbf", nil, map[string]any{"nbf": nil}},
		{"typ in full", map[string]any{"typ": "application/at+jwt"}, nil},
		{"typ in capitals", map[string]any{"typ": "AT+JWT"}, nil},
		{"aud a string", nil, map[string]any{"aud": testAudience}},
		{"aud among others", nil, map[string]any{"aud": []string{"another-api", testAudience}}},
	} {
		t.Run(row.name, func(t *testing.T) {
			c := mustVerify(t, e.v, e.forge(t, e.ed, row.header, row.claims))
			if c.Subject != "alice" {
				t.Errorf("subject %q", c.Subject)
			}
		})
	}
}

// corrupt returns the token with a character in the middle of segment i
// replaced by s.
func corrupt(parts [3]string, i int, s string) string {
	p := parts
	mid := len(p[i]) / 2
	p[i] = p[i][:mid] + s + p[i][mid+1:]
	return strings.Join(p[:], ".")
}

// selfSigned returns a DER certificate for key, signed by itself.
func selfSigned(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     t0.Add(1000 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
