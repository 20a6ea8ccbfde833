package redisstore

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/redistest"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestClusterStore runs the store suite on a Redis Cluster of six local
// servers (three primaries, three replicas), each store opened with Open
// and a redis+cluster:// URL, as sessionkit serve --store opens one. The
// test is skipped without redis-server, except under CI=true.
func TestClusterStore(t *testing.T) {
	// Nothing fails over here: a longer node timeout than the default
	// second keeps a node that a loaded CI machine starves for a moment
	// from being counted as failed.
	c := redistest.StartCluster(t, redistest.ClusterOptions{NodeTimeout: 5 * time.Second})
	runDeploymentSuites(t, c.URL(), func(t *testing.T, s *Store) {
		if _, ok := s.client.(*redis.ClusterClient); !ok {
			t.Fatalf("Open(%q) made a %T, want a *redis.ClusterClient", c.URL(), s.client)
		}
	})
}

// TestSentinelStore runs the store suite on a primary and a replica
// watched by three Sentinels, each store opened with Open and a
// redis+sentinel:// URL. The test is skipped without redis-server, except
// under CI=true.
func TestSentinelStore(t *testing.T) {
	set := redistest.StartSentinel(t, redistest.SentinelOptions{})
	runDeploymentSuites(t, set.URL(), func(t *testing.T, s *Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// The failover client reaches the primary, not a Sentinel: the
		// server it talks to says it is a primary with a replica.
		info, err := s.client.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatalf("INFO replication through the store's client: %v", err)
		}
		if !strings.Contains(info, "role:master") || !strings.Contains(info, "connected_slaves:1") {
			t.Fatalf("the store's client talks to a server whose INFO replication is\n%s\nwant the primary, with its replica", info)
		}
	})
}

// runDeploymentSuites runs the whole store suite and the counters' clocked
// checks on stores opened with Open(url), each with a prefix of its own;
// check is called on the first store opened.
func runDeploymentSuites(t *testing.T, url string, check func(t *testing.T, s *Store)) {
	t.Run("Open", func(t *testing.T) { check(t, openDeployment(t, url, Options{})) })
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store { return openDeployment(t, url, Options{}) })
	})
	t.Run("CountersClocked", func(t *testing.T) {
		storetest.RunCountersClocked(t, func(t *testing.T, now func() time.Time) store.Counters {
			return openDeployment(t, url, Options{Now: now})
		})
	})
}

// openDeployment opens a store on url with a key prefix no other store
// uses, closed when the test ends. (The deployment itself, and every key
// in it, goes when the test that started it ends.)
func openDeployment(t *testing.T, url string, opts Options) *Store {
	t.Helper()
	opts.Prefix = "sktest:" + rand.Text() + ":"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
