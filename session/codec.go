package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The record's Data is a small binary encoding of the session's values:
//
//	version byte (1) | uvarint count | count × entry
//	entry = uvarint key length | key | kind byte | value
//
// with values as uvarint length + bytes (string, bytes), zig-zag varint
// (int, time in Unix nanoseconds), one byte (bool) or 8 bytes big-endian
// IEEE 754 (float). It costs no reflection, unlike gob or JSON.
const codecVersion = 1

const (
	kindString byte = 1 + iota
	kindBytes
	kindInt
	kindBool
	kindFloat
	kindTime
)

// errCorrupt reports stored data this package cannot decode.
var errCorrupt = errors.New("session: stored data is corrupt")

// encode appends the encoding of values to dst.
func encode(dst []byte, values map[string]any) []byte {
	if dst == nil {
		dst = make([]byte, 0, encodedSize(values))
	}
	dst = append(dst, codecVersion)
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

// decode parses data written by encode. Empty data is an empty session.
// Anything malformed gives errCorrupt; decode never panics and never
// allocates more than data's length suggests.
func decode(data []byte) (map[string]any, error) {
	if len(data) == 0 {
		return map[string]any{}, nil
	}
	if data[0] != codecVersion {
		return nil, fmt.Errorf("%w: unknown version %d", errCorrupt, data[0])
	}
	d := decoder{b: data[1:]}
	n := d.uvarint()
	// Every entry takes at least 3 bytes: key length, kind and value.
	if d.err != nil || n > uint64(len(d.b))/3 {
		return nil, errCorrupt
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
			return nil, d.err
		}
		values[k] = v
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", errCorrupt)
	}
	return values, nil
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
