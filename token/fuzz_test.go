package token_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// The fuzz targets verify against fixed keys kept in testdata, so that the
// seed corpus can hold tokens that verify. Regenerate keys and seeds with
//
//	go test ./token -run TestFuzzSeeds -update-fuzz-seeds
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzzkeys.json and the FuzzVerify and FuzzRotate seed corpora")

const fuzzKeysFile = "testdata/fuzzkeys.json"

// fuzzNow is the fixed time of the fuzz verifier; seed tokens are issued
// at it.
var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

type fuzzKey struct {
	ID     string          `json:"id"`
	Secret json.RawMessage `json:"secret"`
}

// fuzzKeys returns the stored keys of testdata/fuzzkeys.json: one of each
// algorithm, in the order of token.Algorithms.
func fuzzKeys(t testing.TB) []store.Key {
	t.Helper()
	b, err := os.ReadFile(fuzzKeysFile)
	if err != nil {
		t.Fatal(err)
	}
	var fks []fuzzKey
	if err := json.Unmarshal(b, &fks); err != nil {
		t.Fatal(err)
	}
	sks := make([]store.Key, len(fks))
	for i, fk := range fks {
		sks[i] = store.Key{ID: fk.ID, Secret: fk.Secret, Created: fuzzNow.Add(-time.Hour)}
	}
	return sks
}

func fuzzVerifier(t testing.TB, keys token.KeySource) *token.Verifier {
	return mustVerifier(t, keys, token.VerifierOptions{Leeway: 30 * time.Second, Now: func() time.Time { return fuzzNow }})
}

// readCorpus returns the strings of a fuzz corpus directory by file name.
func readCorpus(t testing.TB, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := strings.CutPrefix(string(b), "go test fuzz v1\nstring(")
		lit, ok2 := strings.CutSuffix(lit, ")\n")
		if !ok || !ok2 {
			t.Fatalf("%s is not a one-string corpus file", e.Name())
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out[e.Name()] = s
	}
	return out
}

func writeCorpus(t testing.TB, dir string, seeds map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\nstring(%q)\n", s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzSeeds checks that the FuzzVerify seeds still mean what their
// names say (valid-* verify, the rest are refused), so that the corpus
// keeps reaching the code past the signature check; with
// -update-fuzz-seeds it makes new keys and seeds first.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if *updateFuzzSeeds {
		writeFuzzSeeds(t, dir)
	}
	set := keySetOf(t, fuzzKeys(t)...)
	v := fuzzVerifier(t, set)
	seeds := readCorpus(t, dir)
	valid := 0
	for name, s := range seeds {
		c, err := v.Verify(context.Background(), s)
		switch {
		case strings.HasPrefix(name, "valid-"):
			valid++
			if err != nil {
				t.Errorf("seed %s: %v", name, err)
			} else if alg := decodeHeader(t, s)["alg"]; "valid-"+alg.(string) != name {
				t.Errorf("seed %s is signed with %s", name, alg)
			}
		case strings.HasPrefix(name, "expired-"):
			if !errors.Is(err, token.ErrExpired) || c.Subject == "" {
				t.Errorf("seed %s: %v", name, err)
			}
		default:
			if err == nil {
				t.Errorf("seed %s verifies", name)
			}
		}
	}
	if valid != len(token.Algorithms()) {
		t.Errorf("%d valid seeds; want one per algorithm", valid)
	}
}

