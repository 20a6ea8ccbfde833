package passkey_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/internal/webauthntest"
	"github.com/sessionkit/sessionkit/passkey"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// A user adds a passkey to their account, then logs in with it. In a web
// application each Begin answers a request from the page's script, which
// hands the options to navigator.credentials.create() or get() and posts
// the result back to the matching Finish; here a software authenticator
// plays the browser. The state travels with the client (a short-lived
// cookie, or a JSON field) and works once.
func Example() {
	ctx := context.Background()
	st := memstore.New(memstore.Options{})
	defer st.Close()
	key, err := cookie.GenerateKey(time.Now())
	if err != nil {
		log.Fatal(err)
	}
	ring, err := cookie.NewKeyRing(key) // seals the ceremonies' state
	if err != nil {
		log.Fatal(err)
	}
	rp, err := passkey.New(st, ring, passkey.Options{
		RPID:    "example.com",
		Origins: []string{"https://example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	alice := store.User{ID: "k2Jx1dAYzE3v6ZmOQm2SLw", Name: "alice", PasswordHash: "…", Created: time.Now()}
	if err := st.CreateUser(ctx, alice); err != nil {
		log.Fatal(err)
	}
	browser := webauthntest.New("https://example.com")

	// Registration, for a user who logged in recently; bound to that login.
	options, state, err := rp.BeginRegistration(ctx, alice, "login-42")
	if err != nil {
		log.Fatal(err)
	}
	created, cred, err := browser.Create(options)
	if err != nil {
		log.Fatal(err)
	}
	p, err := rp.FinishRegistration(ctx, alice, "login-42", state, created, "laptop")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("added %q for %s\n", p.Name, p.User)

	// Login: no user named; the passkey says whose it is.
	options, state, err = rp.BeginLogin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	signed, err := browser.Get(options, cred)
	if err != nil {
		log.Fatal(err)
	}
	login, err := rp.FinishLogin(ctx, state, signed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s logged in with %q (signature counter %d)\n", login.User.Name, login.Passkey.Name, login.Passkey.SignCount)

	// The same state and answer again: refused.
	_, err = rp.FinishLogin(ctx, state, signed)
	fmt.Println(err)
	// Output:
	// added "laptop" for alice
	// alice logged in with "laptop" (signature counter 1)
	// passkey: the challenge is missing, expired, already used or not for this request
}
