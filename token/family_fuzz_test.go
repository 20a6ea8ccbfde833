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
// what it accepts is a state the format can hold (a sealed successor is
// sealedSize bytes, and follows a spent token), and encodes back (in the
// shortest form, never longer than the input) to bytes that decode to the
// same state and encode to the same bytes again. The corpus holds both
// formats: format 1 as earlier versions wrote it (several current tokens),
// and format 2 with a successor sealed by sealSuccessor.
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
	var tok [familyIDBytes + secretBytes]byte
	sealed, err := sealSuccessor(tok[:], familyRecordID([familyIDBytes]byte{1}), [secretBytes]byte{2})
	if err != nil {
		f.Fatal(err)
	}
	for _, st := range []familyState{
		{rotated: time.Unix(1700000000, 123), current: []tokenHash{h("b")}, spent: []tokenHash{h("a")}, sealed: sealed},
		{rotated: time.Unix(1700000000, 0), current: []tokenHash{h("d")}, spent: []tokenHash{h("a"), h("b"), h("c")},
			sealed: sealed, data: []byte("application data")},
	} {
		b := st.encode()
		if b[len(familyMagic)] != familyFormat {
			f.Fatalf("a state with a sealed successor encodes as format %d, want %d", b[len(familyMagic)], familyFormat)
		}
		f.Add(b)
	}
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
		if st.sealed != nil && (len(st.sealed) != sealedSize || len(st.spent) == 0) {
			t.Fatalf("decoded a sealed successor of %d bytes after %d spent tokens", len(st.sealed), len(st.spent))
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
		slices.Equal(a.spent, b.spent) && bytes.Equal(a.sealed, b.sealed) && bytes.Equal(a.data, b.data)
}
