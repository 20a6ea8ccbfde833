package token_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/token"
)

// TestCustomClaims: what the application puts in a token with SetExtra is
// signed into its payload, beside the issuer's claims, and Verify gives it
// back, typed by DecodeExtra, as Issue said it would.
func TestCustomClaims(t *testing.T) {
	type roles struct {
		Tenant string   `json:"tenant"`
		Roles  []string `json:"roles"`
	}
	tests := []struct {
		name    string
		claim   string
		value   any
		wire    string // the member's value in the payload
		decoded any    // a pointer to decode into
	}{
		{"string", "role", "admin", `"admin"`, new(string)},
		{"number", "limit", 42.5, `42.5`, new(float64)},
		{"bool", "beta", true, `true`, new(bool)},
		{"null", "team", nil, `null`, new(*string)},
		{"list", "scope", []string{"read", "write"}, `["read","write"]`, new([]string)},
		{"object", "tenant", roles{"acme", []string{"owner"}}, `{"tenant":"acme","roles":["owner"]}`, new(roles)},
		{"HTML characters", "note", "<b>&</b>", `"\u003cb\u003e\u0026\u003c/b\u003e"`, new(string)},
		{"a URI as the name", "https://app.example/claims/plan", "pro", `"pro"`, new(string)},
		{"a name with quotes", `say "hi"`, "hi", `"hi"`, new(string)},
	}
	clock := newClock()
	set := keySetOf(t, cachedKey(t, token.EdDSA, 0, t0))
	iss := mustIssuer(t, set, token.IssuerOptions{Now: clock.Now})
	v := mustVerifier(t, set, token.VerifierOptions{Now: clock.Now})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.claim
			c := token.Claims{Subject: "alice", Session: "fam-1"}
			if err := c.SetExtra(name, tt.value); err != nil {
				t.Fatalf("SetExtra(%q, %v): %v", name, tt.value, err)
			}
			tok, issued, err := iss.Issue(context.Background(), c)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if got := string(payload(t, tok)[name]); got != tt.wire {
				t.Errorf("payload has %s: %s; want %s", name, got, tt.wire)
			}
			got := mustVerify(t, v, tok)
			if got.Subject != "alice" || got.Session != "fam-1" {
				t.Errorf("verified claims %+v", got)
			}
			if len(got.Extra) != 1 || !bytes.Equal(got.Extra[name], issued.Extra[name]) {
				t.Errorf("Verify gave custom claims %s; Issue said %s", got.Extra, issued.Extra)
			}
			if err := got.DecodeExtra(name, tt.decoded); err != nil {
				t.Fatalf("DecodeExtra: %v", err)
			}
			if want := reflect.ValueOf(tt.value); tt.value != nil && !reflect.DeepEqual(reflect.ValueOf(tt.decoded).Elem().Interface(), want.Interface()) {
				t.Errorf("decoded %#v; want %#v", reflect.ValueOf(tt.decoded).Elem().Interface(), tt.value)
			}
			if tt.value == nil && *(tt.decoded.(**string)) != nil {
				t.Errorf("null decoded to %v", *(tt.decoded.(**string)))
			}
		})
	}

	t.Run("none", func(t *testing.T) {
		tok, issued := issue(t, iss, "alice", "fam-1")
		if got := mustVerify(t, v, tok); got.Extra != nil || issued.Extra != nil {
			t.Errorf("custom claims %v, %v; want none", issued.Extra, got.Extra)
		}
		if p := payload(t, tok); len(p) != 8 {
			t.Errorf("payload has %d members; want the issuer's 8 (iss, sub, aud, exp, nbf, iat, jti, sid)", len(p))
		}
	})

	t.Run("set as raw JSON", func(t *testing.T) {
		// Whitespace is dropped: Issue returns the claims as Verify reads
		// them.
		c := token.Claims{Subject: "alice", Session: "fam-1", Extra: map[string]json.RawMessage{"scope": json.RawMessage(` [ "a" , "b" ] `)}}
		tok, issued, err := iss.Issue(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		got := mustVerify(t, v, tok)
		if string(got.Extra["scope"]) != `["a","b"]` || string(issued.Extra["scope"]) != `["a","b"]` {
			t.Errorf("scope issued %s, verified %s; want [\"a\",\"b\"]", issued.Extra["scope"], got.Extra["scope"])
		}
		// The caller's map is not the issued claims'.
		c.Extra["scope"][3] = 'X'
		if string(issued.Extra["scope"]) != `["a","b"]` {
			t.Errorf("changing the caller's claims changed the issued ones: %s", issued.Extra["scope"])
		}
	})

	t.Run("the caller's copy", func(t *testing.T) {
		// Verify remembers tokens; what a caller does to the claims it
		// got does not change what the next Verify returns.
		var c token.Claims
		c.Subject, c.Session = "alice", "fam-1"
		if err := c.SetExtra("role", "user"); err != nil {
			t.Fatal(err)
		}
		tok, _, err := iss.Issue(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		first := mustVerify(t, v, tok)
		first.Extra["role"][1] = 'X'
		first.Extra["added"] = json.RawMessage(`1`)
		again := mustVerify(t, v, tok)
		if len(again.Extra) != 1 || string(again.Extra["role"]) != `"user"` {
			t.Errorf("second Verify gave %s; want role user only", again.Extra)
		}
	})
}

// TestIssueRefuses: Issue refuses, with ErrClaims, claims that would make
// a token Verify refuses or reads differently, and signs nothing.
func TestIssueRefuses(t *testing.T) {
	ok := token.Claims{Subject: "alice", Session: "fam-1"}
	with := func(change func(c *token.Claims)) token.Claims {
		c := ok
		change(&c)
		return c
	}
	extra := func(name, value string) token.Claims {
		return with(func(c *token.Claims) { c.Extra = map[string]json.RawMessage{name: json.RawMessage(value)} })
	}
	tests := []struct {
		name string
		in   token.Claims
		why  string
	}{
		{"no subject", with(func(c *token.Claims) { c.Subject = "" }), "no Subject"},
		{"no session", with(func(c *token.Claims) { c.Session = "" }), "no Session"},
		{"nothing", token.Claims{}, "no Subject"},
		{"subject not UTF-8", with(func(c *token.Claims) { c.Subject = "al\xffice" }), "Subject is not valid UTF-8"},
		{"session not UTF-8", with(func(c *token.Claims) { c.Session = "\xc3" }), "Session is not valid UTF-8"},
		{"account not UTF-8", with(func(c *token.Claims) { c.AccountID = "\xed\xa0\x80" }), "AccountID is not valid UTF-8"},
		{"custom sub", extra("sub", `"mallory"`), `"sub" is a claim the issuer writes`},
		{"custom exp", extra("exp", `99999999999`), `"exp" is a claim the issuer writes`},
		{"custom auth_time", extra("auth_time", `0`), `"auth_time" is a claim the issuer writes`},
		{"custom aid", extra("aid", `"x"`), `"aid" is a claim the issuer writes`},
		{"custom SUB", extra("SUB", `"mallory"`), "only in case"},
		{"custom Sid", extra("Sid", `"other"`), "only in case"},
		{"custom sub with a long s", extra("\u017fub", `"mallory"`), "only in case"},
		{"custom Auth_Time", extra("Auth_Time", `0`), "only in case"},
		{"custom claim without a name", extra("", `1`), "without a name"},
		{"custom claim not JSON", extra("role", `{`), "not JSON"},
		{"custom claim empty", extra("role", ``), "not JSON"},
		{"custom claim two values", extra("role", `1 2`), "not JSON"},
		{"custom claim a bare word", extra("role", `admin`), "not JSON"},
		{"custom claim not UTF-8", extra("role", "\"adm\xffin\""), "not valid UTF-8"},
		{"custom claim name not UTF-8", extra("r\xffle", `"admin"`), "not valid UTF-8"},
		{"token too large", extra("blob", `"`+strings.Repeat("x", token.MaxTokenSize)+`"`), "MaxTokenSize"},
	}
	set := keySetOf(t, cachedKey(t, token.EdDSA, 0, t0))
	iss := mustIssuer(t, set, token.IssuerOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, c, err := iss.Issue(context.Background(), tt.in)
			if !errors.Is(err, token.ErrClaims) || errors.Is(err, token.ErrInvalid) || token.IsUnauthenticated(err) {
				t.Fatalf("Issue: %v; want an error wrapping ErrClaims, not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			if tok != "" || !isZero(c) {
				t.Errorf("Issue returned %q, %+v with its error", tok, c)
			}
		})
	}

	// The controls: the same claims, well formed, are issued, and a token
	// a little under MaxTokenSize verifies.
	v := mustVerifier(t, set, token.VerifierOptions{})
	for _, c := range []token.Claims{
		ok,
		with(func(c *token.Claims) { c.AccountID = "acct-1" }),
		extra("role", `"admin"`),
		extra("Subject", `"a custom claim"`),
		extra("subject", `"a custom claim"`),
		extra("blob", `"`+strings.Repeat("x", token.MaxTokenSize/2)+`"`),
	} {
		tok, _, err := iss.Issue(context.Background(), c)
		if err != nil {
			t.Fatalf("Issue(%v): %v", c.Extra, err)
		}
		mustVerify(t, v, tok)
	}
}

