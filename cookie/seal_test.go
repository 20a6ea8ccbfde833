package cookie

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

func TestSealOpenRoundTrip(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	for _, value := range [][]byte{
		{},
		[]byte("x"),
		[]byte("hello, world"),
		bytes.Repeat([]byte{0, 0xff, '\n'}, 500),
	} {
		sealed := mustSeal(t, r, "session", value)
		got, err := r.Open("session", sealed, testNow())
		if err != nil {
			t.Fatalf("Open(Seal(%q)): %v", value, err)
		}
		if !bytes.Equal(got, value) {
			t.Errorf("Open(Seal(%q)) = %q", value, got)
		}
		if bytes.Contains([]byte(sealed), []byte("hello")) {
			t.Errorf("sealed value %q shows the plaintext", sealed)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	a := mustSeal(t, r, "n", []byte("same"))
	b := mustSeal(t, r, "n", []byte("same"))
	if a == b {
		t.Errorf("sealing the same value twice gave the same string %q", a)
	}
}

func TestSealFormat(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	value := []byte("twelve bytes")
	sealed := mustSeal(t, r, "n", value)
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sealed)
	if err != nil {
		t.Fatalf("sealed value %q is not unpadded base64url: %v", sealed, err)
	}
	if want := 1 + 4 + 24 + 8 + len(value) + 16; len(raw) != want {
		t.Errorf("sealed value has %d bytes, want %d", len(raw), want)
	}
	if raw[0] != 1 {
		t.Errorf("version byte = %d, want 1", raw[0])
	}
	if tag := keyTag(testKey("a", 1).Secret); !bytes.Equal(raw[1:5], tag[:]) {
		t.Errorf("key tag = %x, want %x", raw[1:5], tag)
	}
	if bytes.Contains(raw, testKey("a", 1).Secret[:4]) {
		t.Errorf("sealed value contains bytes of the secret")
	}
}

func TestOpenRefusesEveryAlteredByte(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	// Three lengths, so that the last character of the encoding carries 6,
	// 2 and 4 bits of data: a change to its unused bits must be refused too.
	for _, value := range []string{"some value", "some value!", "some value!!"} {
		sealed := mustSeal(t, r, "n", []byte(value))
		raw, _ := base64.RawURLEncoding.DecodeString(sealed)

		for i := range raw {
			for _, flip := range []byte{0x01, 0x80, 0xff} {
				altered := bytes.Clone(raw)
				altered[i] ^= flip
				s := base64.RawURLEncoding.EncodeToString(altered)
				if v, err := r.Open("n", s, testNow()); !errors.Is(err, ErrInvalid) || v != nil {
					t.Errorf("%q: raw byte %d ^ %#x: Open = %q, %v; want ErrInvalid", value, i, flip, v, err)
				}
			}
		}

		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.\n "
		for i := range sealed {
			for _, c := range []byte(alphabet) {
				if sealed[i] == c {
					continue
				}
				s := sealed[:i] + string(c) + sealed[i+1:]
				if v, err := r.Open("n", s, testNow()); !errors.Is(err, ErrInvalid) || v != nil {
					t.Errorf("%q: character %d set to %q: Open = %q, %v; want ErrInvalid", value, i, c, v, err)
				}
			}
		}
	}
}

func TestOpenRefusesTruncatedAndExtended(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	sealed := mustSeal(t, r, "n", []byte("some value!")) // 64 bytes: padding would show
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)

	for i := range len(sealed) {
		if _, err := r.Open("n", sealed[:i], testNow()); !errors.Is(err, ErrInvalid) {
			t.Errorf("encoded value cut to %d characters: Open error = %v, want ErrInvalid", i, err)
		}
	}
	for i := range len(raw) {
		s := base64.RawURLEncoding.EncodeToString(raw[:i])
		if _, err := r.Open("n", s, testNow()); !errors.Is(err, ErrInvalid) {
			t.Errorf("raw value cut to %d bytes: Open error = %v, want ErrInvalid", i, err)
		}
	}
	for _, s := range []string{
		sealed + "A",
		sealed + "=",
		sealed + "==",
		base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0)),
		base64.URLEncoding.EncodeToString(raw), // padded
		sealed[:10] + "\n" + sealed[10:],
	} {
		if _, err := r.Open("n", s, testNow()); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%q) error = %v, want ErrInvalid", s, err)
		}
	}
}

