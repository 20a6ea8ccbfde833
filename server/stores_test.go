package server_test

import (
	"context"
	"testing"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/pgstore"
	"github.com/sessionkit/sessionkit/store/redisstore"
)

// openRedis returns a store on the test Redis under a prefix of its own,
// whose keys are deleted when the test ends.
func openRedis(t *testing.T) server.Backend {
	t.Helper()
	url, prefix := testenv.RedisPrefix(t)
	st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openPostgres returns a store on the test database in a schema of its
// own, dropped when the test ends.
func openPostgres(t *testing.T) server.Backend { return openPostgresTB(t) }

// openPostgresTB is openPostgres for benchmarks too.
func openPostgresTB(t testing.TB) server.Backend {
	t.Helper()
	url, schema := testenv.PostgresSchema(t)
	st, err := pgstore.Open(context.Background(), url, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