func TestSetExtra(t *testing.T) {
	for _, tt := range []struct {
		name  string
		claim string
		value any
		why   string
	}{
		{"the issuer's claim", "jti", "mine", "a claim the issuer writes"},
		{"the issuer's claim in capitals", "JTI", "mine", "only in case"},
		{"no name", "", 1, "without a name"},
		{"a channel", "c", make(chan int), "unsupported type"},
		{"infinity", "n", math.Inf(1), "unsupported value"},
		{"a failing marshaler", "m", failingMarshaler{}, "cannot marshal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c token.Claims
			err := c.SetExtra(tt.claim, tt.value)
			if !errors.Is(err, token.ErrClaims) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("SetExtra(%q, %v): %v; want ErrClaims saying %q", tt.claim, tt.value, err, tt.why)
			}
			if c.Extra != nil {
				t.Errorf("claims changed: %v", c.Extra)
			}
		})
	}

	var c token.Claims
	if err := c.SetExtra("n", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.SetExtra("n", 2); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.DecodeExtra("n", &n); err != nil || n != 2 {
		t.Errorf("DecodeExtra after setting twice: %d, %v; want the last, 2", n, err)
	}
	var s string
	if err := c.DecodeExtra("n", &s); !errors.Is(err, token.ErrClaims) || errors.Is(err, token.ErrNoClaim) {
		t.Errorf("DecodeExtra of a number into a string: %v; want ErrClaims", err)
	}
	if err := c.DecodeExtra("missing", &s); !errors.Is(err, token.ErrNoClaim) || errors.Is(err, token.ErrClaims) {
		t.Errorf("DecodeExtra of a missing claim: %v; want ErrNoClaim", err)
	}
	c.Subject = "alice"
	if err := c.DecodeExtra("sub", &s); !errors.Is(err, token.ErrNoClaim) {
		t.Errorf("DecodeExtra(sub): %v; want ErrNoClaim: the subject is in Subject", err)
	}
}

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot marshal") }

