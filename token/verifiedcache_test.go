package token

import (
	"strconv"
	"testing"
)

// TestVerifiedCacheBounded: the cache never holds more tokens than its
// size, and keeps the newest.
func TestVerifiedCacheBounded(t *testing.T) {
	c := newVerifiedCache(8)
	for i := range 100 {
		c.put("token-"+strconv.Itoa(i), verifiedToken{key: &Key{ID: "k"}})
		if n := len(c.entries); n > 8 {
			t.Fatalf("after %d tokens the cache holds %d, more than 8", i+1, n)
		}
	}
	if _, ok := c.get("token-99"); !ok {
		t.Error("the newest token is not remembered")
	}
	if newVerifiedCache(0) != nil || newVerifiedCache(-1) != nil {
		t.Error("a cache of no size was made")
	}
}
