package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"
)

// A family's state is kept in its store.Record's Data, in one of two
// formats. Format 2, written once a rotation has sealed a successor:
//
//	magic "SKRF" | format byte (2) | rotated (8 bytes, Unix ns, big-endian)
//	| n current (1 byte) | n × 32-byte hash | n spent (1 byte, at least 1)
//	| n × hash | sealed successor (sealedSize bytes)
//	| uvarint length | application data
//
// Format 1, written by earlier versions and still for a state with no
// sealed successor (a family never rotated), is the same without the
// sealed successor:
//
//	magic "SKRF" | format byte (1) | rotated | n current | n × hash
//	| n spent | n × hash | uvarint length | application data
//
// Each state has one encoding: the oldest format that holds it, so that a
// version that reads only format 1 (one rolled back to, or not yet
// upgraded) still reads every family that was never rotated.
//
// Current hashes name the refresh tokens that may be used: one, except in
// a format-1 record written by a version that gave each use within the
// grace window a token of its own. Spent hashes name those the last
// rotation spent, at time rotated, which may still be presented during the
// grace window: one, the token rotated, except in a family carried over
// from format 1 (the others of its current tokens, and those a fresh
// successor replaced within the window; see Refresher.Rotate). The sealed
// successor is the secret of the current token, sealed under a key derived
// from the first spent token (see sealSuccessor): the holder of that
// token, and no one else, can read it, and only that token gets it back.
var familyMagic = []byte("SKRF")

// familyFormat is the format of a family with a sealed successor;
// familyFormatV1 that of the others, and of records written by earlier
// versions.
const (
	familyFormat   = 2
	familyFormatV1 = 1
)

// maxSpent bounds the spent hashes a family keeps. Only a family carried
// over from format 1 has more than one.
const maxSpent = 8

// errCorruptFamily reports a family record this package cannot decode.
var errCorruptFamily = errors.New("token: stored refresh family is corrupt")

type tokenHash [sha256.Size]byte

type familyState struct {
	rotated time.Time
	current []tokenHash
	spent   []tokenHash
	// sealed is the successor of spent[0] (sealedSize bytes), or nil.
	sealed []byte
	data   []byte
}

// isFamilyData reports whether data begins as a refresh family's encoding
// does. Records are told apart by their store.Kind; this only guards the
// decoder.
func isFamilyData(data []byte) bool {
	if len(data) <= len(familyMagic) || !bytes.Equal(data[:len(familyMagic)], familyMagic) {
		return false
	}
	f := data[len(familyMagic)]
	return f == familyFormat || f == familyFormatV1
}

func (st *familyState) encode() []byte {
	n := len(familyMagic) + 1 + 8 + 2 + sha256.Size*(len(st.current)+len(st.spent)) + len(st.sealed) +
		binary.MaxVarintLen64 + len(st.data)
	b := make([]byte, 0, n)
	b = append(b, familyMagic...)
	if len(st.sealed) > 0 {
		b = append(b, familyFormat)
	} else {
		b = append(b, familyFormatV1)
	}
	var rotated int64
	if !st.rotated.IsZero() {
		rotated = st.rotated.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(rotated))
	b = append(b, byte(len(st.current)))
	for _, h := range st.current {
		b = append(b, h[:]...)
	}
	b = append(b, byte(len(st.spent)))
	for _, h := range st.spent {
		b = append(b, h[:]...)
	}
	b = append(b, st.sealed...)
	b = binary.AppendUvarint(b, uint64(len(st.data)))
	return append(b, st.data...)
}

func decodeFamily(b []byte) (familyState, error) {
	var st familyState
	if !isFamilyData(b) {
		return st, errCorruptFamily
	}
	format := b[len(familyMagic)]
	b = b[len(familyMagic)+1:]
	if len(b) < 8 {
		return st, errCorruptFamily
	}
	if ns := int64(binary.BigEndian.Uint64(b)); ns != 0 {
		st.rotated = time.Unix(0, ns)
	}
	b = b[8:]
	var ok bool
	if st.current, b, ok = readHashes(b); !ok {
		return st, errCorruptFamily
	}
	if st.spent, b, ok = readHashes(b); !ok {
		return st, errCorruptFamily
	}
	if format == familyFormat {
		if len(st.spent) == 0 || len(b) < sealedSize {
			return st, errCorruptFamily
		}
		st.sealed = bytes.Clone(b[:sealedSize])
		b = b[sealedSize:]
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n != uint64(len(b)-k) {
		return st, errCorruptFamily
	}
	if n > 0 {
		st.data = bytes.Clone(b[k:])
	}
	return st, nil
}

func readHashes(b []byte) ([]tokenHash, []byte, bool) {
	if len(b) < 1 {
		return nil, nil, false
	}
	n := int(b[0])
	b = b[1:]
	if len(b) < n*sha256.Size {
		return nil, nil, false
	}
	hs := make([]tokenHash, n)
	for i := range hs {
		copy(hs[i][:], b[i*sha256.Size:])
	}
	return hs, b[n*sha256.Size:], true
}

func contains(hs []tokenHash, h tokenHash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// spentFirst returns h followed by the hashes of each of lists that are
// not h, without repeats, cut to maxSpent: the spent hashes of a rotation
// that spent h (the token whose key seals the successor) and the others.
func spentFirst(h tokenHash, lists ...[]tokenHash) []tokenHash {
	out := []tokenHash{h}
	for _, l := range lists {
		for _, x := range l {
			if len(out) == maxSpent {
				return out
			}
			if !contains(out, x) {
				out = append(out, x)
			}
		}
	}
	return out
}