// writeFuzzSeeds makes new fuzz keys and the FuzzVerify seed corpus.
func writeFuzzSeeds(t *testing.T, dir string) {
	var fks []fuzzKey
	var sks []store.Key
	for _, alg := range token.Algorithms() {
		sk, err := token.GenerateKey(alg, fuzzNow.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		fks = append(fks, fuzzKey{ID: sk.ID, Secret: sk.Secret})
		sks = append(sks, sk)
	}
	b, err := json.MarshalIndent(fks, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(fuzzKeysFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fuzzKeysFile, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	now := func() time.Time { return fuzzNow }
	seeds := map[string]string{"empty": "", "rfc7515-a1": rfc7515JWS, "rfc8037-a4": rfc8037JWS}
	var ed, rs store.Key
	for _, sk := range sks {
		iss := mustIssuer(t, keySetOf(t, sk), token.IssuerOptions{Now: now})
		tok, _ := issue(t, iss, "alice", "family-1")
		alg := parsedKey(t, sk).Algorithm
		seeds["valid-"+string(alg)] = tok
		switch alg {
		case token.EdDSA:
			ed = sk
		case token.RS256:
			rs = sk
		}
	}
	good := seeds["valid-EdDSA"]
	parts := segments(t, good)
	edPriv := material(t, ed)
	forge := func(header, claims map[string]any) string {
		return sign(t, jwt.SigningMethodEdDSA, edPriv, accessHeader(ed.ID, header), accessClaims(fuzzNow, claims))
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(accessClaims(fuzzNow, nil)))
	none.Header["kid"] = ed.ID
	seeds["attack-alg-none"], err = none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(publicOf(t, material(t, rs)))
	if err != nil {
		t.Fatal(err)
	}
	seeds["attack-hs-with-rs-public-key"] = sign(t, jwt.SigningMethodHS256,
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), accessHeader(rs.ID, nil), accessClaims(fuzzNow, nil))
	seeds["attack-alg-of-another-key"] = sign(t, jwt.SigningMethodRS256, material(t, rs), accessHeader(ed.ID, nil), accessClaims(fuzzNow, nil))
	seeds["attack-jwk-header"] = forge(map[string]any{"jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": rfc8037X}}, nil)
	seeds["attack-jku-header"] = forge(map[string]any{"jku": "https://attacker.example/jwks.json"}, nil)
	seeds["attack-typ-jwt"] = forge(map[string]any{"typ": "JWT"}, nil)
	seeds["attack-unknown-kid"] = forge(map[string]any{"kid": "unknown"}, nil)
	seeds["attack-no-kid"] = forge(map[string]any{"kid": nil}, nil)
	seeds["attack-no-sid"] = forge(nil, map[string]any{"sid": nil})
	seeds["attack-wrong-aud"] = forge(nil, map[string]any{"aud": "another-api"})
	seeds["attack-nbf-future"] = forge(nil, map[string]any{"nbf": fuzzNow.Add(time.Hour).Unix()})
	seeds["expired-1h"] = forge(nil, map[string]any{"iat": fuzzNow.Add(-2 * time.Hour).Unix(), "nbf": fuzzNow.Add(-2 * time.Hour).Unix(), "exp": fuzzNow.Add(-time.Hour).Unix()})
	seeds["attack-two-parts"] = parts[0] + "." + parts[1]
	seeds["attack-bad-base64"] = corrupt(parts, 1, "*")
	seeds["attack-payload-not-json"] = signRaw(t, jwt.SigningMethodEdDSA, edPriv, unb64(t, parts[0]), []byte("[1,2"))
	seeds["attack-spliced-signature"] = parts[0] + "." + parts[1] + "." + segments(t, seeds["attack-no-sid"])[2]
	writeCorpus(t, dir, seeds)

	rotateDir := filepath.Join(filepath.Dir(dir), "FuzzRotate")
	if err := os.RemoveAll(rotateDir); err != nil {
		t.Fatal(err)
	}
	a63 := strings.Repeat("A", 63)
	writeCorpus(t, rotateDir, map[string]string{
		"empty":          "",
		"short":          "AAAA",
		"unknown-family": a63 + "A",
		"padding":        a63 + "=",
		"bad-base64":     a63 + "!",
		"std-base64":     a63[:62] + "+/",
		"newline":        a63[:32] + "\n" + a63[:31],
		"too-long":       a63 + "AA",
		"family-id":      strings.Repeat("A", 22),
		"access-token":   rfc8037JWS,
	})
}

func FuzzVerify(f *testing.F) {
	sks := fuzzKeys(f)
	set := keySetOf(f, sks...)
	v := fuzzVerifier(f, set)
	kids := make([]string, len(sks))
	for i, sk := range sks {
		kids[i] = sk.ID
	}
	ctx := context.Background()
	// Custom claims, and members the claims decoder must refuse, in tokens
	// that verify otherwise: signed by the EdDSA key at fuzzNow.
	ed := sks[0]
	header := []byte(`{"alg":"EdDSA","kid":"` + ed.ID + `","typ":"at+jwt"}`)
	good := fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","jti":"j","sid":"s","iat":%d,"exp":%d`,
		testIssuer, testAudience, fuzzNow.Unix(), fuzzNow.Add(time.Hour).Unix())
	for _, members := range []string{
		`,"role":"admin","scope":["a","b"],"n":{"x":null}}`,
		`,"sub":"mallory"}`,
		`,"SUB":"mallory"}`,
		`,"r":1,"r":2}`,
	} {
		f.Add(signRaw(f, jwt.SigningMethodEdDSA, material(f, ed), header, []byte(good+members)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := v.Verify(ctx, s)
		for name := range c.Extra {
			for _, own := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "aid", "auth_time"} {
				if strings.EqualFold(name, own) {
					t.Fatalf("custom claim %q with %v: the issuer's claim %q", name, err, own)
				}
			}
		}
		switch {
		case err == nil:
			if c.Subject == "" || c.ID == "" || c.Session == "" || c.Issuer != testIssuer ||
				!slices.Contains(c.Audience, testAudience) || !slices.Contains(kids, c.KeyID) ||
				!fuzzNow.Before(c.Expires.Add(30*time.Second)) {
				t.Fatalf("accepted with claims %+v", c)
			}
		case !errors.Is(err, token.ErrInvalid):
			t.Fatalf("error %q does not wrap ErrInvalid", err)
		case errors.Is(err, token.ErrRevoked):
			t.Fatalf("error %q wraps ErrRevoked without a deny list", err)
		case errors.Is(err, token.ErrExpired):
			if c.Subject == "" || !slices.Contains(kids, c.KeyID) {
				t.Fatalf("expired, with claims %+v", c)
			}
		case !isZero(c):
			t.Fatalf("error %q with claims %+v", err, c)
		}
		p, serr := v.VerifySignature(ctx, s)
		if serr != nil && (!errors.Is(serr, token.ErrInvalid) || p != nil) {
			t.Fatalf("VerifySignature: %q, %v", p, serr)
		}
		if (err == nil || errors.Is(err, token.ErrExpired)) && serr != nil {
			t.Fatalf("Verify accepted the signature, VerifySignature did not: %v", serr)
		}
	})
}

