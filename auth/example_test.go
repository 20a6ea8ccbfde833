package auth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"sessionkit/auth"
	"sessionkit/store"
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

// users is a store.Users in memory: enough for an example.
type users struct {
	mu sync.Mutex
	m  map[string]store.User // by lowercased name
}

func (s *users) CreateUser(_ context.Context, u store.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[strings.ToLower(u.Name)]; ok {
		return store.ErrExists
	}
	s.m[strings.ToLower(u.Name)] = u
	return nil
}

func (s *users) User(_ context.Context, name string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.m[strings.ToLower(name)]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

func (s *users) SetPasswordHash(_ context.Context, name, hash string, updated time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.m[strings.ToLower(name)]
	if !ok {
		return store.ErrNotFound
	}
	u.PasswordHash, u.Updated = hash, updated
	s.m[strings.ToLower(name)] = u
	return nil
}

func (s *users) DeleteUser(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[strings.ToLower(name)]; !ok {
		return store.ErrNotFound
	}
	delete(s.m, strings.ToLower(name))
	return nil
}

func (s *users) ListUsers(context.Context) ([]store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []store.User
	for _, u := range s.m {
		list = append(list, u)
	}
	slices.SortFunc(list, func(a, b store.User) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

func ExampleAccounts() {
	ctx := context.Background()
	accounts, err := auth.NewAccounts(&users{m: map[string]store.User{}}, auth.Options{
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
