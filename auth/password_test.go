package auth

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// cheapParams make hashing fast in tests that need many hashes.
var cheapParams = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func TestHashPasswordRoundTrip(t *testing.T) {
	passwords := []string{
		"correct horse battery staple",
		"12345678",
		"pässwörd€",
		strings.Repeat("x", 1024),
		"\x00\x01\xff binary",
		"", // HashPassword itself does not enforce length
	}
	for _, pw := range passwords {
		enc, err := HashPassword(pw, cheapParams)
		if err != nil {
			t.Fatalf("HashPassword: %v", err)
		}
		if ok, err := VerifyPassword(pw, enc); !ok || err != nil {
			t.Errorf("VerifyPassword(%.20q, its hash) = %v, %v; want true, nil", pw, ok, err)
		}
		if ok, err := VerifyPassword(pw+"x", enc); ok || err != nil {
			t.Errorf("VerifyPassword(%.20q+x, hash) = %v, %v; want false, nil", pw, ok, err)
		}
		if len(pw) > 0 {
			if ok, _ := VerifyPassword(pw[:len(pw)-1], enc); ok {
				t.Errorf("VerifyPassword with the last byte cut matched")
			}
		}
	}
}

func TestHashPasswordSalted(t *testing.T) {
	a, _ := HashPassword("same password", cheapParams)
	b, _ := HashPassword("same password", cheapParams)
	if a == b {
		t.Errorf("two hashes of one password are equal: %s", a)
	}
}

func TestHashPasswordFormat(t *testing.T) {
	for _, p := range []Params{
		cheapParams,
		{Memory: 100, Iterations: 3, Parallelism: 2, SaltLength: 8, KeyLength: 4},
		{Memory: 256, Iterations: 2, Parallelism: 4, SaltLength: 33, KeyLength: 64},
	} {
		enc, err := HashPassword("password", p)
		if err != nil {
			t.Fatalf("HashPassword(%+v): %v", p, err)
		}
		f := strings.Split(enc, "$")
		if len(f) != 6 || f[0] != "" {
			t.Fatalf("hash %q does not have 5 $-separated fields", enc)
		}
		if f[1] != "argon2id" || f[2] != "v=19" {
			t.Errorf("hash %q: algorithm and version are %q %q", enc, f[1], f[2])
		}
		want := "m=" + strconv.Itoa(int(p.Memory)) + ",t=" + strconv.Itoa(int(p.Iterations)) +
			",p=" + strconv.Itoa(int(p.Parallelism))
		if f[3] != want {
			t.Errorf("hash %q: parameters %q, want %q", enc, f[3], want)
		}
		if strings.Contains(f[4]+f[5], "=") {
			t.Errorf("hash %q is padded", enc)
		}
		salt, err := base64.RawStdEncoding.DecodeString(f[4])
		if err != nil || len(salt) != int(p.SaltLength) {
			t.Errorf("salt %q: %d bytes, %v; want %d", f[4], len(salt), err, p.SaltLength)
		}
		key, err := base64.RawStdEncoding.DecodeString(f[5])
		if err != nil || len(key) != int(p.KeyLength) {
			t.Errorf("hash %q: %d bytes, %v; want %d", f[5], len(key), err, p.KeyLength)
		}
		if ok, err := VerifyPassword("password", enc); !ok || err != nil {
			t.Errorf("VerifyPassword(%+v) = %v, %v", p, ok, err)
		}
	}
}

// TestHashPasswordDefaultParams hashes once at full cost.
func TestHashPasswordDefaultParams(t *testing.T) {
	p := DefaultParams()
	if p.Memory < 19456 || p.Iterations < 2 || p.Parallelism < 1 || p.SaltLength < 16 || p.KeyLength < 32 {
		t.Errorf("DefaultParams() = %+v, below OWASP's minimum", p)
	}
	enc, err := HashPassword("correct horse battery staple", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not record the default parameters", enc)
	}
	if ok, err := VerifyPassword("correct horse battery staple", enc); !ok || err != nil {
		t.Errorf("VerifyPassword = %v, %v", ok, err)
	}
	if NeedsRehash(enc, p) {
		t.Errorf("NeedsRehash of a fresh default hash is true")
	}
}

