package session

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestEncodedSize checks the sizes Put checks against are those encode
// writes, at the edges of each varint length.
func TestEncodedSize(t *testing.T) {
	cases := map[string]map[string]any{
		"empty":        {},
		"one of each":  {"s": "text", "b": []byte{1}, "i": int64(-7), "t": true, "x": 1.5, "w": time.Unix(0, 1700000000123456789)},
		"long key":     {strings.Repeat("k", 200): ""},
		"long value":   {"v": strings.Repeat("v", 20000)},
		"big ints":     {"a": int64(math.MaxInt64), "b": int64(math.MinInt64), "c": int64(63), "d": int64(64), "e": int64(-64), "f": int64(-65)},
		"zero time":    {"z": time.Time{}},
		"empty key":    {"": []byte{}},
		"many entries": manyEntries(300),
		"encoded":      {"e": encoded(`{"a":1}`)},
	}
	for name, values := range cases {
		for _, flags := range []byte{0, flagPersistChosen | flagPersist} {
			want := len(encode(nil, values, flags))
			if got := encodedSize(values, flags); got != want {
				t.Errorf("%s, flags %#x: encodedSize = %d, encode wrote %d", name, flags, got, want)
			}
			for _, put := range []struct {
				key string
				v   any
			}{{"new", "value"}, {"s", strings.Repeat("y", 300)}, {"v", int64(1)}, {"cart", encoded(`["a","b"]`)}, {"e", int64(2)}} {
				with := make(map[string]any, len(values)+1)
				for k, v := range values {
					with[k] = v
				}
				with[put.key] = put.v
				if got, want := sizeWith(values, put.key, put.v, flags), len(encode(nil, with, flags)); got != want {
					t.Errorf("%s, flags %#x, put %q: sizeWith = %d, encode wrote %d", name, flags, put.key, got, want)
				}
			}
		}
	}
}

func manyEntries(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('A'+i/26))] = int64(i)
	}
	return m
}
