package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// Open a database file, keep an account in it, and find it again after
// reopening: what the store holds survives a restart.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessionkit.db")
	ctx := context.Background()

	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	if err := s.CreateUser(ctx, store.User{Name: "Alice", PasswordHash: "$argon2id$...", Created: now, Updated: now}); err != nil {
		log.Fatal(err)
	}
	s.Close()

	s, err = sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	u, err := s.User(ctx, "alice")
	fmt.Println(u.Name, err)
	// Output: Alice <nil>
}
