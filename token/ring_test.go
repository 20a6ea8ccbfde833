package token_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// Ring options of the rotation tests: a rotated key signs 1m + 2m + 30s
// after it was created (reload, JWKS max-age, leeway), and its predecessor
// retires 15m + 30s after that.
var rotationOpts = token.RingOptions{
	TokenLifetime:  15 * time.Minute,
	Leeway:         30 * time.Second,
	ReloadInterval: time.Minute,
	JWKSMaxAge:     2 * time.Minute,
}

const (
	publishDelay = time.Minute + 2*time.Minute + 30*time.Second
	retireAfter  = publishDelay + 15*time.Minute + 30*time.Second
)

func openRing(t testing.TB, keys store.Keys, clock *fakeclock.Clock, opts token.RingOptions) *token.Ring {
	t.Helper()
	opts.Now = clock.Now
	r, err := token.OpenRing(context.Background(), keys, opts)
	if err != nil {
		t.Fatalf("OpenRing: %v", err)
	}
	return r
}

// TestRingLeeway: a zero Leeway is DefaultLeeway, as for a Verifier, and
// a negative one is none: a rotated key signs ReloadInterval + JWKSMaxAge
// + the leeway after its creation, and the key it replaces retires
// TokenLifetime + the leeway after that.
func TestRingLeeway(t *testing.T) {
	tests := []struct {
		name   string
		leeway time.Duration
		want   time.Duration // the leeway that applies
	}{
		{"zero is the default", 0, token.DefaultLeeway},
		{"negative is none", -1, 0},
		{"given", 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newClock()
			ms := newMemstore(t, clock)
			r := openRing(t, ms, clock, token.RingOptions{Leeway: tt.leeway})
			old := r.KeySet().Primary(clock.Now())
			k, err := r.Rotate(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			publish := token.DefaultReloadInterval + token.DefaultJWKSMaxAge + tt.want
			if r.PublishDelay() != publish || !k.SignsFrom.Equal(clock.Now().Add(publish)) {
				t.Errorf("the new key signs from %v (publish delay %v); want %v after now",
					k.SignsFrom, r.PublishDelay(), publish)
			}
			stored, err := ms.Keys(ctx, token.DefaultKeyPurpose)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(stored, func(sk store.Key) bool { return sk.ID == old.ID })
			if i < 0 {
				t.Fatalf("the old key %s is not in the store", old.ID)
			}
			if want := k.SignsFrom.Add(token.DefaultAccessLifetime + tt.want); !stored[i].Retires.Equal(want) {
				t.Errorf("the old key retires at %v; want %v", stored[i].Retires, want)
			}
		})
	}
}

// jwksKIDs returns the kids a ring's JWKS publishes at now.
func jwksKIDs(t testing.TB, set *token.KeySet, now time.Time) []string {
	t.Helper()
	b, err := set.JWKS(now)
	if err != nil {
		t.Fatal(err)
	}
	public, err := token.ParseJWKS(b)
	if err != nil {
		t.Fatalf("ParseJWKS(%s): %v", b, err)
	}
	var ids []string
	for _, k := range public.Keys() {
		ids = append(ids, k.ID)
	}
	return ids
}

