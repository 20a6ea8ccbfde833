package kek

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// TestStoredFormat decodes a stored secret by the layout the package
// documentation gives, with the standard library alone: stores written
// today must stay readable.
func TestStoredFormat(t *testing.T) {
	ctx := t.Context()
	var key [keyFileSize]byte
	copy(key[:], "0123456789abcdef0123456789abcdef")
	k := localKEK("test", key)
	defer k.Close()
	secret := []byte("the secret")
	stored, err := seal(ctx, k, "cookie", "k1", secret)
	if err != nil {
		t.Fatal(err)
	}

	rest, ok := strings.CutPrefix(string(stored), "skkek1.")
	if !ok {
		t.Fatalf("stored %q does not start with skkek1.", stored)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		t.Fatalf("not unpadded base64url: %v", err)
	}
	if !bytes.Equal(raw[:8], k.id[:]) {
		t.Errorf("kek id %x, want %x", raw[:8], k.id)
	}
	n := int(binary.BigEndian.Uint16(raw[8:10]))
	dek, err := k.keeper.Decrypt(ctx, raw[10:10+n])
	if err != nil || len(dek) != 32 {
		t.Fatalf("wrapped data key: %d bytes, %v; want 32 bytes", len(dek), err)
	}
	block, err := aes.NewCipher(dek)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	sealed := raw[10+n:]
	ad := []byte("sessionkit kek v1 secret\x00\x00\x00\x06cookie\x00\x00\x00\x02k1")
	got, err := gcm.Open(nil, sealed[:12], sealed[12:], ad)
	if err != nil || !bytes.Equal(got, secret) {
		t.Errorf("sealed secret opens to %q, %v; want %q", got, err, secret)
	}
}

func TestParseEnvelopeRejects(t *testing.T) {
	tests := []struct {
		name   string
		stored string
		want   error
	}{
		{"plaintext", "a plaintext key", ErrPlaintext},
		{"JWK", `{"kty":"OKP"}`, ErrPlaintext},
		{"empty", "", ErrPlaintext},
		{"newer version", "skkek2.AAAA", ErrCorrupt},
		{"prefix only", "skkek1.", ErrCorrupt},
		{"padded base64", "skkek1." + base64.URLEncoding.EncodeToString(make([]byte, 40)), ErrCorrupt},
		{"zero-length data key", "skkek1." + base64.RawURLEncoding.EncodeToString(make([]byte, 60)), ErrCorrupt},
		{"data key longer than the rest", "skkek1." + base64.RawURLEncoding.EncodeToString(append(make([]byte, 8), 0xff, 0xff, 1, 2, 3)), ErrCorrupt},
	}
	for _, tt := range tests {
		if _, err := parseEnvelope([]byte(tt.stored)); !errors.Is(err, tt.want) {
			t.Errorf("%s: parseEnvelope = %v, want %v", tt.name, err, tt.want)
		}
	}
}