func TestOpenIsBoundToName(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	sealed := mustSeal(t, r, "session", []byte("v"))
	for _, name := range []string{"", "Session", "session2", "sessio", "__Host-session", "session\x00"} {
		if _, err := r.Open(name, sealed, testNow()); !errors.Is(err, ErrInvalid) {
			t.Errorf("sealed for %q, opened as %q: error = %v, want ErrInvalid", "session", name, err)
		}
	}
	// The empty name is a name like any other.
	empty := mustSeal(t, r, "", []byte("v"))
	if _, err := r.Open("", empty, testNow()); err != nil {
		t.Errorf("Open under the empty name: %v", err)
	}
	if _, err := r.Open("session", empty, testNow()); !errors.Is(err, ErrInvalid) {
		t.Errorf("sealed for \"\", opened as %q: error = %v, want ErrInvalid", "session", err)
	}
}

func TestOpenExpiry(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	expires := testNow().Add(time.Hour)
	sealed, err := r.Seal("n", []byte("v"), expires)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now  time.Time
		want error
	}{
		{testNow(), nil},
		{expires.Add(-time.Second), nil},
		{expires.Add(-time.Nanosecond), nil},
		{expires, ErrExpired},
		{expires.Add(time.Nanosecond), ErrExpired},
		{expires.Add(24 * time.Hour), ErrExpired},
	}
	for _, tt := range tests {
		v, err := r.Open("n", sealed, tt.now)
		if !errors.Is(err, tt.want) || (err == nil) != (v != nil) {
			t.Errorf("Open at expiry%+v = %q, %v; want error %v", tt.now.Sub(expires), v, err, tt.want)
		}
	}

	// Expiry is checked only for authentic values.
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	if _, err := r.Open("n", base64.RawURLEncoding.EncodeToString(raw), expires.Add(time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("altered and expired value: error = %v, want ErrInvalid", err)
	}

	// The expiry is kept to the second, rounded down.
	sealed, err = r.Seal("n", []byte("v"), expires.Add(999*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open("n", sealed, expires); !errors.Is(err, ErrExpired) {
		t.Errorf("sealed to expire at %v, opened at %v: error = %v, want ErrExpired",
			expires.Add(999*time.Millisecond), expires, err)
	}
}

func TestSealNoExpiry(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	if s, err := r.Seal("n", []byte("v"), time.Time{}); !errors.Is(err, ErrNoExpiry) || s != "" {
		t.Errorf("Seal with the zero expiry = %q, %v; want ErrNoExpiry", s, err)
	}
}

func TestKeyRotation(t *testing.T) {
	k1, k2 := testKey("k1", 1), testKey("k2", 2)
	old := mustRing(t, k1)
	both := mustRing(t, k1, k2)
	onlyNew := mustRing(t, k2)

	byK1 := mustSeal(t, old, "n", []byte("from k1"))
	byK2 := mustSeal(t, both, "n", []byte("from k2"))

	tests := []struct {
		ring   string
		r      *KeyRing
		sealed string
		want   error
	}{
		{"[k1] opens k1", old, byK1, nil},
		{"[k1,k2] opens k1", both, byK1, nil},
		{"[k1,k2] opens k2", both, byK2, nil},
		{"[k2] opens k2", onlyNew, byK2, nil},
		{"[k1] refuses k2: [k1,k2] seals with k2", old, byK2, ErrInvalid},
		{"[k2] refuses k1", onlyNew, byK1, ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := tt.r.Open("n", tt.sealed, testNow()); !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.ring, err, tt.want)
		}
	}
}

func TestKeysWithTheSameTag(t *testing.T) {
	a, b := collidingSecrets(t)
	ka := store.Key{ID: "a", Secret: a}
	kb := store.Key{ID: "b", Secret: b}
	ringA, ringB := mustRing(t, ka), mustRing(t, kb)
	both := mustRing(t, ka, kb)
	reversed := mustRing(t, kb, ka)
	byA := mustSeal(t, ringA, "n", []byte("from a"))
	byB := mustSeal(t, ringB, "n", []byte("from b"))
	for _, r := range []*KeyRing{both, reversed} {
		for sealed, want := range map[string]string{byA: "from a", byB: "from b"} {
			got, err := r.Open("n", sealed, testNow())
			if err != nil || string(got) != want {
				t.Errorf("Open = %q, %v; want %q", got, err, want)
			}
		}
	}
	if _, err := ringA.Open("n", byB, testNow()); !errors.Is(err, ErrInvalid) {
		t.Errorf("a ring with only a colliding key opened a value: error = %v", err)
	}
}

func TestSealTooLarge(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	for _, name := range []string{"n", "__Host-session", strings.Repeat("x", 100)} {
		// The largest value that fits: name, "=" and the encoded value in
		// MaxSize bytes.
		largest := 0
		for n := 0; len(name)+1+base64.RawURLEncoding.EncodedLen(53+n) <= MaxSize; n++ {
			largest = n
		}
		sealed, err := r.Seal(name, make([]byte, largest), testNow().Add(time.Hour))
		if err != nil {
			t.Fatalf("name %q, %d-byte value: Seal error = %v", name, largest, err)
		}
		if size := len(name) + 1 + len(sealed); size > MaxSize || size < MaxSize-1 {
			t.Errorf("name %q, largest value: cookie has %d bytes, want %d or %d", name, size, MaxSize-1, MaxSize)
		}
		if _, err := r.Open(name, sealed, testNow()); err != nil {
			t.Errorf("name %q: Open of the largest value: %v", name, err)
		}

		s, err := r.Seal(name, make([]byte, largest+1), testNow().Add(time.Hour))
		if !errors.Is(err, ErrTooLarge) || s != "" {
			t.Fatalf("name %q, %d-byte value: Seal = %d bytes, %v; want ErrTooLarge", name, largest+1, len(s), err)
		}
		wantSize := len(name) + 1 + base64.RawURLEncoding.EncodedLen(53+largest+1)
		for _, part := range []string{"4096", fmt.Sprint(wantSize)} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error %q does not say %s", err, part)
			}
		}
	}
	if _, err := r.Seal("n", make([]byte, 1<<20), testNow().Add(time.Hour)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1 MiB value: error = %v, want ErrTooLarge", err)
	}
}

