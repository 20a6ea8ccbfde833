package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/pgstore"
)

// Open a store on a PostgreSQL database: the first instance to start
// creates the tables in the schema "sessionkit", the others find them.
// (This example needs a server, so it is compiled but not run.)
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := pgstore.Open(ctx, "postgres://sessionkit@db.example.com/app?sslmode=verify-full",
		pgstore.Options{Schema: "sessionkit"})
	if err != nil {
		log.Fatal(err) // unreachable, wrong credentials, no privilege, or a newer schema
	}
	defer s.Close()

	now := time.Now()
	r := store.Record{ID: store.HashToken("the browser's token"), User: "alice",
		Created: now, LastSeen: now, Expires: now.Add(24 * time.Hour)}
	v, err := s.SaveSession(ctx, r) // version 0: create
	if err != nil {
		log.Fatal(err)
	}
	r.Version, r.Data = v, []byte("changed")
	if _, err := s.SaveSession(ctx, r); err != nil { // compare-and-swap on version 1
		log.Fatal(err)
	}
}

// Use a pool the application already has, for example one that also serves
// its own tables. Closing the store leaves the pool open.
// (This example needs a server, so it is compiled but not run.)
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.example.com/app?pool_max_conns=20")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: "sessionkit"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	readyCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	fmt.Println(s.Ping(readyCtx)) // what a readiness check asks
}

// A DBA can review the schema and apply it by hand; the store then only
// reads it. Here, the tables it creates.
func ExampleSchemaSQL() {
	script, err := pgstore.SchemaSQL("sessionkit")
	if err != nil {
		log.Fatal(err)
	}
	for line := range strings.Lines(script) {
		if strings.HasPrefix(line, "CREATE TABLE") {
			fmt.Print(line)
		}
	}
	// Output:
	// CREATE TABLE IF NOT EXISTS "sessionkit".sessionkit_schema (
	// CREATE TABLE "sessionkit".sessionkit_users (
	// CREATE TABLE "sessionkit".sessionkit_keys (
	// CREATE TABLE "sessionkit".sessionkit_deny_list (
	// CREATE TABLE "sessionkit".sessionkit_sessions (
	// CREATE TABLE "sessionkit".sessionkit_counters (
	// CREATE TABLE "sessionkit".sessionkit_passkeys (
}