func TestHashPasswordInvalidParams(t *testing.T) {
	tests := []Params{
		{},
		{Memory: 64, Iterations: 1, Parallelism: 0, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 0, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 101, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 7, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 15, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32},
		{Memory: 1<<20 + 1, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 7, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 257, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 3},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 257},
	}
	for _, p := range tests {
		enc, err := HashPassword("password", p)
		if !errors.Is(err, ErrInvalidParams) || enc != "" {
			t.Errorf("HashPassword(%+v) = %q, %v; want ErrInvalidParams", p, enc, err)
		}
	}
}

// validHash is a well-formed hash of "password" with cheapParams.
const (
	validSalt = "c2FsdHNhbHRzYWx0c2FsdA" // "saltsaltsaltsalt"
	validKey  = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

func TestVerifyPasswordMalformed(t *testing.T) {
	s, k := validSalt, validKey
	tests := []struct{ desc, enc string }{
		{"empty", ""},
		{"dollar", "$"},
		{"garbage", "not a hash"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + s + "$" + k},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + s + "$" + k},
		{"upper case", "$ARGON2ID$v=19$m=64,t=1,p=1$" + s + "$" + k},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + s + "$" + k},
		{"no version", "$argon2id$m=64,t=1,p=1$" + s + "$" + k},
		{"version 019", "$argon2id$v=019$m=64,t=1,p=1$" + s + "$" + k},
		{"no leading $", "argon2id$v=19$m=64,t=1,p=1$" + s + "$" + k},
		{"trailing $", "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + k + "$"},
		{"no hash", "$argon2id$v=19$m=64,t=1,p=1$" + s},
		{"empty hash", "$argon2id$v=19$m=64,t=1,p=1$" + s + "$"},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=1$$" + k},
		{"memory 0", "$argon2id$v=19$m=0,t=1,p=1$" + s + "$" + k},
		{"memory below 8p", "$argon2id$v=19$m=15,t=1,p=2$" + s + "$" + k},
		{"memory over 1 GiB", "$argon2id$v=19$m=1048577,t=1,p=1$" + s + "$" + k},
		{"memory overflows", "$argon2id$v=19$m=99999999999999999999,t=1,p=1$" + s + "$" + k},
		{"memory 2^32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + s + "$" + k},
		{"iterations 0", "$argon2id$v=19$m=64,t=0,p=1$" + s + "$" + k},
		{"iterations 101", "$argon2id$v=19$m=64,t=101,p=1$" + s + "$" + k},
		{"parallelism 0", "$argon2id$v=19$m=64,t=1,p=0$" + s + "$" + k},
		{"parallelism 256", "$argon2id$v=19$m=4096,t=1,p=256$" + s + "$" + k},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + s + "$" + k},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + s + "$" + k},
		{"minus sign", "$argon2id$v=19$m=-64,t=1,p=1$" + s + "$" + k},
		{"hex", "$argon2id$v=19$m=0x40,t=1,p=1$" + s + "$" + k},
		{"underscore", "$argon2id$v=19$m=6_4,t=1,p=1$" + s + "$" + k},
		{"space", "$argon2id$v=19$m= 64,t=1,p=1$" + s + "$" + k},
		{"empty value", "$argon2id$v=19$m=,t=1,p=1$" + s + "$" + k},
		{"reordered", "$argon2id$v=19$t=1,m=64,p=1$" + s + "$" + k},
		{"missing p", "$argon2id$v=19$m=64,t=1$" + s + "$" + k},
		{"extra keyid", "$argon2id$v=19$m=64,t=1,p=1,keyid=abc$" + s + "$" + k},
		{"duplicate m", "$argon2id$v=19$m=64,m=64,p=1$" + s + "$" + k},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + s + "==$" + k},
		{"padded hash", "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + k + "="},
		{"url base64", "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + "_-" + k[2:]},
		{"stray bits", "$argon2id$v=19$m=64,t=1,p=1$" + s[:len(s)-1] + "B$" + k},
		{"bad base64 length", "$argon2id$v=19$m=64,t=1,p=1$" + s + "AAA$" + k},
		{"carriage return", "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + k[:10] + "\r" + k[10:]},
		{"newline", "$argon2id$v=19$m=64,t=1,p=1$" + s + "\n$" + k},
		{"salt 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + k},
		{"hash 3 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + s + "$AAAA"},
		{"salt 300 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("AAAA", 100) + "$" + k},
		{"very long", "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + strings.Repeat("A", 1<<20)},
		{"leading space", " $argon2id$v=19$m=64,t=1,p=1$" + s + "$" + k},
	}
	for _, tt := range tests {
		ok, err := VerifyPassword("password", tt.enc)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: VerifyPassword = %v, %v; want false, ErrMalformedHash", tt.desc, ok, err)
		}
		if !NeedsRehash(tt.enc, cheapParams) {
			t.Errorf("%s: NeedsRehash = false, want true", tt.desc)
		}
	}
	// The well-formed hash these were made from parses (and does not match).
	good := "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + k
	if ok, err := VerifyPassword("password", good); ok || err != nil {
		t.Errorf("VerifyPassword(well-formed) = %v, %v; want false, nil", ok, err)
	}
}

// TestVerifyPasswordTampered changes and cuts a real hash at every position:
// VerifyPassword must never panic nor match.
func TestVerifyPasswordTampered(t *testing.T) {
	enc, err := HashPassword("password", Params{Memory: 16, Iterations: 1, Parallelism: 1, SaltLength: 8, KeyLength: 16})
	if err != nil {
		t.Fatal(err)
	}
	check := func(mutant string) {
		t.Helper()
		if mutant == enc {
			return
		}
		ok, err := VerifyPassword("password", mutant)
		if ok {
			t.Errorf("tampered hash %q matched", mutant)
		}
		if err != nil && !errors.Is(err, ErrMalformedHash) {
			t.Errorf("tampered hash %q: error %v does not wrap ErrMalformedHash", mutant, err)
		}
	}
	for i := 0; i <= len(enc); i++ {
		check(enc[:i])
		if i == len(enc) {
			break
		}
		for _, c := range []byte("$=,0159AZaz+/-_\x00\xff") {
			b := []byte(enc)
			b[i] = c
			check(string(b))
		}
		check(enc[:i] + enc[i+1:])
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add("password", "$argon2id$v=19$m=64,t=1,p=1$"+validSalt+"$"+validKey)
	f.Add("password", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAAAA")
	f.Add("", "$argon2id$v=19$m=,t=,p=$$")
	f.Add("x", "$$$$$")
	f.Fuzz(func(t *testing.T, pw, enc string) {
		if p, _, _, err := decodeHash(enc); err == nil && p.Memory*p.Iterations > 1<<14 {
			t.Skip("too costly to hash while fuzzing")
		}
		ok, err := VerifyPassword(pw, enc)
		if err != nil && (ok || !errors.Is(err, ErrMalformedHash)) {
			t.Errorf("VerifyPassword = %v, %v", ok, err)
		}
	})
}

func TestNeedsRehash(t *testing.T) {
	base := Params{Memory: 128, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32}
	enc, err := HashPassword("password", base)
	if err != nil {
		t.Fatal(err)
	}
	with := func(change func(*Params)) Params {
		p := base
		change(&p)
		return p
	}
	tests := []struct {
		desc string
		p    Params
		want bool
	}{
		{"same", base, false},
		{"zero", Params{}, false},
		{"weaker memory", with(func(p *Params) { p.Memory = 64 }), false},
		{"weaker everything", cheapParams, false},
		{"more memory", with(func(p *Params) { p.Memory = 129 }), true},
		{"more iterations", with(func(p *Params) { p.Iterations = 3 }), true},
		{"more parallelism", with(func(p *Params) { p.Parallelism = 3 }), true},
		{"longer salt", with(func(p *Params) { p.SaltLength = 17 }), true},
		{"longer key", with(func(p *Params) { p.KeyLength = 33 }), true},
		{"defaults", DefaultParams(), true},
	}
	for _, tt := range tests {
		if got := NeedsRehash(enc, tt.p); got != tt.want {
			t.Errorf("%s: NeedsRehash(%+v) = %v, want %v", tt.desc, tt.p, got, tt.want)
		}
	}
	if !NeedsRehash("$argon2i$v=19$m=128,t=2,p=2$"+validSalt+"$"+validKey, base) {
		t.Errorf("NeedsRehash of an argon2i hash = false")
	}
}
