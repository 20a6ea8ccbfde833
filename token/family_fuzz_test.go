package token

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"
)

// FuzzDecodeFamily feeds any stored bytes to the refresh-family decoder, as
// a corrupt or hostile store could. It never panics; what it refuses is
// errCorruptFamily, and everything that is not family data is refused;
// what it accepts encodes back (in the shortest form, never longer than
// the input) to bytes that decode to the same state and encode to the
// same bytes again.
func FuzzDecodeFamily(f *testing.F) {
	h := func(s string) tokenHash { return sha256.Sum256([]byte(s)) }
	f.Add((&familyState{}).encode())
	f.Add((&familyState{current: []tokenHash{h("a")}}).encode())
	f.Add((&familyState{
		rotated: time.Unix(1700000000, 123),
		current: []tokenHash{h("b"), h("c")},
		spent:   []tokenHash{h("a")},
		data:    []byte{2},
	}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeFamily(b)
		if err != nil {
			if !errors.Is(err, errCorruptFamily) {
				t.Fatalf("decodeFamily error %v is not errCorruptFamily", err)
			}
			return
		}
		if !isFamilyData(b) {
			t.Fatalf("decoded %q, which isFamilyData refuses", b)
		}
		enc := st.encode()
		if len(enc) > len(b) {
			t.Fatalf("re-encoding grew %d bytes to %d", len(b), len(enc))
		}
		again, err := decodeFamily(enc)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if !sameState(st, again) {
			t.Fatalf("round trip changed the state: %+v → %+v", st, again)
		}
		if !bytes.Equal(again.encode(), enc) {
			t.Fatal("encoding is not stable")
		}
	})
}

func sameState(a, b familyState) bool {
	return a.rotated.Equal(b.rotated) && slices.Equal(a.current, b.current) &&
		slices.Equal(a.spent, b.spent) && bytes.Equal(a.data, b.data)
}
