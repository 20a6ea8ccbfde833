package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// keyTime is the creation time of the test keys: whole milliseconds, so
// that a backend that keeps times to the millisecond gives it back Equal.
var keyTime = time.Date(2026, 2, 3, 4, 5, 6, 789_000_000, time.UTC)

// newKey returns a key named id with a 32-byte secret made from seed,
// created at keyTime plus offset, with neither SignsFrom nor Retires.
func newKey(id string, seed byte, offset time.Duration) store.Key {
	return store.Key{ID: id, Secret: bytes.Repeat([]byte{seed}, 32), Created: keyTime.Add(offset)}
}

// testKeyFields checks that every field of a key comes back as it was
// added, by AddKey, AddFirstKey or RotateKey, a zero SignsFrom or Retires
// as the zero time, and that neither the key added nor one returned
// shares memory with what the store keeps.
func testKeyFields(t *testing.T, s store.Keys) {
	ctx := context.Background()
	zone := time.FixedZone("UTC+5:30", 5*3600+30*60)
	keys := []store.Key{
		{ID: "plain", Secret: bytes.Repeat([]byte{1}, 32), Created: keyTime},
		{ID: "signs later", Secret: bytes.Repeat([]byte{2}, 32), Created: keyTime.Add(time.Minute),
			SignsFrom: keyTime.Add(6 * time.Minute)},
		{ID: "retiring", Secret: bytes.Repeat([]byte{3}, 32), Created: keyTime.Add(2 * time.Minute),
			SignsFrom: keyTime.Add(7 * time.Minute), Retires: keyTime.Add(48 * time.Hour)},
		{ID: "retiring, signs from creation", Secret: bytes.Repeat([]byte{4}, 32), Created: keyTime.Add(3 * time.Minute),
			Retires: keyTime.Add(49*time.Hour + time.Millisecond)},
		// Secret bytes that look like the separators a backend might use,
		// and times in another zone.
		{ID: "k:{x}@1", Secret: []byte("@1:2:3:\x00\xff:"), Created: keyTime.Add(4 * time.Minute).In(zone),
			SignsFrom: keyTime.Add(9 * time.Minute).In(zone), Retires: keyTime.Add(50 * time.Hour).In(zone)},
		// A secret as large as an encrypted key might be.
		{ID: "large", Secret: bytes.Repeat([]byte{0, ':', 255}, 20<<10), Created: keyTime.Add(5 * time.Minute),
			SignsFrom: keyTime.Add(5 * time.Minute)},
	}
	for _, c := range []struct {
		name string
		add  func(purpose string, k store.Key) error
		// purpose returns the purpose the key is added to.
		purpose func(k store.Key) string
	}{
		{"AddKey", func(p string, k store.Key) error { return s.AddKey(ctx, p, k) },
			func(store.Key) string { return "AddKey" }},
		// A rotation at the zero time retires nothing, so every key
		// keeps the Retires it was given.
		{"RotateKey", func(p string, k store.Key) error { return s.RotateKey(ctx, p, k, time.Time{}) },
			func(store.Key) string { return "RotateKey" }},
		// Each first key in a purpose of its own.
		{"AddFirstKey", func(p string, k store.Key) error { return s.AddFirstKey(ctx, p, k) },
			func(k store.Key) string { return "AddFirstKey " + k.ID }},
	} {
		added := cloneKeys(keys)
		want := map[string][]store.Key{} // by purpose
		var purposes []string
		for i := range added {
			p := c.purpose(added[i])
			if err := c.add(p, added[i]); err != nil {
				t.Fatalf("%s(%q): %v", c.name, added[i].ID, err)
			}
			// The caller may reuse what it added.
			added[i].Secret[0] ^= 0xff
			if want[p] == nil {
				purposes = append(purposes, p)
			}
			want[p] = append(want[p], keys[i])
		}
		for _, p := range purposes {
			checkKeys(t, s, p, want[p], "after "+c.name)
			got, err := s.Keys(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range got {
				k.Secret[0] ^= 0xff
			}
			checkKeys(t, s, p, want[p], "after "+c.name+", and the caller changed what Keys returned")
		}
	}
}

// testAddFirstKey checks that AddFirstKey adds a key only to a purpose
// that has none, whatever added the keys it has, and that each purpose
// counts alone.
func testAddFirstKey(t *testing.T, s store.Keys) {
	ctx := context.Background()
	first := newKey("first", 1, 0)
	first.SignsFrom = keyTime.Add(5 * time.Minute)
	token := newKey("first", 9, time.Hour) // the same ID in another purpose
	again := newKey("again", 3, 3*time.Hour)
	none := []store.Key{}
	steps := []struct {
		name          string
		call          func() error
		wantErr       error
		cookie, token []store.Key // the keys of each purpose afterwards
	}{
		{"AddFirstKey on an empty purpose",
			func() error { return s.AddFirstKey(ctx, "cookie", first) }, nil,
			[]store.Key{first}, none},
		{"AddFirstKey with another ID",
			func() error { return s.AddFirstKey(ctx, "cookie", newKey("second", 2, time.Minute)) }, store.ErrExists,
			[]store.Key{first}, none},
		{"AddFirstKey with the first key's ID",
			func() error { return s.AddFirstKey(ctx, "cookie", newKey("first", 2, time.Minute)) }, store.ErrExists,
			[]store.Key{first}, none},
		{"AddFirstKey on another purpose",
			func() error { return s.AddFirstKey(ctx, "token", token) }, nil,
			[]store.Key{first}, []store.Key{token}},
		{"AddFirstKey of the same key again",
			func() error { return s.AddFirstKey(ctx, "cookie", first) }, store.ErrExists,
			[]store.Key{first}, []store.Key{token}},
		{"DeleteKey of the only key",
			func() error { return s.DeleteKey(ctx, "cookie", "first") }, nil,
			none, []store.Key{token}},
		{"AddFirstKey once the purpose has no key again",
			func() error { return s.AddFirstKey(ctx, "cookie", again) }, nil,
			[]store.Key{again}, []store.Key{token}},
	}
	for _, st := range steps {
		if err := st.call(); !errors.Is(err, st.wantErr) {
			t.Errorf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		checkKeys(t, s, "cookie", st.cookie, "after "+st.name)
		checkKeys(t, s, "token", st.token, "after "+st.name+" (the other purpose)")
	}

	// A purpose whose keys AddKey or RotateKey added has keys too.
	for _, add := range []struct {
		name string
		add  func(purpose string, k store.Key) error
	}{
		{"AddKey", func(p string, k store.Key) error { return s.AddKey(ctx, p, k) }},
		{"RotateKey", func(p string, k store.Key) error { return s.RotateKey(ctx, p, k, time.Time{}) }},
	} {
		purpose := "added by " + add.name
		k := newKey("k", 4, 0)
		if err := add.add(purpose, k); err != nil {
			t.Fatalf("%s: %v", add.name, err)
		}
		if err := s.AddFirstKey(ctx, purpose, newKey("other", 5, time.Minute)); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddFirstKey on a purpose with a key %s added: err = %v, want ErrExists", add.name, err)
		}
		checkKeys(t, s, purpose, []store.Key{k}, "after AddFirstKey on a purpose with a key "+add.name+" added")
	}
}

// testAddFirstKeyConcurrent has instances start together on an empty
// purpose, round after round: in each, exactly one AddFirstKey succeeds,
// every other gets ErrExists, and the purpose holds the winner's key
// alone.
func testAddFirstKeyConcurrent(t *testing.T, s store.Keys) {
	ctx := context.Background()
	const (
		n      = 8
		rounds = 20
	)
	for round := range rounds {
		purpose := fmt.Sprintf("race-%d", round)
		keys := make([]store.Key, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			keys[i] = newKey(fmt.Sprintf("key-%d", i), byte(i+1), time.Duration(i)*time.Second)
			wg.Go(func() {
				<-start // all at once, as near as may be
				errs[i] = s.AddFirstKey(ctx, purpose, keys[i])
			})
		}
		close(start)
		wg.Wait()
		won, winner := 0, -1
		for i, err := range errs {
			switch {
			case err == nil:
				won, winner = won+1, i
			case errors.Is(err, store.ErrExists):
			default:
				t.Errorf("round %d, goroutine %d: %v", round, i, err)
			}
		}
		if won != 1 {
			got, _ := s.Keys(ctx, purpose)
			t.Fatalf("round %d: %d of %d concurrent AddFirstKey calls succeeded, want exactly 1; Keys = %v",
				round, won, n, keyIDs(got))
		}
		checkKeys(t, s, purpose, []store.Key{keys[winner]}, fmt.Sprintf("round %d, after goroutine %d won", round, winner))
	}
}

// testRotateKey checks that RotateKey adds its key last and retires, at
// the time given, the keys of its purpose that were not retiring yet,
// keeping the times of those that were; that a taken ID changes nothing;
// and that other purposes are left alone.
func testRotateKey(t *testing.T, s store.Keys) {
	ctx := context.Background()
	k1 := newKey("k1", 1, 0)
	k1.SignsFrom = keyTime
	k2 := newKey("k2", 2, time.Hour)
	k2.Retires = keyTime.Add(30 * 24 * time.Hour) // already scheduled
	k3 := newKey("k3", 3, 2*time.Hour)
	tok := newKey("k1", 9, 0) // the same ID in another purpose
	for _, k := range []store.Key{k1, k2, k3} {
		if err := s.AddKey(ctx, "cookie", k); err != nil {
			t.Fatalf("AddKey(%s): %v", k.ID, err)
		}
	}
	if err := s.AddKey(ctx, "token", tok); err != nil {
		t.Fatalf("AddKey(token): %v", err)
	}

	retire1 := keyTime.Add(72 * time.Hour)
	retire2 := keyTime.Add(96*time.Hour + time.Millisecond)
	k4 := newKey("k4", 4, 3*time.Hour)
	k4.SignsFrom = keyTime.Add(3*time.Hour + 5*time.Minute)
	k5 := newKey("k5", 5, 4*time.Hour)
	k5.SignsFrom = keyTime.Add(4*time.Hour + 5*time.Minute)
	retired := func(k store.Key, at time.Time) store.Key { k.Retires = at; return k }

	steps := []struct {
		name    string
		purpose string
		key     store.Key
		retire  time.Time
		wantErr error
		cookie  []store.Key // the keys of "cookie" afterwards
	}{
		{"RotateKey", "cookie", k4, retire1, nil,
			[]store.Key{retired(k1, retire1), k2, retired(k3, retire1), k4}},
		{"RotateKey with the ID of a retiring key", "cookie", newKey("k2", 7, 5*time.Hour), retire2, store.ErrExists,
			[]store.Key{retired(k1, retire1), k2, retired(k3, retire1), k4}},
		{"RotateKey with the ID of the newest key", "cookie", newKey("k4", 7, 5*time.Hour), retire2, store.ErrExists,
			[]store.Key{retired(k1, retire1), k2, retired(k3, retire1), k4}},
		{"RotateKey again", "cookie", k5, retire2, nil,
			[]store.Key{retired(k1, retire1), k2, retired(k3, retire1), retired(k4, retire2), k5}},
		{"RotateKey with an ID another purpose has", "other", newKey("k5", 8, 0), retire2, nil,
			[]store.Key{retired(k1, retire1), k2, retired(k3, retire1), retired(k4, retire2), k5}},
	}
	for _, st := range steps {
		err := s.RotateKey(ctx, st.purpose, st.key, st.retire)
		if !errors.Is(err, st.wantErr) {
			t.Errorf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		checkKeys(t, s, "cookie", st.cookie, "after "+st.name)
		checkKeys(t, s, "token", []store.Key{tok}, "after "+st.name+" (another purpose)")
	}
	checkKeys(t, s, "other", []store.Key{newKey("k5", 8, 0)}, "after RotateKey on a purpose without keys")

	// A key RotateKey added keeps the Retires it was given, and a rotation
	// with the zero time retires nothing.
	scheduled := retired(newKey("scheduled", 6, 0), retire1)
	if err := s.RotateKey(ctx, "zero", scheduled, retire2); err != nil {
		t.Fatalf("RotateKey of a key with Retires set: %v", err)
	}
	next := newKey("next", 7, time.Hour)
	if err := s.RotateKey(ctx, "zero", next, time.Time{}); err != nil {
		t.Fatalf("RotateKey with the zero retire time: %v", err)
	}
	checkKeys(t, s, "zero", []store.Key{scheduled, next}, "after RotateKey with a scheduled key and with the zero time")
}

// testRotateKeyConcurrent has goroutines rotate one purpose at once,
// round after round. Each rotation is one atomic step, so in the order
// Keys returns every key but the newest retires, at the time of the
// rotation that added the key after it, and the newest does not.
func testRotateKeyConcurrent(t *testing.T, s store.Keys) {
	ctx := context.Background()
	const (
		n      = 8
		rounds = 5
	)
	retireOf := map[string]time.Time{} // by the ID of the key a rotation added
	if err := s.AddKey(ctx, "rotated", newKey("initial", 1, 0)); err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			k := newKey(fmt.Sprintf("r%d-%d", round, i), byte(i+2), time.Duration(round)*time.Hour+time.Duration(i)*time.Second)
			retire := keyTime.Add(24*time.Hour + time.Duration(round*n+i)*time.Minute)
			retireOf[k.ID] = retire
			wg.Go(func() {
				<-start
				errs[i] = s.RotateKey(ctx, "rotated", k, retire)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, goroutine %d: RotateKey: %v", round, i, err)
			}
		}
		keys, err := s.Keys(ctx, "rotated")
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + (round+1)*n; len(keys) != want {
			t.Fatalf("round %d: Keys = %d keys %v, want %d", round, len(keys), keyIDs(keys), want)
		}
		for j, k := range keys[:len(keys)-1] {
			next := keys[j+1].ID
			if want := retireOf[next]; !k.Retires.Equal(want) {
				t.Errorf("round %d: key %s (position %d) retires at %v, want %v, the time of the rotation that added %s, next in order %v",
					round, k.ID, j, k.Retires, want, next, keyIDs(keys))
			}
		}
		if last := keys[len(keys)-1]; !last.Retires.IsZero() {
			t.Errorf("round %d: the newest key, %s, retires at %v, want never", round, last.ID, last.Retires)
		}
		if t.Failed() {
			return
		}
	}
}

// testReplaceKeySecret checks ReplaceKeySecret's compare-and-swap: the
// secret changes only when it is still the one the caller names, exactly,
// and the key keeps its ID, place and times; a missing key, in its
// purpose, is ErrNotFound.
func testReplaceKeySecret(t *testing.T, s store.Keys) {
	ctx := context.Background()
	a := newKey("a", 1, 0)
	b := newKey("b", 2, time.Hour)
	b.SignsFrom, b.Retires = keyTime.Add(2*time.Hour), keyTime.Add(72*time.Hour)
	c := newKey("c", 3, 2*time.Hour)
	tok := newKey("b", 9, 0) // the same ID in another purpose
	for _, k := range []store.Key{a, b, c} {
		if err := s.AddKey(ctx, "cookie", k); err != nil {
			t.Fatalf("AddKey(%s): %v", k.ID, err)
		}
	}
	if err := s.AddKey(ctx, "token", tok); err != nil {
		t.Fatal(err)
	}
	sealed := []byte("b sealed under a new key-encryption key")
	resealed := bytes.Repeat([]byte("b sealed again "), 4<<10)
	with := func(k store.Key, secret []byte) store.Key { k.Secret = secret; return k }

	steps := []struct {
		name        string
		purpose, id string
		old, secret []byte
		wantErr     error
		cookie      []store.Key // the keys of "cookie" afterwards
	}{
		{"ReplaceKeySecret", "cookie", "b", b.Secret, sealed, nil,
			[]store.Key{a, with(b, sealed), c}},
		{"ReplaceKeySecret with the secret it replaced", "cookie", "b", b.Secret, []byte("lost"), store.ErrConflict,
			[]store.Key{a, with(b, sealed), c}},
		{"ReplaceKeySecret with a prefix of the secret", "cookie", "b", sealed[:len(sealed)-1], []byte("lost"), store.ErrConflict,
			[]store.Key{a, with(b, sealed), c}},
		{"ReplaceKeySecret with the secret and more", "cookie", "b", append(slices.Clone(sealed), 0), []byte("lost"), store.ErrConflict,
			[]store.Key{a, with(b, sealed), c}},
		{"ReplaceKeySecret with the other purpose's secret", "cookie", "b", tok.Secret, []byte("lost"), store.ErrConflict,
			[]store.Key{a, with(b, sealed), c}},
		{"ReplaceKeySecret of a missing key", "cookie", "missing", b.Secret, []byte("lost"), store.ErrNotFound,
			[]store.Key{a, with(b, sealed), c}},
		{"ReplaceKeySecret in a purpose without keys", "nothing", "b", sealed, []byte("lost"), store.ErrNotFound,
			[]store.Key{a, with(b, sealed), c}},
		{"ReplaceKeySecret with a larger secret", "cookie", "b", sealed, resealed, nil,
			[]store.Key{a, with(b, resealed), c}},
		{"ReplaceKeySecret of the first key", "cookie", "a", a.Secret, []byte("a2"), nil,
			[]store.Key{with(a, []byte("a2")), with(b, resealed), c}},
	}
	for _, st := range steps {
		// The caller may reuse what it passed.
		secret := slices.Clone(st.secret)
		err := s.ReplaceKeySecret(ctx, st.purpose, st.id, slices.Clone(st.old), secret)
		if !errors.Is(err, st.wantErr) {
			t.Errorf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		secret[0] ^= 0xff
		checkKeys(t, s, "cookie", st.cookie, "after "+st.name)
		checkKeys(t, s, "token", []store.Key{tok}, "after "+st.name+" (another purpose)")
	}
	if got, _ := s.Keys(ctx, "nothing"); len(got) != 0 {
		t.Errorf("ReplaceKeySecret in a purpose without keys added keys: %v", keyIDs(got))
	}

	// A key whose secret was replaced retires like any other.
	d := newKey("d", 4, 3*time.Hour)
	retire := keyTime.Add(96 * time.Hour)
	if err := s.RotateKey(ctx, "cookie", d, retire); err != nil {
		t.Fatalf("RotateKey after ReplaceKeySecret: %v", err)
	}
	retiredA, retiredC := with(a, []byte("a2")), c
	retiredA.Retires, retiredC.Retires = retire, retire
	checkKeys(t, s, "cookie", []store.Key{retiredA, with(b, resealed), retiredC, d}, "after RotateKey")
}

// testStoreTime checks that a store that implements store.Clock tells the
// time: the stores the suite runs against are local, so their clock and
// the test's agree to within a minute. It skips stores that do not
// implement store.Clock.
func testStoreTime(t *testing.T, s store.Keys) {
	c, ok := s.(store.Clock)
	if !ok {
		t.Skip("the store does not implement store.Clock")
	}
	for range 3 {
		now := time.Now()
		got, err := c.StoreTime(context.Background())
		if err != nil {
			t.Fatalf("StoreTime: %v", err)
		}
		if d := got.Sub(now); d < -time.Minute || d > time.Minute {
			t.Fatalf("StoreTime = %v, %v from the test's clock (%v), want within a minute", got, d, now)
		}
	}
}

// checkKeys checks that Keys of purpose returns want, in its order, every
// field as it is in want; an empty want means an empty slice, not an
// error.
func checkKeys(t *testing.T, s store.Keys, purpose string, want []store.Key, when string) {
	t.Helper()
	got, err := s.Keys(context.Background(), purpose)
	if err != nil {
		t.Errorf("%s: Keys(%q): %v", when, purpose, err)
		return
	}
	if got == nil {
		t.Errorf("%s: Keys(%q) = nil, want an empty slice", when, purpose)
	}
	if len(got) != len(want) {
		t.Errorf("%s: Keys(%q) = %d keys %q, want %d %q", when, purpose, len(got), keyIDs(got), len(want), keyIDs(want))
		return
	}
	for i := range want {
		if !sameKey(got[i], want[i]) {
			t.Errorf("%s: Keys(%q)[%d] =\n\t%s\nwant\n\t%s (oldest first: %q)",
				when, purpose, i, formatKey(got[i]), formatKey(want[i]), keyIDs(want))
		}
	}
}

// sameKey reports whether a and b are the same key, field for field.
// Times compare with Equal, so a zero time equals only a zero time.
func sameKey(a, b store.Key) bool {
	return a.ID == b.ID && bytes.Equal(a.Secret, b.Secret) && a.Created.Equal(b.Created) &&
		a.SignsFrom.Equal(b.SignsFrom) && a.Retires.Equal(b.Retires)
}

// formatKey shows k for an error message, its secret shortened.
func formatKey(k store.Key) string {
	return fmt.Sprintf("{ID:%q Secret:%x (%d bytes) Created:%v SignsFrom:%v Retires:%v}",
		k.ID, abbrev(slices.Clone(k.Secret)), len(k.Secret), k.Created, k.SignsFrom, k.Retires)
}

// cloneKeys returns a copy of keys that shares no memory with it.
func cloneKeys(keys []store.Key) []store.Key {
	out := slices.Clone(keys)
	for i := range out {
		out[i].Secret = slices.Clone(out[i].Secret)
	}
	return out
}
