package token

import (
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultVerifyCacheSize is how many verified tokens a Verifier remembers
// when VerifierOptions.CacheSize is zero.
const DefaultVerifyCacheSize = 4096

// A client presents the same access token on every request until it
// expires (15 minutes by default). Parsing it and checking its signature
// again each time is most of the cost of Verify (with EdDSA, the signature;
// with HS256, decoding the JSON). A verifiedCache remembers, for each
// token string that passed those checks, the key that signed it and its
// claims. What can change between two presentations is still checked on
// every one: that the key still verifies (it may have retired or been
// removed), the token's times, and the deny list. A string that differs in
// any byte (a tampered or respelled token) is not found, and is parsed and
// checked in full.
type verifiedCache struct {
	max     int
	mu      sync.RWMutex
	entries map[string]verifiedToken

	hits, misses atomic.Uint64 // Verify calls that found their token remembered, or did not
}

// verifiedToken is what a verified token's checks established.
type verifiedToken struct {
	key    *Key       // the key that signed it
	claims wireClaims // its claims, decoded; shared, never changed
}

func newVerifiedCache(max int) *verifiedCache {
	if max <= 0 {
		return nil
	}
	return &verifiedCache{max: max, entries: make(map[string]verifiedToken)}
}

// get returns what was established about tok, if it is remembered.
func (c *verifiedCache) get(tok string) (verifiedToken, bool) {
	if c == nil {
		return verifiedToken{}, false
	}
	c.mu.RLock()
	t, ok := c.entries[tok]
	c.mu.RUnlock()
	if ok {
		// The claims' audience is the caller's to keep.
		t.claims.Audience = slices.Clone(t.claims.Audience)
	}
	return t, ok
}

// put remembers t for tok, forgetting another token if the cache is full.
func (c *verifiedCache) put(tok string, t verifiedToken) {
	if c == nil {
		return
	}
	// The caller keeps the audience it has; the cache keeps its own.
	t.claims.Audience = slices.Clone(t.claims.Audience)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for old := range c.entries {
			delete(c.entries, old)
			break
		}
	}
	c.entries[tok] = t
}

// drop forgets tok.
func (c *verifiedCache) drop(tok string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, tok)
	c.mu.Unlock()
}

// counted records whether a Verify call found its token remembered.
func (c *verifiedCache) counted(hit bool) {
	if c == nil {
		return
	}
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}

// CacheStats returns how many Verify calls since v was made found their
// token remembered (hits: no parse, no signature check) and how many
// parsed and checked it in full (misses), so that CacheSize can be judged
// on real traffic. Both are zero when the cache is off.
func (v *Verifier) CacheStats() (hits, misses uint64) {
	if v.verified == nil {
		return 0, 0
	}
	return v.verified.hits.Load(), v.verified.misses.Load()
}
