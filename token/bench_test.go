package token_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// The benchmarks come in pairs: Sign and Verify through our Issuer and
// Verifier, and GolangJWTSign and GolangJWTVerify doing the same with
// golang-jwt alone (same key, same header, same claims, same checks), so
// that one run shows what our JWS parsing, header checks and key lookup
// cost on top of the signature.
//
//	go test -run '^$' -bench . -benchtime 200ms ./token

// benchClaims are the claims our tokens carry, for golang-jwt alone.
type benchClaims struct {
	jwt.RegisteredClaims
	Session string `json:"sid,omitempty"`
}

func benchIssuer(b *testing.B, alg token.Algorithm) (*token.KeySet, *token.Issuer) {
	set := keySetOf(b, cachedKey(b, alg, 0, t0))
	return set, mustIssuer(b, set, token.IssuerOptions{})
}

func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	for _, alg := range token.Algorithms() {
		b.Run(string(alg), func(b *testing.B) {
			_, iss := benchIssuer(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := iss.Issue(ctx, token.Claims{Subject: "alice", Session: "family-1"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, alg token.Algorithm, opts token.VerifierOptions) {
		set, iss := benchIssuer(b, alg)
		tok, _ := issue(b, iss, "alice", "family-1")
		opts.Leeway = token.DefaultLeeway
		v := mustVerifier(b, set, opts)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	}
	// The token is the same on every iteration, as a client presents its
	// token on every request: after the first, Verify finds it in its
	// cache. The "uncached" runs parse and check it every time, as the
	// GolangJWTVerify runs do.
	for _, alg := range token.Algorithms() {
		b.Run(string(alg), func(b *testing.B) { run(b, alg, token.VerifierOptions{}) })
		b.Run(string(alg)+"-uncached", func(b *testing.B) { run(b, alg, token.VerifierOptions{CacheSize: -1}) })
	}
	b.Run("EdDSA-denylist", func(b *testing.B) {
		deny := memstore.New(memstore.Options{})
		defer deny.Close()
		run(b, token.EdDSA, token.VerifierOptions{DenyList: deny})
	})
}

func BenchmarkGolangJWTSign(b *testing.B) {
	for _, alg := range token.Algorithms() {
		b.Run(string(alg), func(b *testing.B) {
			sk := cachedKey(b, alg, 0, t0)
			priv := material(b, sk)
			m := method(alg)
			b.ReportAllocs()
			for b.Loop() {
				// The same work as Issue: the time, a random jti, the claims.
				now := time.Now().Truncate(time.Second)
				var jti [16]byte
				_, _ = rand.Read(jti[:])
				c := benchClaims{
					RegisteredClaims: jwt.RegisteredClaims{
						Issuer:    testIssuer,
						Subject:   "alice",
						Audience:  jwt.ClaimStrings{testAudience},
						ExpiresAt: jwt.NewNumericDate(now.Add(token.DefaultAccessLifetime)),
						NotBefore: jwt.NewNumericDate(now),
						IssuedAt:  jwt.NewNumericDate(now),
						ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
					},
					Session: "family-1",
				}
				t := jwt.NewWithClaims(m, &c)
				t.Header["kid"] = sk.ID
				t.Header["typ"] = token.AccessTokenType
				if _, err := t.SignedString(priv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGolangJWTVerify(b *testing.B) {
	for _, alg := range token.Algorithms() {
		b.Run(string(alg), func(b *testing.B) {
			sk := cachedKey(b, alg, 0, t0)
			pub := publicOf(b, material(b, sk))
			_, iss := benchIssuer(b, alg)
			tok, _ := issue(b, iss, "alice", "family-1")
			keyfunc := func(*jwt.Token) (any, error) { return pub, nil }
			opts := []jwt.ParserOption{
				jwt.WithValidMethods([]string{string(alg)}),
				jwt.WithIssuer(testIssuer),
				jwt.WithAudience(testAudience),
				jwt.WithExpirationRequired(),
				jwt.WithIssuedAt(),
				jwt.WithLeeway(token.DefaultLeeway),
			}
			b.ReportAllocs()
			for b.Loop() {
				var c benchClaims
				if _, err := jwt.ParseWithClaims(tok, &c, keyfunc, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
