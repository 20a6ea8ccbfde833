package session

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	values := map[string]any{
		"s": "text", "b": []byte{1, 2}, "i": int64(-7), "t": true, "f": false,
		"x": 1.5, "when": time.Unix(0, 1700000000123456789), "": "",
	}
	got, _, err := decode(encode(nil, values, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(values) {
		t.Fatalf("decoded %d values, want %d", len(got), len(values))
	}
	for k, v := range values {
		switch v := v.(type) {
		case []byte:
			if !bytes.Equal(got[k].([]byte), v) {
				t.Errorf("%q = %v, want %v", k, got[k], v)
			}
		case time.Time:
			if !got[k].(time.Time).Equal(v) {
				t.Errorf("%q = %v, want %v", k, got[k], v)
			}
		default:
			if got[k] != v {
				t.Errorf("%q = %v, want %v", k, got[k], v)
			}
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	valid := encode(nil, map[string]any{"k": "value"}, 0)
	cases := map[string][]byte{
		"unknown version":          {9, 0},
		"truncated":                valid[:len(valid)-2],
		"trailing bytes":           append(append([]byte{}, valid...), 0),
		"huge count":               {codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unknown kind":             {codecVersion, 1, 1, 'k', 99, 0},
		"bad bool":                 {codecVersion, 1, 1, 'k', kindBool, 2},
		"huge length":              {codecVersion, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"short float":              {codecVersion, 1, 1, 'k', kindFloat, 1, 2},
		"unknown flags":            {codecVersion2, 0x80, 0},
		"codec value in version 1": {codecVersion, 1, 1, '0', kindCodec, 1, '0'},
		"v2 without flags":         {codecVersion2},
		"short codec value":        {codecVersion2, 0, 1, 1, 'k', kindCodec, 5, '{'},
	}
	for name, data := range cases {
		if _, _, err := decode(data); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: decode = %v, want errCorrupt", name, err)
		}
	}
}

// FuzzDecode checks that no stored bytes make decode panic, that what it
// refuses is errCorrupt, and that what decodes encodes back (to exactly
// encodedSize bytes, the size Put checks against MaxDataBytes) to something
// that decodes to the same values.
func FuzzDecode(f *testing.F) {
	f.Add(encode(nil, map[string]any{"count": int64(3), "user": "alice", "ok": true}, 0))
	f.Add(encode(nil, map[string]any{"t": time.Unix(5, 6), "f": 2.5, "b": []byte("x")}, 0))
	f.Add(encode(nil, map[string]any{"cart": encoded(`[{"sku":"a","n":2}]`)}, flagPersistChosen))
	f.Add([]byte{})
	f.Add([]byte{codecVersion, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		values, flags, err := decode(data)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("decode error %v is not errCorrupt", err)
			}
			return
		}
		enc := encode(nil, values, flags)
		if len(data) > 0 && len(enc) > len(data) {
			t.Fatalf("re-encoding grew %d bytes to %d", len(data), len(enc))
		}
		if n := encodedSize(values, flags); n != len(enc) {
			t.Fatalf("encodedSize = %d, encode wrote %d bytes", n, len(enc))
		}
		again, againFlags, err := decode(enc)
		if err != nil {
			t.Fatalf("re-encoding decoded values does not decode: %v", err)
		}
		if againFlags != flags {
			t.Fatalf("round trip changed the flags: %#x → %#x", flags, againFlags)
		}
		if len(again) != len(values) {
			t.Fatalf("round trip changed the number of values: %d → %d", len(values), len(again))
		}
		for k, v := range values {
			if !sameValue(v, again[k]) {
				t.Fatalf("round trip changed %q: %#v → %#v", k, v, again[k])
			}
		}
	})
}

// sameValue compares two decoded values; floats by their bits, so that NaN
// equals itself.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case encoded:
		b, ok := b.(encoded)
		return ok && bytes.Equal(a, b)
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	default:
		return a == b
	}
}