// TestVerifyClaimSmuggling: a signed payload that names a claim twice, or
// one of the issuer's claims in another case, is refused, so that a custom
// claim can never replace the subject, the session or the expiry (Go's
// JSON decoder alone would take the last of two members, and match names
// in any case).
func TestVerifyClaimSmuggling(t *testing.T) {
	sk := cachedKey(t, token.EdDSA, 0, t0)
	v := mustVerifier(t, keySetOf(t, sk), token.VerifierOptions{Now: newClock().Now})
	header, err := json.Marshal(accessHeader(sk.ID, map[string]any{"alg": "EdDSA"}))
	if err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(accessClaims(t0, nil))
	if err != nil {
		t.Fatal(err)
	}
	// signed returns a token of the good claims with members added at the
	// end of the payload, or of the given payload.
	signed := func(members string) string {
		p := append(bytes.Clone(good[:len(good)-1]), members+"}"...)
		if members == "" {
			p = good
		}
		return signRaw(t, jwt.SigningMethodEdDSA, material(t, sk), header, p)
	}
	without := func(claim string) string {
		c := accessClaims(t0, map[string]any{claim: nil})
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b[1 : len(b)-1])
	}
	tests := []struct {
		name string
		tok  string
		why  string
	}{
		{"sub twice", signed(`,"sub":"mallory"`), `duplicate object member name "sub"`},
		{"sid twice", signed(`,"sid":"family-2"`), `duplicate object member name "sid"`},
		{"exp twice", signed(`,"exp":99999999999`), `duplicate object member name "exp"`},
		{"aud twice", signed(`,"aud":"another-api"`), `duplicate object member name "aud"`},
		{"custom claim twice", signed(`,"role":"user","role":"admin"`), `duplicate object member name "role"`},
		{"SUB beside sub", signed(`,"SUB":"mallory"`), "only in case"},
		{"Sub instead of sub", signRaw(t, jwt.SigningMethodEdDSA, material(t, sk), header,
			[]byte(`{`+without("sub")+`,"Sub":"mallory"}`)), "only in case"},
		{"EXP instead of exp", signRaw(t, jwt.SigningMethodEdDSA, material(t, sk), header,
			[]byte(`{`+without("exp")+`,"EXP":99999999999}`)), "only in case"},
		{"sub with a long s", signed(`,"\u017fub":"mallory"`), "only in case"},
		{"sid with an escaped name", signed(`,"\u0073id":"family-2"`), `duplicate object member name "sid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.tok)
			wantRejected(t, err, tt.why)
			if errors.Is(err, token.ErrExpired) || !isZero(c) {
				t.Errorf("claims %+v, %v; want none", c, err)
			}
		})
	}
	// The controls: the good claims verify, and so do new members.
	mustVerify(t, v, signed(""))
	c := mustVerify(t, v, signed(`,"role":"admin","Subject":"x"`))
	if c.Subject != "alice" || string(c.Extra["role"]) != `"admin"` || string(c.Extra["Subject"]) != `"x"` {
		t.Errorf("claims %+v", c)
	}
}

// An application puts its own claims in the tokens it issues, and reads
// them back from the tokens it verifies.
func ExampleClaims_SetExtra() {
	ctx := context.Background()
	sk, err := token.GenerateKey(token.EdDSA, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	key, err := token.ParseKey(sk)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	opts := token.IssuerOptions{Issuer: "https://auth.example", Audience: "api"}
	issuer, err := token.NewIssuer(keys, opts)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(keys, token.VerifierOptions{Issuer: opts.Issuer, Audience: opts.Audience})
	if err != nil {
		log.Fatal(err)
	}

	type tenant struct {
		ID    string   `json:"id"`
		Roles []string `json:"roles"`
	}
	c := token.Claims{Subject: "alice", Session: "login-1"}
	if err := c.SetExtra("tenant", tenant{ID: "acme", Roles: []string{"owner"}}); err != nil {
		log.Fatal(err)
	}
	// The issuer's own claims cannot be set this way.
	fmt.Println(c.SetExtra("sub", "mallory"))
	tok, _, err := issuer.Issue(ctx, c)
	if err != nil {
		log.Fatal(err)
	}

	got, err := verifier.Verify(ctx, tok)
	if err != nil {
		log.Fatal(err)
	}
	var t tenant
	if err := got.DecodeExtra("tenant", &t); err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Subject, t.ID, t.Roles)
	var plan string
	fmt.Println(errors.Is(got.DecodeExtra("plan", &plan), token.ErrNoClaim))
	// Output:
	// token: unusable claims: "sub" is a claim the issuer writes; it cannot be a custom claim
	// alice acme [owner]
	// true
}