func TestOpenGarbage(t *testing.T) {
	r := mustRing(t, testKey("a", 1))
	valid := mustSeal(t, r, "n", []byte("vv")) // 55 bytes: padding would show
	raw, _ := base64.RawURLEncoding.DecodeString(valid)
	garbage := map[string]string{
		"empty":                  "",
		"10 KB":                  strings.Repeat("A", 10<<10),
		"10 KB of a valid value": valid + strings.Repeat("A", 10<<10-len(valid)),
		"one over the limit":     strings.Repeat("A", MaxSize-len("n")),
		"not base64":             "!!!!!!!!" + valid[8:],
		"binary":                 "\x00\xff\xfe\x01" + string(raw),
		"only the version":       base64.RawURLEncoding.EncodeToString([]byte{1}),
		"header only":            base64.RawURLEncoding.EncodeToString(raw[:29]),
		"all zeros":              base64.RawURLEncoding.EncodeToString(make([]byte, len(raw))),
		"version 2":              base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:]...)),
		"padded base64":          base64.URLEncoding.EncodeToString(raw),
		"standard base64":        base64.StdEncoding.EncodeToString(raw),
		"quoted":                 `"` + valid + `"`,
		"invalid UTF-8":          "\xc3\x28" + valid,
	}
	for what, s := range garbage {
		v, err := r.Open("n", s, testNow())
		if !errors.Is(err, ErrInvalid) || v != nil {
			t.Errorf("%s: Open = %q, %v; want ErrInvalid", what, v, err)
		}
	}
}
