package token_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// An application keeps its signing keys in its store, issues an access
// token at login, and verifies it on each request. Logout deny-lists it.
func Example() {
	ctx := context.Background()
	st := memstore.New(memstore.Options{})
	defer st.Close()

	// The first key is generated and stored on first start; every
	// instance sharing the store opens the same ring.
	ring, err := token.OpenRing(ctx, st, token.RingOptions{})
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer(ring, token.IssuerOptions{
		Issuer:   "https://auth.example.com",
		Audience: "example-api",
	})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(ring, token.VerifierOptions{
		Issuer:   "https://auth.example.com",
		Audience: "example-api",
		Leeway:   token.DefaultLeeway,
		DenyList: st,
	})
	if err != nil {
		log.Fatal(err)
	}

	tok, _, err := issuer.Issue(ctx, token.Claims{Subject: "alice", Session: "login-1"})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := verifier.Verify(ctx, tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("welcome", claims.Subject)

	// Logout: the token is refused from now on, though not yet expired.
	if err := verifier.Revoke(ctx, claims); err != nil {
		log.Fatal(err)
	}
	_, err = verifier.Verify(ctx, tok)
	fmt.Println("after logout:", errors.Is(err, token.ErrRevoked))
	// Output:
	// welcome alice
	// after logout: true
}

// A separate service verifies our tokens from the JWKS alone: it has the
// bytes served at /.well-known/jwks.json, and no access to our store.
func ExampleParseJWKS() {
	ctx := context.Background()

	// Our service.
	st := memstore.New(memstore.Options{})
	defer st.Close()
	ring, err := token.OpenRing(ctx, st, token.RingOptions{Algorithm: token.ES256})
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer(ring, token.IssuerOptions{Issuer: "https://auth.example.com", Audience: "reports"})
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := ring.KeySet().JWKS(time.Now()) // what /.well-known/jwks.json serves
	if err != nil {
		log.Fatal(err)
	}
	tok, _, err := issuer.Issue(ctx, token.Claims{Subject: "alice", Session: "login-1"})
	if err != nil {
		log.Fatal(err)
	}

	// The other service, with only jwks and tok.
	keys, err := token.ParseJWKS(jwks)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(keys, token.VerifierOptions{Issuer: "https://auth.example.com", Audience: "reports"})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := verifier.Verify(ctx, tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", claims.Subject)
	fmt.Println("can sign:", keys.Primary(time.Now()) != nil)
	// Output:
	// verified: alice
	// can sign: false
}

// A refresh token is spent by each use; presenting a spent one again after
// the grace window ends the whole login, for the thief and the owner alike.
func ExampleRefresher() {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := memstore.New(memstore.Options{Now: clock, CleanupInterval: time.Hour})
	defer st.Close()
	refresher, err := token.NewRefresher(st, token.RefreshOptions{Grace: 10 * time.Second, Now: clock})
	if err != nil {
		log.Fatal(err)
	}

	login, first, err := refresher.Start(ctx, token.Login{User: "alice", UserAgent: "Example/1.0"})
	if err != nil {
		log.Fatal(err)
	}
	same, second, err := refresher.Rotate(ctx, first)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same login:", same.ID == login.ID, "new token:", second != first)

	// A minute later the first token comes back: stolen, or replayed.
	now = now.Add(time.Minute)
	_, _, err = refresher.Rotate(ctx, first)
	fmt.Println("reused:", errors.Is(err, token.ErrReused))
	_, _, err = refresher.Rotate(ctx, second)
	fmt.Println("second token revoked:", errors.Is(err, token.ErrRevoked))
	_, err = refresher.Family(ctx, login.ID)
	fmt.Println("login revoked:", errors.Is(err, token.ErrRevoked))
	// Output:
	// same login: true new token: true
	// reused: true
	// second token revoked: true
	// login revoked: true
}

// A handler sorts the errors of Verify: a token that is not acceptable
// (forged, expired, revoked...) gets 401, but a deny list that cannot
// answer (here, because the request's deadline has passed) gets a 503, so
// that the client tries again with the same token instead of logging in
// again. Refresh tokens sort the same way.
func ExampleIsUnauthenticated() {
	ctx := context.Background()
	st := memstore.New(memstore.Options{})
	defer st.Close()
	ring, err := token.OpenRing(ctx, st, token.RingOptions{})
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer(ring, token.IssuerOptions{Issuer: "https://auth.example", Audience: "api"})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(ring, token.VerifierOptions{Issuer: "https://auth.example", Audience: "api", DenyList: st})
	if err != nil {
		log.Fatal(err)
	}

	// status is the answer a handler gives to err.
	status := func(err error) string {
		switch {
		case err == nil:
			return "200 OK"
		case token.IsUnauthenticated(err):
			return "401 log in again"
		default: // a store did not answer
			return "503 try again"
		}
	}

	tok, _, err := issuer.Issue(ctx, token.Claims{Subject: "alice", Session: "login-1"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = verifier.Verify(ctx, tok)
	fmt.Println("valid:", status(err))
	forged := tok[:strings.LastIndexByte(tok, '.')+1] + "c2lnbmF0dXJl" // another signature
	_, err = verifier.Verify(ctx, forged)
	fmt.Println("forged:", status(err))
	late, cancel := context.WithTimeout(ctx, 0)
	defer cancel()
	_, err = verifier.Verify(late, tok)
	fmt.Println("deadline passed:", status(err))

	refresher, err := token.NewRefresher(st, token.RefreshOptions{Grace: -1})
	if err != nil {
		log.Fatal(err)
	}
	_, first, err := refresher.Start(ctx, token.Login{User: "alice", UserAgent: "Example/1.0"})
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = refresher.Rotate(ctx, first)
	fmt.Println("refresh:", status(err))
	_, _, err = refresher.Rotate(ctx, first)
	fmt.Println("refresh token reused:", status(err))
	// Output:
	// valid: 200 OK
	// forged: 401 log in again
	// deadline passed: 503 try again
	// refresh: 200 OK
	// refresh token reused: 401 log in again
}
