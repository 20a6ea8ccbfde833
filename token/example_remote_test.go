package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// A second service verifies the access tokens of a running sessionkit
// server with nothing but its published JWKS: it fetches the keys at
// start, keeps them fresh in the background, and fetches them again when
// a token names a key it does not know yet (a rotation).
func ExampleNewRemoteKeys() {
	ctx := context.Background()

	// The sessionkit server, as `sessionkit serve` runs it.
	st := memstore.New(memstore.Options{})
	defer st.Close()
	srv, err := server.New(ctx, st, server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	auth := httptest.NewServer(srv)
	defer auth.Close()

	// A user registers, then logs in through the JSON API.
	form := url.Values{"username": {"alice"}, "password": {"correct horse"}}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(auth.URL+"/register", form)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Post(auth.URL+"/api/login", "application/json",
		strings.NewReader(`{"username":"alice","password":"correct horse"}`))
	if err != nil {
		log.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		log.Fatalf("login: %d, %v", resp.StatusCode, err)
	}

	// The second service. Its context lasts as long as the service: the
	// keys are refreshed until it ends or Close is called.
	keys, err := token.NewRemoteKeys(ctx, auth.URL+"/.well-known/jwks.json", token.RemoteOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	verifier, err := token.NewVerifier(keys, token.VerifierOptions{
		Issuer:   server.DefaultTokenIssuer,
		Audience: server.DefaultTokenAudience,
		Leeway:   token.DefaultLeeway,
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := verifier.Verify(ctx, login.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subject:", claims.Subject)
	// Output:
	// subject: alice
}

// A service that parses tokens with golang-jwt itself hands it the public
// key that the token's kid names, and accepts only that key's method. (A
// Verifier does the same, and checks the token's type and the deny list
// besides.)
func ExampleKey_PublicKey() {
	ctx := context.Background()
	sk, err := token.GenerateKey(token.ES256, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	key, err := token.ParseKey(sk)
	if err != nil {
		log.Fatal(err)
	}
	signing, err := token.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer(signing, token.IssuerOptions{Issuer: "https://auth.example", Audience: "api"})
	if err != nil {
		log.Fatal(err)
	}
	tok, _, err := issuer.Issue(ctx, token.Claims{Subject: "alice", Session: "login-1"})
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := signing.JWKS(time.Now())
	if err != nil {
		log.Fatal(err)
	}

	// The other service has the JWKS only.
	published, err := token.ParseJWKS(jwks)
	if err != nil {
		log.Fatal(err)
	}
	byID := map[string]*token.Key{}
	var methods []string
	for _, k := range published.Keys() {
		byID[k.ID] = k
		methods = append(methods, k.Method().Alg())
	}
	keyfunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k := byID[kid]
		if k == nil {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		if t.Method.Alg() != k.Method().Alg() {
			return nil, fmt.Errorf("alg %s is not key %s's", t.Method.Alg(), kid)
		}
		return k.PublicKey(), nil
	}
	parsed, err := jwt.Parse(tok, keyfunc,
		jwt.WithValidMethods(methods),
		jwt.WithIssuer("https://auth.example"),
		jwt.WithAudience("api"),
		jwt.WithExpirationRequired())
	if err != nil {
		log.Fatal(err)
	}
	sub, _ := parsed.Claims.GetSubject()
	fmt.Println("subject:", sub)

	// A token signed by a key the JWKS does not have is refused.
	other, err := token.GenerateKey(token.ES256, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	otherKey, err := token.ParseKey(other)
	if err != nil {
		log.Fatal(err)
	}
	otherSet, err := token.NewKeySet(otherKey)
	if err != nil {
		log.Fatal(err)
	}
	otherIssuer, err := token.NewIssuer(otherSet, token.IssuerOptions{Issuer: "https://auth.example", Audience: "api"})
	if err != nil {
		log.Fatal(err)
	}
	stranger, _, err := otherIssuer.Issue(ctx, token.Claims{Subject: "mallory", Session: "login-2"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = jwt.Parse(stranger, keyfunc, jwt.WithValidMethods(methods))
	fmt.Println("another key's token refused:", errors.Is(err, jwt.ErrTokenUnverifiable))
	// Output:
	// subject: alice
	// another key's token refused: true
}
