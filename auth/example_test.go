package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	accounts, err := auth.NewAccounts(users, auth.Options{
		// Cheap parameters keep the example fast; use the defaults in
		// production.
		Params:   auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		Throttle: auth.NewThrottle(auth.ThrottleOptions{PerUser: 3}, nil),
	})
	if err != nil {
		panic(err)
	}

	if _, err := accounts.Register(ctx, "Alice", "correct horse battery staple"); err != nil {
		panic(err)
	}
	_, err = accounts.Register(ctx, "alice", "another password")
	fmt.Println("register again:", err)
	_, err = accounts.Register(ctx, "al", "correct horse battery staple")
	fmt.Println("register al:", err)

	u, err := accounts.Login(ctx, "alice", "correct horse battery staple", "192.0.2.1")
	fmt.Println("login:", u.Name, err)

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
