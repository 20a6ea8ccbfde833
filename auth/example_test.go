package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/store/memstore"
)

func ExampleHashPassword() {
	hash, err := auth.HashPassword("correct horse battery staple", auth.DefaultParams())
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"))

	match, err := auth.VerifyPassword("correct horse battery staple", hash)
	fmt.Println(match, err)
	match, err = auth.VerifyPassword("Tr0ub4dor&3", hash)
	fmt.Println(match, err)
	// Output:
	// true
	// true <nil>
	// false <nil>
}

func ExampleAccounts() {
	users := memstore.New(memstore.Options{})
	defer users.Close()
	ctx := context.Background()
	// The throttle counts in the same store, so that every instance
	// sharing it counts together.
	throttle, err := auth.NewThrottle(users, auth.ThrottleOptions{PerUserAddress: 3}, nil)
	if err != nil {
		panic(err)
	}
	accounts, err := auth.NewAccounts(users, auth.Options{
		// Cheap parameters keep the example fast; use the defaults in
		// production.
		Params:   auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		Throttle: throttle,
	})
	if err != nil {
		panic(err)
	}

	if _, err := accounts.Register(ctx, "Alice", "correct horse battery staple", "192.0.2.1"); err != nil {
		panic(err)
	}
	_, err = accounts.Register(ctx, "alice", "another password", "192.0.2.1")
	fmt.Println("register again:", err)
	_, err = accounts.Register(ctx, "al", "correct horse battery staple", "192.0.2.1")
	fmt.Println("register al:", err)

	proof, err := accounts.Login(ctx, "alice", "correct horse battery staple", "192.0.2.1")
	fmt.Println("login:", proof.User.Name, err)

	_, err = accounts.Login(ctx, "alice", "wrong password", "192.0.2.1")
	fmt.Println("wrong password:", errors.Is(err, auth.ErrBadCredentials), err)
	_, err = accounts.Login(ctx, "bob", "wrong password", "192.0.2.1")
	fmt.Println("unknown user:", errors.Is(err, auth.ErrBadCredentials), err)

	for range 2 {
		accounts.Login(ctx, "alice", "wrong password", "192.0.2.1")
	}
	_, err = accounts.Login(ctx, "alice", "correct horse battery staple", "192.0.2.1")
	var throttled *auth.ThrottledError
	if errors.As(err, &throttled) {
		fmt.Println("throttled:", throttled.RetryAfter > 0)
	}
	// Output:
	// register again: that username is taken
	// register al: usernames are 3 to 64 characters long and use only letters a-z and A-Z, digits, '.', '_' and '-'; this one has 2 characters
	// login: Alice <nil>
	// wrong password: true invalid username or password
	// unknown user: true invalid username or password
	// throttled: true
}

// A Throttle keeps its counts in a store.Counters (here a memory store;
// in production the store every instance shares). Ten wrong passwords for
// one user from one address close that address to that user, even for
// the right password, while the user still logs in from elsewhere.
func ExampleNewThrottle() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	ctx := context.Background()
	throttle, err := auth.NewThrottle(st, auth.ThrottleOptions{
		PerUserAddress: 10,               // hard limit per (username, address)
		PerUser:        50,               // past it, a growing delay per username
		PerAddress:     50,               // failed logins and registrations per address
		Window:         15 * time.Minute, // how long attempts count
	}, nil)
	if err != nil {
		panic(err)
	}
	accounts, err := auth.NewAccounts(st, auth.Options{
		Params:   auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		Throttle: throttle,
	})
	if err != nil {
		panic(err)
	}
	if _, err := accounts.Register(ctx, "alice", "correct horse battery staple", "198.51.100.7"); err != nil {
		panic(err)
	}

	for range 10 {
		accounts.Login(ctx, "alice", "a wrong guess", "192.0.2.1")
	}
	_, err = accounts.Login(ctx, "alice", "correct horse battery staple", "192.0.2.1")
	var throttled *auth.ThrottledError
	if errors.As(err, &throttled) {
		fmt.Println("from the guesser's address: Retry-After", throttled.Seconds())
	}
	proof, err := accounts.Login(ctx, "alice", "correct horse battery staple", "192.0.2.2")
	fmt.Println("from another address:", proof.User.Name, err)
	// Output:
	// from the guesser's address: Retry-After 900
	// from another address: alice <nil>
}

// CheckLogin is what every later request of a login asks: a password
// change (or the account's deletion) ends the logins proved before it.
func ExampleAccounts_CheckLogin() {
	users := memstore.New(memstore.Options{})
	defer users.Close()
	ctx := context.Background()
	accounts, err := auth.NewAccounts(users, auth.Options{
		Params: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	})
	if err != nil {
		panic(err)
	}
	if _, err := accounts.Register(ctx, "alice", "correct horse battery staple", ""); err != nil {
		panic(err)
	}
	proof, err := accounts.Login(ctx, "alice", "correct horse battery staple", "")
	if err != nil {
		panic(err)
	}
	// A login record keeps proof.User.Name, proof.User.ID and
	// proof.AuthTime; each request checks them.
	_, err = accounts.CheckLogin(ctx, proof.User.Name, proof.User.ID, proof.AuthTime)
	fmt.Println("before:", err)

	time.Sleep(2 * time.Millisecond) // times compare to the millisecond
	changed, err := accounts.ChangePassword(ctx, "alice", "a brand new passphrase")
	if err != nil {
		panic(err)
	}
	_, err = accounts.CheckLogin(ctx, proof.User.Name, proof.User.ID, proof.AuthTime)
	fmt.Println("after:", errors.Is(err, auth.ErrLoginEnded))
	// The session that made the change carries on with the change's time.
	_, err = accounts.CheckLogin(ctx, proof.User.Name, proof.User.ID, changed)
	fmt.Println("the changing session:", err)
	// Output:
	// before: <nil>
	// after: true
	// the changing session: <nil>
}
