package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sessionkit/store"
	"sessionkit/store/memstore"
)

// Code that keeps accounts depends on store.Users, not on a backend; any
// backend can be passed in. Errors that matter are sentinels.
func Example() {
	s := memstore.New(memstore.Options{})
	defer s.Close()
	var users store.Users = s
	ctx := context.Background()
	now := time.Now()

	err := users.CreateUser(ctx, store.User{Name: "Alice", PasswordHash: "$argon2id$...", Created: now, Updated: now})
	fmt.Println(err)
	err = users.CreateUser(ctx, store.User{Name: "alice", PasswordHash: "$argon2id$...", Created: now, Updated: now})
	fmt.Println(errors.Is(err, store.ErrExists))
	_, err = users.User(ctx, "bob")
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// <nil>
	// true
	// true
}
