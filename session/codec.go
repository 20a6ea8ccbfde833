package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The record's Data is a small binary encoding of the session's state:
//
//	version 1: 1 | uvarint count | count × entry
//	version 2: 2 | flags byte | uvarint count | count × entry
//	entry = uvarint key length | key | kind byte | value
//
// with values as uvarint length + bytes (string, bytes, and a value of any
// other type as Options.Codec encoded it), zig-zag varint (int, time in
// Unix nanoseconds), one byte (bool) or 8 bytes big-endian IEEE 754
// (float). The basic kinds cost no reflection. Version 2 carries the
// cookie's persistence (flags) and values encoded by the Codec; a session
// that has neither is written as version 1, which instances of earlier
// releases read too.
const (
	codecVersion  = 1
	codecVersion2 = 2
)

// Flags of version 2: the persistence SetRememberMe chose.
const (
	flagPersistChosen byte = 1 << iota // SetRememberMe was called; flagPersist holds its choice
	flagPersist                        // the cookie has a Max-Age
	knownFlags        = flagPersistChosen | flagPersist
)

const (
	kindString byte = 1 + iota
	kindBytes
	kindInt
	kindBool
	kindFloat
	kindTime
	kindCodec // bytes from Options.Codec
)

// errCorrupt reports stored data this package cannot decode.
var errCorrupt = errors.New("session: stored data is corrupt")

// encode appends the encoding of values, with flags, to dst.
func encode(dst []byte, values map[string]any, flags byte) []byte {
	if dst == nil {
		dst = make([]byte, 0, encodedSize(values, flags))
	}
	if flags == 0 && !hasEncoded(values) {
		dst = append(dst, codecVersion)
	} else {
		dst = append(dst, codecVersion2, flags)
	}
	dst = binary.AppendUvarint(dst, uint64(len(values)))
	for k, v := range values {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		switch v := v.(type) {
		case string:
			dst = append(dst, kindString)
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		case []byte:
			dst = append(dst, kindBytes)
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		case encoded:
			dst = append(dst, kindCodec)
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		case int64:
			dst = append(dst, kindInt)
			dst = binary.AppendVarint(dst, v)
		case bool:
			dst = append(dst, kindBool)
			if v {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		case float64:
			dst = append(dst, kindFloat)
			dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
		case time.Time:
			dst = append(dst, kindTime)
			dst = binary.AppendVarint(dst, v.UnixNano())
		default:
			// put normalizes every value to one of the kinds above.
			panic(fmt.Sprintf("session: cannot encode %T", v))
		}
	}
	return dst
}

// hasEncoded reports whether values hold a value encoded by the Codec.
func hasEncoded(values map[string]any) bool {
	for _, v := range values {
		if _, ok := v.(encoded); ok {
			return true
		}
	}
	return false
}

// decode parses data written by encode, of either version. Empty data is
// an empty session. Anything malformed gives errCorrupt; decode never
// panics and never allocates more than data's length suggests. Values
// encoded by the Codec stay encoded until Get asks for them as a type.
func decode(data []byte) (map[string]any, byte, error) {
	if len(data) == 0 {
		return map[string]any{}, 0, nil
	}
	var flags byte
	d := decoder{b: data[1:]}
	switch data[0] {
	case codecVersion:
	case codecVersion2:
		flags = d.byte()
		if flags&^knownFlags != 0 {
			return nil, 0, fmt.Errorf("%w: unknown flags %#x", errCorrupt, flags)
		}
	default:
		return nil, 0, fmt.Errorf("%w: unknown version %d", errCorrupt, data[0])
	}
	n := d.uvarint()
	// Every entry takes at least 3 bytes: key length, kind and value.
	if d.err != nil || n > uint64(len(d.b))/3 {
		return nil, 0, errCorrupt
	}
	values := make(map[string]any, n)
	for range n {
		k := string(d.bytes())
		var v any
		switch d.byte() {
		case kindString:
			v = string(d.bytes())
		case kindBytes:
			v = append([]byte{}, d.bytes()...)
		case kindCodec:
			if data[0] != codecVersion2 {
				d.fail() // version 1 has no Codec values
				break
			}
			v = encoded(append([]byte{}, d.bytes()...))
		case kindInt:
			v = d.varint()
		case kindBool:
			switch d.byte() {
			case 0:
				v = false
			case 1:
				v = true
			default:
				d.fail()
			}
		case kindFloat:
			v = math.Float64frombits(binary.BigEndian.Uint64(d.take(8)))
		case kindTime:
			v = time.Unix(0, d.varint())
		default:
			d.fail()
		}
		if d.err != nil {
			return nil, 0, d.err
		}
		values[k] = v
	}
	if len(d.b) != 0 {
		return nil, 0, fmt.Errorf("%w: trailing bytes", errCorrupt)
	}
	return values, flags, nil
}

// decoder reads from b; the first failure sticks in err and every later read
// returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// take returns the next n bytes, or n zero bytes after a failure.
func (d *decoder) take(n int) []byte {
	if len(d.b) < n {
		d.fail()
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// bytes reads a uvarint length and that many bytes.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	return d.take(int(n))
}
