package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/token"
)

// TestVerifyCacheStats: CacheStats counts the tokens Verify found
// remembered and those it checked in full; a changed byte is a miss.
func TestVerifyCacheStats(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name                 string
		cacheSize            int
		wantHits, wantMisses uint64
	}{
		{"default cache", 0, 2, 2},
		{"no cache", -1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			set, a, _ := retiredSet(t, t0.Add(time.Hour))
			v := mustVerifier(t, set, token.VerifierOptions{Now: clock.Now, CacheSize: tt.cacheSize})
			tok, _ := issue(t, mustIssuer(t, keySetOf(t, a), token.IssuerOptions{Now: clock.Now}), "alice", "login-1")
			for range 3 {
				mustVerify(t, v, tok) // a miss, then two hits
			}
			if _, err := v.Verify(ctx, flipBit(t, tok, 2, 5)); err == nil {
				t.Fatal("a token with a changed signature verified")
			}
			hits, misses := v.CacheStats()
			if hits != tt.wantHits || misses != tt.wantMisses {
				t.Errorf("CacheStats = %d hits, %d misses; want %d, %d", hits, misses, tt.wantHits, tt.wantMisses)
			}
		})
	}
}