func TestRingRotation(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)

	a := openRing(t, ms, clock, rotationOpts) // the instance that rotates
	b := openRing(t, ms, clock, rotationOpts) // another that verifies
	c := openRing(t, ms, clock, rotationOpts) // another that signs
	k1 := a.KeySet().Primary(clock.Now())
	if k1 == nil || k1.Algorithm != token.DefaultAlgorithm || len(a.KeySet().Keys()) != 1 {
		t.Fatalf("a new ring has keys %+v; want one %s key", a.KeySet().Keys(), token.DefaultAlgorithm)
	}
	if p := b.KeySet().Primary(clock.Now()); p == nil || p.ID != k1.ID {
		t.Fatalf("a second ring on the same store made its own key %+v", p)
	}
	issuerA := mustIssuer(t, a, token.IssuerOptions{Now: clock.Now})
	verifierA := mustVerifier(t, a, token.VerifierOptions{Leeway: 30 * time.Second, Now: clock.Now})
	verifierB := mustVerifier(t, b, token.VerifierOptions{Leeway: 30 * time.Second, Now: clock.Now})
	issuerB := mustIssuer(t, b, token.IssuerOptions{Now: clock.Now})
	issuerC := mustIssuer(t, c, token.IssuerOptions{Now: clock.Now})

	t1, c1 := issue(t, issuerA, "alice", "f1")
	if c1.KeyID != k1.ID {
		t.Fatalf("T1 signed by %s, want K1 %s", c1.KeyID, k1.ID)
	}

	clock.Advance(10 * time.Minute)
	if err := c.Reload(ctx); err != nil { // c last read the store just now
		t.Fatal(err)
	}
	// The second the rotation happens, b has not reloaded yet either.
	k2, err := a.Rotate(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID == k1.ID || k2.Algorithm != token.DefaultAlgorithm || !k2.Created.Equal(clock.Now()) {
		t.Fatalf("Rotate gave %+v", k2)
	}
	if want := k2.Created.Add(publishDelay); !k2.SignsFrom.Equal(want) || a.PublishDelay() != publishDelay {
		t.Fatalf("K2 signs from %v (publish delay %v); want reload interval + JWKS max-age + leeway after its creation, %v",
			k2.SignsFrom, a.PublishDelay(), want)
	}

	// K2 is published and verifies at once, but nobody signs with it until
	// every instance has loaded it and every JWKS cache may have fetched it.
	if ids := jwksKIDs(t, a.KeySet(), clock.Now()); strings.Join(ids, ",") != k1.ID+","+k2.ID {
		t.Errorf("JWKS right after the rotation has %v; want K1 and K2", ids)
	}
	for name, iss := range map[string]*token.Issuer{"the rotating instance": issuerA, "another instance": issuerC} {
		if _, ci := issue(t, iss, "alice", "f1"); ci.KeyID != k1.ID {
			t.Errorf("%s signs with %s right after the rotation; want K1 until K2 is known everywhere", name, ci.KeyID)
		}
	}
	clock.Advance(publishDelay - time.Second)
	if _, cc := issue(t, issuerC, "alice", "f1"); cc.KeyID != k1.ID {
		t.Errorf("c signs with %s a second before K2's time; want K1", cc.KeyID)
	}
	clock.Advance(time.Second)
	t2, c2 := issue(t, issuerA, "alice", "f1")
	if c2.KeyID != k2.ID || decodeHeader(t, t2)["kid"] != k2.ID {
		t.Fatalf("the publish delay after the rotation, signed by %s; want K2 %s", c2.KeyID, k2.ID)
	}
	if _, cc := issue(t, issuerC, "alice", "f1"); cc.KeyID != k2.ID {
		t.Errorf("another instance signs with %s the publish delay after the rotation; want K2", cc.KeyID)
	}
	mustVerify(t, verifierA, t1)
	mustVerify(t, verifierA, t2)
	if ids := jwksKIDs(t, a.KeySet(), clock.Now()); strings.Join(ids, ",") != k1.ID+","+k2.ID {
		t.Errorf("JWKS has %v; want K1 and K2", ids)
	}
	var k1Expires time.Time
	for _, k := range a.KeySet().Keys() {
		if k.ID == k1.ID {
			k1Expires = k.Expires
		}
	}
	if want := k2.Created.Add(retireAfter); !k1Expires.Equal(want) {
		t.Fatalf("K1 expires %v; want K2's creation + publish delay + lifetime + leeway = %v", k1Expires, want)
	}

	t.Run("another instance verifies new tokens at once", func(t *testing.T) {
		mustVerify(t, verifierB, t2) // b reloads for the kid it does not know
		mustVerify(t, verifierB, t1)
		if _, cb := issue(t, issuerB, "alice", "f1"); cb.KeyID != k2.ID {
			t.Errorf("after reloading, b signs with %s, want K2", cb.KeyID)
		}
	})

	t.Run("a restart keeps both keys", func(t *testing.T) {
		r := openRing(t, ms, clock, rotationOpts)
		keys := r.KeySet().Keys()
		if len(keys) != 2 || keys[0].ID != k1.ID || keys[1].ID != k2.ID || r.KeySet().Primary(clock.Now()).ID != k2.ID {
			t.Fatalf("restarted ring has %+v; want K1, K2 (primary)", keys)
		}
		if !keys[0].Expires.Equal(k1Expires) || !keys[1].Expires.IsZero() {
			t.Errorf("restarted ring: K1 expires %v (want %v), K2 %v (want never)", keys[0].Expires, k1Expires, keys[1].Expires)
		}
		v := mustVerifier(t, r, token.VerifierOptions{Now: clock.Now})
		mustVerify(t, v, t1)
		mustVerify(t, v, t2)
		if _, cr := issue(t, mustIssuer(t, r, token.IssuerOptions{Now: clock.Now}), "alice", "f1"); cr.KeyID != k2.ID {
			t.Errorf("restarted ring signs with %s, want K2", cr.KeyID)
		}
	})

	t.Run("K1 retires", func(t *testing.T) {
		// Just before, T1 is refused only as expired: K1 still verifies.
		clock.Set(k1Expires.Add(-time.Second))
		_, err := verifierA.Verify(ctx, t1)
		wantRejected(t, err, "expired", token.ErrExpired)
		if ids := jwksKIDs(t, a.KeySet(), clock.Now()); len(ids) != 2 {
			t.Errorf("JWKS has %v before K1 retires", ids)
		}
		// At its retirement time K1 stops verifying (a token it signed is
		// expired, whatever its exp says); KeepRetired later the first ring
		// to reload deletes it from the store.
		clock.Set(k1Expires)
		got, err := verifierA.Verify(ctx, t1)
		if err == nil || !isZero(got) && !errors.Is(err, token.ErrExpired) {
			t.Errorf("T1 after K1 retired: %+v, %v; want refused", got, err)
		}
		clock.Advance(token.DefaultKeepRetired - time.Second)
		if err := a.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if stored, _ := ms.Keys(ctx, token.DefaultKeyPurpose); len(stored) != 2 {
			t.Errorf("store a second before K1 is due for deletion holds %d keys; want 2", len(stored))
		}
		clock.Advance(time.Second)
		if err := a.Check(ctx); err != nil {
			t.Fatal(err)
		}
		stored, err := ms.Keys(ctx, token.DefaultKeyPurpose)
		if err != nil || len(stored) != 1 || stored[0].ID != k2.ID {
			t.Errorf("store after K1 retired and a ring reloaded: %d keys, %v; want K2 only", len(stored), err)
		}
		if ids := jwksKIDs(t, a.KeySet(), clock.Now()); len(ids) != 1 || ids[0] != k2.ID {
			t.Errorf("JWKS has %v after K1 retired; want K2 only", ids)
		}
		t3, _ := issue(t, issuerA, "alice", "f1")
		mustVerify(t, verifierA, t3)
		mustVerify(t, verifierB, t3)
	})
}

