package redisstore

import (
	"context"
	"testing"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestConformance runs the store suite against the real server, each store
// under its own prefix, opened with Open as an application would.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		url, prefix := testenv.RedisPrefix(t)
		s, err := Open(context.Background(), url, Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}
