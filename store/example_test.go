package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
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

// Sessions are saved by compare-and-swap: a save names the version it read,
// and a save that lost the race gets ErrConflict instead of overwriting.
// Records are named by the hash of the browser's token, never the token.
func Example_sessions() {
	s := memstore.New(memstore.Options{})
	defer s.Close()
	var sessions store.Sessions = s
	ctx := context.Background()
	now := time.Now()

	rec := store.Record{
		ID:      store.HashToken("the token in the browser's cookie"),
		User:    "alice",
		Data:    []byte("count=1"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour),
	}
	v, err := sessions.SaveSession(ctx, rec) // Version 0: create
	fmt.Println(v, err)

	// Two requests read version 1; the first save wins.
	a, _ := sessions.Session(ctx, rec.ID)
	b, _ := sessions.Session(ctx, rec.ID)
	a.Data = []byte("count=2")
	v, err = sessions.SaveSession(ctx, a)
	fmt.Println(v, err)
	b.Data = []byte("count=2")
	_, err = sessions.SaveSession(ctx, b)
	fmt.Println(errors.Is(err, store.ErrConflict))

	mine, _ := sessions.UserSessions(ctx, "Alice")
	fmt.Println(len(mine), string(mine[0].Data))
	// Output:
	// 1 <nil>
	// 2 <nil>
	// true
	// 1 count=2
}
