package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"
)

// A family's state is kept in its store.Record's Data:
//
//	magic "SKRF" | format byte (1) | rotated (8 bytes, Unix ns, big-endian)
//	| n current (1 byte) | n × 32-byte hash | n spent (1 byte) | n × hash
//	| uvarint length | application data
//
// Current hashes name the refresh tokens that may be used; spent hashes
// name those the last rotation spent, at time rotated, which may still be
// presented during the grace window.
var familyMagic = []byte("SKRF")

const familyFormat = 1

// maxCurrent bounds the tokens of a family that are valid at once: one, plus
// those handed out to clients that raced within the grace window.
const maxCurrent = 8

// errCorruptFamily reports a family record this package cannot decode.
var errCorruptFamily = errors.New("token: stored refresh family is corrupt")

type tokenHash [sha256.Size]byte

type familyState struct {
	rotated time.Time
	current []tokenHash
	spent   []tokenHash
	data    []byte
}

// isFamilyData reports whether data begins as a refresh family's encoding
// does. Records are told apart by their store.Kind; this only guards the
// decoder.
func isFamilyData(data []byte) bool {
	return len(data) > len(familyMagic) && bytes.Equal(data[:len(familyMagic)], familyMagic) &&
		data[len(familyMagic)] == familyFormat
}

func (st *familyState) encode() []byte {
	n := len(familyMagic) + 1 + 8 + 2 + sha256.Size*(len(st.current)+len(st.spent)) + binary.MaxVarintLen64 + len(st.data)
	b := make([]byte, 0, n)
	b = append(b, familyMagic...)
	b = append(b, familyFormat)
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
	b = binary.AppendUvarint(b, uint64(len(st.data)))
	return append(b, st.data...)
}

func decodeFamily(b []byte) (familyState, error) {
	var st familyState
	if !isFamilyData(b) {
		return st, errCorruptFamily
	}
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
