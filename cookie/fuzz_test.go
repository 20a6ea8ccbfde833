package cookie

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// FuzzOpen checks that Open never panics, and that it opens nothing but the
// one value this run sealed, under its name, in exactly the form Seal wrote
// it. The key is new in each run, so that values a previous run sealed are
// garbage to this one.
func FuzzOpen(f *testing.F) {
	key, err := GenerateKey(testNow())
	if err != nil {
		f.Fatal(err)
	}
	r := mustRing(f, key)
	const name = "session"
	plain := []byte("the only value ever sealed with this key")
	valid := mustSeal(f, r, name, plain)
	raw, _ := base64.RawURLEncoding.DecodeString(valid)

	f.Add(name, valid)
	f.Add(name, "")
	f.Add(name, "garbage")
	f.Add(name, "AQ")
	f.Add(name, valid[:len(valid)-1])
	f.Add(name, valid[:20]+"A"+valid[21:])
	f.Add(name, base64.RawURLEncoding.EncodeToString(append([]byte{1}, make([]byte, 60)...)))
	f.Add(name, base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]))
	f.Add(name, strings.Repeat("A", 5000))
	f.Add("other", valid)
	f.Add("", valid)

	f.Fuzz(func(t *testing.T, n, sealed string) {
		got, err := r.Open(n, sealed, testNow())
		if err == nil {
			if n != name || sealed != valid {
				t.Fatalf("Open(%q, %q) succeeded on something Seal did not produce", n, sealed)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("Open = %q, want %q", got, plain)
			}
			return
		}
		if got != nil {
			t.Errorf("Open returned %q with error %v", got, err)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%q, %q) error = %v, want ErrInvalid", n, sealed, err)
		}
		if n == name && sealed == valid {
			t.Errorf("Open of the valid value failed: %v", err)
		}
	})
}