func TestRingRotateAlgorithm(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := openRing(t, ms, clock, rotationOpts)
	iss := mustIssuer(t, r, token.IssuerOptions{Now: clock.Now})
	v := mustVerifier(t, r, token.VerifierOptions{Now: clock.Now})
	old, oc := issue(t, iss, "alice", "f")
	if h := decodeHeader(t, old); h["alg"] != "EdDSA" {
		t.Fatalf("first key signs %v", h["alg"])
	}
	clock.Advance(time.Minute)
	k, err := r.Rotate(ctx, token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if k.Algorithm != token.ES256 {
		t.Fatalf("rotated to %s", k.Algorithm)
	}
	clock.Advance(publishDelay)
	tok, c := issue(t, iss, "alice", "f")
	if h := decodeHeader(t, tok); h["alg"] != "ES256" || h["kid"] != k.ID || c.KeyID != k.ID {
		t.Fatalf("after rotating to ES256, header %v", h)
	}
	if got := mustVerify(t, v, old); got.KeyID != oc.KeyID {
		t.Errorf("old token verified by %s", got.KeyID)
	}
	mustVerify(t, v, tok)

	// A new instance, too.
	v2 := mustVerifier(t, openRing(t, ms, clock, rotationOpts), token.VerifierOptions{Now: clock.Now})
	mustVerify(t, v2, old)
	mustVerify(t, v2, tok)

	if _, err := r.Rotate(ctx, "RS512"); err == nil {
		t.Errorf("Rotate to RS512 succeeded")
	}
	if _, err := token.OpenRing(ctx, ms, token.RingOptions{Algorithm: "none"}); err == nil {
		t.Errorf("OpenRing with algorithm none succeeded")
	}
}

func TestOpenRingOptions(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := openRing(t, ms, clock, token.RingOptions{Algorithm: token.ES256, Purpose: "other"})
	if p := r.KeySet().Primary(clock.Now()); p == nil || p.Algorithm != token.ES256 {
		t.Fatalf("first key %+v; want ES256", p)
	}
	if keys, _ := ms.Keys(ctx, "other"); len(keys) != 1 {
		t.Errorf("purpose other has %d keys", len(keys))
	}
	if keys, _ := ms.Keys(ctx, token.DefaultKeyPurpose); len(keys) != 0 {
		t.Errorf("purpose %s has %d keys", token.DefaultKeyPurpose, len(keys))
	}

	// A key the ring cannot read is an error, not a silent skip.
	bad := newMemstore(t, clock)
	if err := bad.AddKey(ctx, token.DefaultKeyPurpose, store.Key{ID: "k", Secret: []byte("garbage"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := token.OpenRing(ctx, bad, token.RingOptions{Now: clock.Now}); err == nil {
		t.Errorf("OpenRing on a store with a garbage key succeeded")
	}
}

// TestRingReloadRateLimit checks that tokens naming unknown kids make the
// ring read the store at most once a second, however many there are.
func TestRingReloadRateLimit(t *testing.T) {
	clock := newClock()
	keys := &countingKeys{inner: newMemstore(t, clock)}
	r := openRing(t, keys, clock, rotationOpts)
	set := r.KeySet()
	priv := material(t, cachedKey(t, token.EdDSA, 0, t0))
	v := mustVerifier(t, r, token.VerifierOptions{Now: clock.Now})
	forged := func(kid string) string {
		return sign(t, method(token.EdDSA), priv, accessHeader(kid, nil), accessClaims(clock.Now(), nil))
	}
	base := keys.reads.Load()
	for i := range 100 {
		_, err := v.Verify(context.Background(), forged("kid-"+string(rune('a'+i%26))))
		wantRejected(t, err, "unknown kid")
	}
	if got := keys.reads.Load() - base; got != 0 {
		t.Errorf("%d store reads for 100 unknown kids within a second of loading; want 0", got)
	}
	clock.Advance(time.Second)
	for range 100 {
		_, err := v.Verify(context.Background(), forged("another"))
		wantRejected(t, err, "unknown kid")
	}
	if got := keys.reads.Load() - base; got != 1 {
		t.Errorf("%d store reads for 100 unknown kids a second later; want 1", got)
	}
	if r.KeySet() == set {
		t.Errorf("the reload did not install a new set")
	}
}

// TestRingStoreDown checks that a store that cannot be read does not stop
// signing or verifying with the keys already known, and that a kid the
// ring could not look up is reported as unavailable, not as a bad token.
func TestRingStoreDown(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	keys := &failingKeys{inner: newMemstore(t, clock)}
	r := openRing(t, keys, clock, rotationOpts)
	iss := mustIssuer(t, r, token.IssuerOptions{Now: clock.Now})
	v := mustVerifier(t, r, token.VerifierOptions{Now: clock.Now})

	keys.down.Store(true)
	clock.Advance(2 * rotationOpts.ReloadInterval)
	tok, c := issue(t, iss, "alice", "f") // the reload fails; the known key signs
	if c.KeyID != r.KeySet().Primary(clock.Now()).ID {
		t.Errorf("signed by %s", c.KeyID)
	}
	mustVerify(t, v, tok)

	clock.Advance(time.Second)
	priv := material(t, cachedKey(t, token.EdDSA, 0, t0))
	unknown := sign(t, method(token.EdDSA), priv, accessHeader("new-kid", nil), accessClaims(clock.Now(), nil))
	_, err := v.Verify(ctx, unknown)
	if err == nil || errors.Is(err, token.ErrInvalid) || !errors.Is(err, errDown) {
		t.Errorf("unknown kid with the store down: %v; want the store's error, not ErrInvalid", err)
	}
	// Within the second before the ring tries the store again, the same
	// kid is still "could not check", not "unknown".
	if _, err := v.Verify(ctx, unknown); err == nil || errors.Is(err, token.ErrInvalid) || !errors.Is(err, errDown) {
		t.Errorf("unknown kid again, before the next try: %v; want the store's error, not ErrInvalid", err)
	}
	if err := r.Reload(ctx); !errors.Is(err, errDown) {
		t.Errorf("Reload with the store down: %v", err)
	}
	if _, err := r.Rotate(ctx, ""); !errors.Is(err, errDown) {
		t.Errorf("Rotate with the store down: %v", err)
	}
	if _, err := token.OpenRing(ctx, keys, token.RingOptions{Now: clock.Now}); !errors.Is(err, errDown) || errors.Is(err, token.ErrInvalid) {
		t.Errorf("OpenRing with the store down: %v", err)
	}

	keys.down.Store(false)
	clock.Advance(time.Second)
	mustVerify(t, v, tok)
	_, err = v.Verify(ctx, unknown)
	wantRejected(t, err, "unknown kid")
}
