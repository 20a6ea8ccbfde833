// Package testenv tells tests where the real Redis and PostgreSQL servers
// are, and what to do when one is not there.
//
// The addresses come from SESSIONKIT_TEST_REDIS and SESSIONKIT_TEST_POSTGRES
// and default to the servers of the development machine. Tests of several
// packages use the servers at the same time, so each test takes a Redis key
// prefix (RedisPrefix) or a PostgreSQL schema (PostgresSchema) of its own,
// removed when it ends. A test that needs
// a server it cannot reach is skipped with a message that says which and
// how to point at another one; under CI=true it fails instead, because a CI
// run that skipped the store tests has not tested the stores.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Default addresses, used when the environment names none.
const (
	DefaultRedis    = "redis://127.0.0.1:6379/0"
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// reachTimeout bounds the check that a server answers.
const reachTimeout = 3 * time.Second

// Redis returns the URL of the test Redis server, after checking that it
// answers PING.
func Redis(t testing.TB) string {
	t.Helper()
	url := env("SESSIONKIT_TEST_REDIS", DefaultRedis)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("SESSIONKIT_TEST_REDIS=%q: %v", url, err)
	}
	opts.DialerRetries = 1 // one try: a missing server is known at once
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		unreachable(t, "Redis", "SESSIONKIT_TEST_REDIS", url, err)
	}
	return url
}

// Postgres returns the URL of the test PostgreSQL database, after checking
// that it accepts a connection.
func Postgres(t testing.TB) string {
	t.Helper()
	url := env("SESSIONKIT_TEST_POSTGRES", DefaultPostgres)
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(context.Background())
	}
	if err != nil {
		unreachable(t, "PostgreSQL", "SESSIONKIT_TEST_POSTGRES", url, err)
	}
	return url
}

func unreachable(t testing.TB, what, variable, url string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s at %s is unreachable and CI=true, so this is a failure, not a skip: %v", what, url, err)
	}
	t.Skipf("skipping: %s at %s is unreachable (%v); start it or set %s", what, url, err, variable)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// cleanupTimeout bounds the removal of a test's keys or schema.
const cleanupTimeout = 30 * time.Second

// RedisPrefix returns the URL of the test Redis server and a key prefix no
// other test uses. Every key under the prefix is deleted when the test ends.
func RedisPrefix(t testing.TB) (url, prefix string) {
	t.Helper()
	url = Redis(t)
	prefix = "sktest:" + uniqueSuffix() + ":"
	t.Cleanup(func() { deleteRedisKeys(t, url, prefix) })
	return url, prefix
}

// deleteRedisKeys deletes every key under prefix, by SCAN and UNLINK.
func deleteRedisKeys(t testing.TB, url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Errorf("deleting the test's keys %s*: %v", prefix, err)
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	err = iter.Err()
	for err == nil && len(keys) > 0 {
		n := min(len(keys), 500)
		err = c.Unlink(ctx, keys[:n]...).Err()
		keys = keys[n:]
	}
	if err != nil {
		t.Errorf("deleting the test's keys %s*: %v", prefix, err)
	}
}

// PostgresSchema returns the URL of the test database and the name of a
// schema no other test uses (it does not exist yet). The schema is dropped,
// with everything in it, when the test ends.
func PostgresSchema(t testing.TB) (url, schema string) {
	t.Helper()
	url = Postgres(t)
	schema = "sktest_" + uniqueSuffix()
	DropSchemaAtEnd(t, url, schema)
	return url, schema
}

// DropSchemaAtEnd drops schema, with everything in it, when the test ends,
// for a test that makes a schema of its own besides PostgresSchema's.
func DropSchemaAtEnd(t testing.TB, url, schema string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			conn.Close(context.Background())
		}
		if err != nil {
			t.Errorf("dropping the test's schema %s: %v", schema, err)
		}
	})
}

// uniqueSuffix returns 16 random hex digits.
func uniqueSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
