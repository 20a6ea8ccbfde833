package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/internal/testenv"
)

func TestTakeParam(t *testing.T) {
	cases := []struct{ spec, name, wantURL, wantValue string }{
		{"redis://127.0.0.1:6379/0?prefix=app:", "prefix", "redis://127.0.0.1:6379/0", "app:"},
		{"redis://127.0.0.1:6379/0", "prefix", "redis://127.0.0.1:6379/0", ""},
		{"postgres://u@h:5432/db?sslmode=disable&schema=sk", "schema", "postgres://u@h:5432/db?sslmode=disable", "sk"},
	}
	for _, c := range cases {
		u, v, err := takeParam(c.spec, c.name)
		if err != nil || u != c.wantURL || v != c.wantValue {
			t.Errorf("takeParam(%q) = %q, %q, %v; want %q, %q", c.spec, u, v, err, c.wantURL, c.wantValue)
		}
	}
}

func TestDescribeStoreHidesPasswords(t *testing.T) {
	got := describeStore("redis://:s3cret@10.0.0.1:6379/0")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "10.0.0.1") {
		t.Errorf("describeStore = %q, want the host without the password", got)
	}
}

// TestOpenStoreURLs opens the real Redis and PostgreSQL through --store
// URLs, and refuses a prefix Redis Cluster would misread.
func TestOpenStoreURLs(t *testing.T) {
	ctx := context.Background()
	for name, spec := range sharedStoreSpecs(t) {
		t.Run(name, func(t *testing.T) {
			st, err := openStore(ctx, spec)
			if err != nil {
				t.Fatalf("openStore(%q): %v", spec, err)
			}
			defer st.Close()
			if err := st.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	}
	if _, err := openStore(ctx, testenv.Redis(t)+"?prefix=bad{tag}"); err == nil {
		t.Error("a prefix with a hash tag was accepted")
	}
}

// sharedStoreSpecs returns --store URLs of the test Redis and PostgreSQL,
// each under a prefix or schema of its own that is removed when the test
// ends.
func sharedStoreSpecs(t *testing.T) map[string]string {
	t.Helper()
	redisURL, prefix := testenv.RedisPrefix(t)
	pgURL, schema := testenv.PostgresSchema(t)
	return map[string]string{
		"redis":    redisURL + "?prefix=" + prefix,
		"postgres": pgURL + "&schema=" + schema,
	}
}
