package cookie

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/sessionkit/sessionkit/store"
)

func TestNewKeyRingErrors(t *testing.T) {
	good := testKey("a", 1)
	tests := []struct {
		name string
		keys []store.Key
		want error
	}{
		{"no keys", nil, ErrNoKeys},
		{"empty secret", []store.Key{{ID: "a"}}, ErrKeySize},
		{"short secret", []store.Key{{ID: "a", Secret: make([]byte, 31)}}, ErrKeySize},
		{"long secret", []store.Key{{ID: "a", Secret: make([]byte, 33)}}, ErrKeySize},
		{"bad second key", []store.Key{good, {ID: "b", Secret: make([]byte, 16)}}, ErrKeySize},
		{"duplicate ID", []store.Key{good, testKey("a", 2)}, ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewKeyRing(tt.keys...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewKeyRing error = %v, want %v", err, tt.want)
			}
			if r != nil {
				t.Errorf("NewKeyRing returned a ring with an error")
			}
		})
	}
}

func TestNewKeyRingCopiesSecrets(t *testing.T) {
	k := testKey("a", 1)
	r := mustRing(t, k)
	sealed := mustSeal(t, r, "n", []byte("v"))
	clear(k.Secret) // the caller wipes its copy
	if _, err := r.Open("n", sealed, testNow()); err != nil {
		t.Fatalf("Open after the caller cleared its secret: %v", err)
	}
}

func TestGenerateKey(t *testing.T) {
	k1, err := GenerateKey(testNow())
	if err != nil {
		t.Fatal(err)
	}
	k2, err := GenerateKey(testNow())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []store.Key{k1, k2} {
		if len(k.Secret) != KeySize {
			t.Errorf("secret has %d bytes, want %d", len(k.Secret), KeySize)
		}
		if _, err := hex.DecodeString(k.ID); err != nil || len(k.ID) != 8 {
			t.Errorf("ID %q is not 8 hex digits", k.ID)
		}
		if !k.Created.Equal(testNow()) {
			t.Errorf("Created = %v, want %v", k.Created, testNow())
		}
	}
	if k1.ID == k2.ID || string(k1.Secret) == string(k2.Secret) {
		t.Errorf("two generated keys are alike: %q and %q", k1.ID, k2.ID)
	}
	if _, err := NewKeyRing(k1, k2); err != nil {
		t.Errorf("NewKeyRing of generated keys: %v", err)
	}
}

// TestSetKeys checks that a ring given new keys seals with the newest at
// once, keeps opening what the keys it still holds sealed, stops opening
// what a dropped key sealed, and keeps its keys when given bad ones.
func TestSetKeys(t *testing.T) {
	a, b := testKey("a", 1), testKey("b", 2)
	r := mustRing(t, a)
	byA := mustSeal(t, r, "n", []byte("v"))
	if err := r.SetKeys(a, b); err != nil {
		t.Fatal(err)
	}
	byB := mustSeal(t, r, "n", []byte("v"))
	only := mustRing(t, b)
	if _, err := only.Open("n", byB, testNow()); err != nil {
		t.Errorf("the value sealed after SetKeys does not open with the new key alone: %v", err)
	}
	if _, err := r.Open("n", byA, testNow()); err != nil {
		t.Errorf("a value of the key kept does not open: %v", err)
	}
	for _, bad := range [][]store.Key{nil, {{ID: "c", Secret: make([]byte, 3)}}, {b, b}} {
		if err := r.SetKeys(bad...); err == nil {
			t.Errorf("SetKeys(%d bad keys) succeeded", len(bad))
		}
	}
	if _, err := r.Open("n", byB, testNow()); err != nil {
		t.Errorf("after refused SetKeys, the ring lost its keys: %v", err)
	}
	if err := r.SetKeys(b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open("n", byA, testNow()); !errors.Is(err, ErrInvalid) {
		t.Errorf("a value of a dropped key: %v; want ErrInvalid", err)
	}
}
