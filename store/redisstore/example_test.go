package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/redisstore"
)

// Open a store on a Redis server and save, update and read a session. Saves
// are compare-and-swap: a save naming a version that is no longer the
// stored one gets store.ErrConflict. (This example needs a server, so it is
// compiled but not run by go test.)
func ExampleOpen() {
	ctx := context.Background()
	s, err := redisstore.Open(ctx, "redis://127.0.0.1:6379/0", redisstore.Options{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Now()
	r := store.Record{
		ID:   store.HashToken("the token from the browser's cookie"),
		User: "alice", Data: []byte("count=1"),
		Created: now, LastSeen: now, Expires: now.Add(24 * time.Hour),
	}
	v, err := s.SaveSession(ctx, r) // Version 0: create
	if err != nil {
		log.Fatal(err)
	}
	r.Version, r.Data = v, []byte("count=2")
	if _, err := s.SaveSession(ctx, r); err != nil {
		log.Fatal(err)
	}
	_, err = s.SaveSession(ctx, r) // names version 1 again: lost
	fmt.Println(errors.Is(err, store.ErrConflict))

	got, err := s.Session(ctx, r.ID)
	fmt.Println(string(got.Data), got.Version, err)
}

// Use a client you configure yourself, such as a Redis Cluster client. Set
// ContextTimeoutEnabled, or go-redis ignores context deadlines while it
// waits for a reply. Close the client after the store: the store does not.
func ExampleNew() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           2 * time.Second,
		WriteTimeout:          2 * time.Second,
		PoolTimeout:           2 * time.Second,
	})
	defer client.Close()
	s := redisstore.New(client, redisstore.Options{Prefix: "myapp:"})
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		log.Printf("Redis is unavailable: %v", err)
	}
}
