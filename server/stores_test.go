package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"sessionkit/internal/testenv"
	"sessionkit/server"
	"sessionkit/store/pgstore"
	"sessionkit/store/redisstore"
)

// uniqueName returns a name no other test run uses, for a Redis prefix or
// a PostgreSQL schema.
func uniqueName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "sktest_server_" + hex.EncodeToString(b[:])
}

// openRedis returns a store on the test Redis under a prefix of its own,
// whose keys are deleted when the test ends.
func openRedis(t *testing.T) server.Backend {
	t.Helper()
	ctx := context.Background()
	prefix := uniqueName() + ":"
	url := testenv.Redis(t)
	st, err := redisstore.Open(ctx, url, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		opts, _ := redis.ParseURL(url)
		c := redis.NewClient(opts)
		defer c.Close()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
	})
	return st
}

// openPostgres returns a store on the test database in a schema of its
// own, dropped when the test ends.
func openPostgres(t *testing.T) server.Backend {
	t.Helper()
	ctx := context.Background()
	schema := uniqueName()
	st, err := pgstore.Open(ctx, testenv.Postgres(t), pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Pool().Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		st.Close()
	})
	return st
}
