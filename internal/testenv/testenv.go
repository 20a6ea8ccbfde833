// Package testenv tells tests where the real Redis and PostgreSQL servers
// are, and what to do when one is not there.
//
// The addresses come from SESSIONKIT_TEST_REDIS and SESSIONKIT_TEST_POSTGRES
// and default to the servers of the development machine. A test that needs
// a server it cannot reach is skipped with a message that says which and
// how to point at another one; under CI=true it fails instead, because a CI
// run that skipped the store tests has not tested the stores.
package testenv

import (
	"context"
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
