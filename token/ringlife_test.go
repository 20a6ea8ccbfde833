package token_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/token"
)

// TestRingFirstKeyOnce checks that rings opened at once on an empty store
// agree on one first key: none of them signs with a key the others lack.
func TestRingFirstKeyOnce(t *testing.T) {
	clock := newClock()
	for round := range 20 {
		ms := newMemstore(t, clock)
		rings := make([]*token.Ring, 6)
		var wg sync.WaitGroup
		for i := range rings {
			wg.Go(func() { rings[i] = openRing(t, ms, clock, rotationOpts) })
		}
		wg.Wait()
		stored, err := ms.Keys(context.Background(), token.DefaultKeyPurpose)
		if err != nil || len(stored) != 1 {
			t.Fatalf("round %d: the store holds %d keys (%v); want exactly one first key", round, len(stored), err)
		}
		for i, r := range rings {
			if p := r.KeySet().Primary(clock.Now()); p == nil || p.ID != stored[0].ID {
				t.Fatalf("round %d: ring %d signs with %+v; want the stored key %s", round, i, p, stored[0].ID)
			}
		}
	}
}

// TestRingRetirementIsStored checks that deleting a key in the middle does
// not bring an older, retired key back: retirement is stored at rotation,
// not recomputed from neighbours.
func TestRingRetirementIsStored(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := openRing(t, ms, clock, rotationOpts)
	k1 := r.KeySet().Primary(clock.Now())
	k2, err := r.Rotate(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(publishDelay + time.Minute)
	if _, err := r.Rotate(ctx, ""); err != nil {
		t.Fatal(err)
	}
	retires := expiresOf(r.KeySet(), k1.ID)
	if want := k2.SignsFrom.Add(15*time.Minute + 30*time.Second); !retires.Equal(want) {
		t.Fatalf("K1 retires %v; want K2's first signing + lifetime + leeway, %v", retires, want)
	}
	if err := ms.DeleteKey(ctx, token.DefaultKeyPurpose, k2.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := expiresOf(r.KeySet(), k1.ID); !got.Equal(retires) {
		t.Errorf("after K2 was deleted, K1 retires %v; want its stored %v", got, retires)
	}
	clock.Set(retires)
	if ids := jwksKIDs(t, r.KeySet(), clock.Now()); len(ids) != 1 {
		t.Errorf("JWKS at K1's retirement publishes %v; want only the newest key", ids)
	}
}

// expiresOf returns the Expires of the key id in set.
func expiresOf(set *token.KeySet, id string) time.Time {
	for _, k := range set.Keys() {
		if k.ID == id {
			return k.Expires
		}
	}
	return time.Time{}
}

// TestRingVerifierReloads checks that a ring that only verifies still
// reads the store every reload interval: a key deleted there (one that
// leaked) stops verifying everywhere within the interval.
func TestRingVerifierReloads(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	signer := openRing(t, ms, clock, rotationOpts)
	verifier := openRing(t, ms, clock, rotationOpts)
	tok, c := issue(t, mustIssuer(t, signer, token.IssuerOptions{Now: clock.Now}), "alice", "f1")
	v := mustVerifier(t, verifier, token.VerifierOptions{Now: clock.Now})
	mustVerify(t, v, tok)

	// Replace the leaked key: a new one first, then the leaked one goes.
	if _, err := signer.Rotate(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := ms.DeleteKey(ctx, token.DefaultKeyPurpose, c.KeyID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(rotationOpts.ReloadInterval - time.Second)
	mustVerify(t, v, tok) // not read again yet (and remembered)
	clock.Advance(time.Second)
	_, err := v.Verify(ctx, tok)
	wantRejected(t, err, "unknown kid")
}

// TestRingStoreEmptied checks that a store that lost its keys (a Redis
// without persistence restarted, a flush) gets a first key again from the
// next reload, and that Check says whether the ring can sign.
func TestRingStoreEmptied(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := openRing(t, ms, clock, rotationOpts)
	old := r.KeySet().Primary(clock.Now())
	if err := r.Check(ctx); err != nil {
		t.Fatalf("Check on a ring with a key: %v", err)
	}
	if err := ms.DeleteKey(ctx, token.DefaultKeyPurpose, old.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if err := r.Check(ctx); err != nil {
		t.Fatalf("Check after the store lost its keys: %v; want a new first key", err)
	}
	stored, err := ms.Keys(ctx, token.DefaultKeyPurpose)
	if err != nil || len(stored) != 1 || stored[0].ID == old.ID {
		t.Fatalf("store after the check: %+v, %v; want one new key", stored, err)
	}
	_, c := issue(t, mustIssuer(t, r, token.IssuerOptions{Now: clock.Now}), "alice", "f1")
	if c.KeyID != stored[0].ID {
		t.Errorf("signed by %s; want the new key %s", c.KeyID, stored[0].ID)
	}

	down := &failingKeys{inner: ms}
	rd := openRing(t, down, clock, rotationOpts)
	down.down.Store(true)
	clock.Advance(time.Second)
	if err := rd.Check(ctx); err == nil {
		t.Errorf("Check with the store down succeeded")
	}
}

// storeClockAt is a store.Clock that answers a fixed time.
type storeClockAt time.Time

func (c storeClockAt) StoreTime(context.Context) (time.Time, error) { return time.Time(c), nil }

// TestRingStoreClock checks that a rotation takes the key's times from the
// store's clock, not from the clock of the process that rotates.
func TestRingStoreClock(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	storeNow := clock.Now().Add(2 * time.Hour)
	opts := rotationOpts
	opts.Clock = storeClockAt(storeNow)
	r := openRing(t, ms, clock, opts)
	k, err := r.Rotate(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !k.Created.Equal(storeNow) || !k.SignsFrom.Equal(storeNow.Add(publishDelay)) {
		t.Errorf("rotated key created %v, signs from %v; want the store's %v and %v",
			k.Created, k.SignsFrom, storeNow, storeNow.Add(publishDelay))
	}
}

// TestRingReloadKeepsUnchangedKeys: reading the store again keeps the
// *Key of a key that did not change, so that a Verifier's remembered
// tokens stay remembered; a key whose times changed (a rotation retired
// it) is a new *Key.
func TestRingReloadKeepsUnchangedKeys(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := openRing(t, newMemstore(t, clock), clock, rotationOpts)
	before := r.KeySet().Keys()[0]
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.KeySet().Keys()[0]; got != before {
		t.Errorf("a reload of an unchanged store made a new *Key for %s", before.ID)
	}
	if _, err := r.Rotate(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := r.KeySet().Keys()[0]; got == before || got.Expires.IsZero() {
		t.Errorf("after a rotation the retired key is %+v; want a new *Key with its retirement", got)
	}
}

// TestRingReloadClearsFailure: once a reload succeeds, a kid the store
// does not have is unknown (invalid), not "the store failed", even within
// the second before the ring may read the store again.
func TestRingReloadClearsFailure(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	keys := &failingKeys{inner: newMemstore(t, clock)}
	r := openRing(t, keys, clock, rotationOpts)
	v := mustVerifier(t, r, token.VerifierOptions{Now: clock.Now})
	keys.down.Store(true)
	if err := r.Reload(ctx); err == nil {
		t.Fatal("Reload with the store down succeeded")
	}
	keys.down.Store(false)
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	priv := material(t, cachedKey(t, token.EdDSA, 0, t0))
	unknown := sign(t, method(token.EdDSA), priv, accessHeader("no-such-kid", nil), accessClaims(clock.Now(), nil))
	_, err := v.Verify(ctx, unknown)
	wantRejected(t, err, "unknown kid")
}
