package token_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// RFC 7515 appendix A.1: a JWS using HMAC SHA-256. The header and payload
// contain CR LF, as in the RFC.
const (
	rfc7515Key = `{"kty":"oct","kid":"rfc7515-a1","alg":"HS256",` +
		`"k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`
	rfc7515JWS = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfc7515Payload = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
)

// RFC 8037 appendix A.4: an Ed25519 JWS ("EdDSA"), keys of appendix A.1/A.2.
const (
	rfc8037D       = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X       = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Private = `{"kty":"OKP","crv":"Ed25519","kid":"rfc8037-a","alg":"EdDSA","d":"` + rfc8037D + `","x":"` + rfc8037X + `"}`
	rfc8037JWKS    = `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"rfc8037-a","alg":"EdDSA","x":"` + rfc8037X + `"}]}`
	rfc8037JWS     = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc" +
		".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	rfc8037Payload = "Example of Ed25519 signing"
)

func TestRFCVectors(t *testing.T) {
	ctx := context.Background()
	hmacSet := keySetOf(t, store.Key{ID: "rfc7515-a1", Secret: []byte(rfc7515Key)})
	edSet, err := token.ParseJWKS([]byte(rfc8037JWKS))
	if err != nil {
		t.Fatalf("ParseJWKS(RFC 8037 public key): %v", err)
	}
	edPrivateSet := keySetOf(t, store.Key{ID: "rfc8037-a", Secret: []byte(rfc8037Private)})
	otherHMAC := keySetOf(t, cachedKey(t, token.HS256, 0, t0))
	otherEd := keySetOf(t, cachedKey(t, token.EdDSA, 0, t0))

	for _, vec := range []struct {
		name     string
		jws      string
		payload  string
		keys     *token.KeySet
		wrong    *token.KeySet
		flipHead int // a byte of the header to change
		flipBody int // a byte of the payload to change
		// headWhy is why the changed header is refused: "JWT" becomes
		// "KWT", still a header, so the signature fails; "alg" becomes
		// "`lg", no longer a JWS.
		headWhy string
		// notAccessWhy is why Verify refuses the vector as an access
		// token: RFC 7515's is typ "JWT"; RFC 8037's payload is not JSON.
		notAccessWhy string
	}{
		{"RFC7515-A.1-HS256", rfc7515JWS, rfc7515Payload, hmacSet, otherHMAC, 8, 8, "signature", `typ "JWT"`},
		{"RFC8037-A.4-EdDSA-JWKS", rfc8037JWS, rfc8037Payload, edSet, otherEd, 2, 0, "not a compact JWS", "claims are not a JSON object"},
		{"RFC8037-A.4-EdDSA-private", rfc8037JWS, rfc8037Payload, edPrivateSet, otherEd, 2, 0, "not a compact JWS", "claims are not a JSON object"},
	} {
		t.Run(vec.name, func(t *testing.T) {
			v := mustVerifier(t, vec.keys, token.VerifierOptions{})
			got, err := v.VerifySignature(ctx, vec.jws)
			if err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			if string(got) != vec.payload {
				t.Fatalf("payload = %q, want %q", got, vec.payload)
			}

			for _, bad := range []struct{ what, jws, why string }{
				{"signature first byte", flipBit(t, vec.jws, 2, 0), "signature"},
				{"signature last byte", flipBit(t, vec.jws, 2, -1), "signature"},
				{"payload", flipBit(t, vec.jws, 1, vec.flipBody), "signature"},
				{"header", flipBit(t, vec.jws, 0, vec.flipHead), vec.headWhy},
			} {
				p, err := v.VerifySignature(ctx, bad.jws)
				if p != nil {
					t.Errorf("flipped bit in %s: payload %q returned", bad.what, p)
				}
				wantRejected(t, err, bad.why)
			}

			p, err := mustVerifier(t, vec.wrong, token.VerifierOptions{}).VerifySignature(ctx, vec.jws)
			if p != nil {
				t.Errorf("wrong key: payload %q returned", p)
			}
			wantRejected(t, err, "signature")

			// Access-token checks apply on top: neither vector is one.
			c, err := v.Verify(ctx, vec.jws)
			if !isZero(c) {
				t.Errorf("Verify returned claims %+v", c)
			}
			wantRejected(t, err, vec.notAccessWhy)
		})
	}
}

// TestRFC8037Sign checks that the RFC 8037 private key, read by ParseKey,
// signs the example exactly as the RFC shows (Ed25519 is deterministic):
// our signing input and encoding are everyone else's.
func TestRFC8037Sign(t *testing.T) {
	priv := material(t, store.Key{ID: "rfc8037-a", Secret: []byte(rfc8037Private)})
	input := rfc8037JWS[:strings.LastIndexByte(rfc8037JWS, '.')]
	sig, err := jwt.SigningMethodEdDSA.Sign(input, priv)
	if err != nil {
		t.Fatal(err)
	}
	if got := input + "." + b64(sig); got != rfc8037JWS {
		t.Fatalf("signed\n%s\nwant\n%s", got, rfc8037JWS)
	}
	if h := unb64(t, segments(t, rfc8037JWS)[0]); !bytes.Equal(h, []byte(`{"alg":"EdDSA"}`)) {
		t.Fatalf("header = %s", h)
	}
}