func FuzzRotate(f *testing.F) {
	clock := newClock()
	ms := newMemstore(f, clock)
	r := newRefresher(f, ms, clock, token.RefreshOptions{})
	fam, tok := start(f, r, "alice")
	var mu sync.Mutex
	issued := map[string]bool{tok: true}
	successor := map[string]string{} // a spent token's successor
	f.Add(tok)
	f.Add(fam.ID)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		got, next, err := r.Rotate(ctx, s)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			// Only a reuse names the family it ended.
			if !errors.Is(err, token.ErrInvalid) || next != "" || (got.ID != "") != errors.Is(err, token.ErrReused) {
				t.Fatalf("Rotate(%q) = %q, %v; want ErrInvalid", s, next, err)
			}
		} else {
			if !issued[s] {
				t.Fatalf("Rotate accepted %q, never issued", s)
			}
			// A token spent again within the grace window (the clock
			// never moves here) gets the successor its first use got;
			// any other answer is a token never issued before.
			if got.ID != fam.ID || len(next) != 64 || (issued[next] && successor[s] != next) {
				t.Fatalf("Rotate(%q) = %+v, %q", s, got, next)
			}
			if was := successor[s]; was != "" && was != next {
				t.Fatalf("Rotate(%q) again = %q; its first use got %q", s, next, was)
			}
			issued[next] = true
			successor[s] = next
		}
		if got, err := r.Family(ctx, s); err == nil {
			if s != fam.ID || got.User != "alice" {
				t.Fatalf("Family(%q) = %+v", s, got)
			}
		} else if !errors.Is(err, token.ErrInvalid) {
			t.Fatalf("Family(%q): %v; want ErrInvalid", s, err)
		}
	})
}
