package storetest

import (
	"context"
	"testing"

	"github.com/sessionkit/sessionkit/store"
)

// testPing checks that a store that is up answers Ping.
func testPing(t *testing.T, s store.Pinger) {
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping of a store that is up: %v", err)
	}
}
