package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id parameters of a password hash.
type Params struct {
	Memory      uint32 // memory in KiB, at least 8×Parallelism, at most 1 GiB
	Iterations  uint32 // passes over the memory, 1 to 100
	Parallelism uint8  // lanes (threads), at least 1
	SaltLength  uint32 // bytes of random salt, 8 to 256
	KeyLength   uint32 // bytes of hash, 4 to 256
}

// Bounds on the parameters this package makes and accepts. They keep a
// stored hash from demanding absurd memory or time when it is verified.
const (
	maxMemory     = 1 << 20 // KiB, 1 GiB
	maxIterations = 100
	minSaltLength = 8 // RFC 9106
	maxSaltLength = 256
	minKeyLength  = 4 // RFC 9106
	maxKeyLength  = 256
	maxEncodedLen = 1024 // longer than any hash within the bounds above
)

var (
	// ErrMalformedHash reports an encoded password hash that is not an
	// argon2id PHC string this package accepts: another algorithm or
	// version, parameters out of bounds, or bad base64.
	ErrMalformedHash = errors.New("auth: malformed password hash")

	// ErrInvalidParams reports [Params] that are out of bounds (see the
	// comments on its fields).
	ErrInvalidParams = errors.New("auth: invalid argon2id parameters")
)

// DefaultParams returns the parameters for new hashes when none are given:
// OWASP's minimum for argon2id (m=19456 KiB, t=2, p=1) with a 16-byte salt
// and a 32-byte hash. One hash takes 19 MiB of memory while it runs.
func DefaultParams() Params {
	return Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// validate returns an error wrapping ErrInvalidParams when p is out of
// bounds.
func (p Params) validate() error {
	if why := p.problem(); why != "" {
		return fmt.Errorf("%w: %s", ErrInvalidParams, why)
	}
	return nil
}

// problem says which bound p breaks, or returns "".
func (p Params) problem() string {
	switch {
	case p.Parallelism < 1:
		return "parallelism must be at least 1"
	case p.Memory < 8*uint32(p.Parallelism):
		return "memory must be at least 8 KiB per lane"
	case p.Memory > maxMemory:
		return "memory must be at most 1 GiB"
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return "iterations must be 1 to 100"
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return "salt length must be 8 to 256 bytes"
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return "key length must be 4 to 256 bytes"
	}
	return ""
}

// kdf computes an argon2id key; it has the signature of argon2.IDKey, which
// is the only implementation outside tests.
type kdf func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// HashPassword hashes password with argon2id, the parameters p and a random
// salt, and returns the hash as a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. It returns an error
// wrapping [ErrInvalidParams] when p is out of bounds. It takes the time and
// memory p asks for; it does not check the password's length (see
// [ValidatePassword]).
func HashPassword(password string, p Params) (string, error) {
	return hashPassword(argon2.IDKey, password, p)
}

func hashPassword(f kdf, password string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading random salt: %w", err)
	}
	key := f([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return encodeHash(p, salt, key), nil
}

// encodeHash formats a PHC string.
func encodeHash(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether password matches encoded, a PHC string made
// by [HashPassword] (with any parameters within bounds). The comparison takes
// constant time. A mismatch is (false, nil); an encoded string that cannot be
// parsed is (false, err) with err wrapping [ErrMalformedHash], returned
// without hashing. Verifying takes the time and memory the encoded
// parameters ask for (at most 1 GiB and 100 passes).
func VerifyPassword(password, encoded string) (match bool, err error) {
	return verifyPassword(argon2.IDKey, password, encoded)
}

func verifyPassword(f kdf, password, encoded string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := f([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded should be replaced by a hash made with
// p: when it cannot be parsed, or when any of its memory, iterations,
// parallelism, salt length or key length is below p's. A hash with stronger
// parameters than p is kept.
func NeedsRehash(encoded string, p Params) bool {
	old, _, _, err := decodeHash(encoded)
	if err != nil {
		return true
	}
	return old.Memory < p.Memory || old.Iterations < p.Iterations ||
		old.Parallelism < p.Parallelism || old.SaltLength < p.SaltLength ||
		old.KeyLength < p.KeyLength
}

// decodeHash parses a PHC string strictly: algorithm argon2id, version 19,
// parameters m, t and p in that order as canonical decimals, salt and hash in
// unpadded standard base64 with no stray bits, everything within bounds.
func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	malformed := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	if len(encoded) > maxEncodedLen {
		return malformed("too long")
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return malformed("not a PHC string with five fields")
	}
	if fields[1] != "argon2id" {
		return malformed("algorithm is not argon2id")
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return malformed("version is not 19")
	}

	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return malformed("parameters are not m,t,p")
	}
	m, ok1 := decodeParam(params[0], "m=", maxMemory)
	t, ok2 := decodeParam(params[1], "t=", maxIterations)
	par, ok3 := decodeParam(params[2], "p=", 255)
	if !ok1 || !ok2 || !ok3 {
		return malformed("parameters are not m,t,p within bounds")
	}
	p = Params{Memory: uint32(m), Iterations: uint32(t), Parallelism: uint8(par)}

	salt, saltOK := decodeBase64(fields[4])
	key, keyOK := decodeBase64(fields[5])
	if !saltOK || !keyOK {
		return malformed("salt or hash is not unpadded standard base64")
	}
	p.SaltLength, p.KeyLength = uint32(len(salt)), uint32(len(key))
	if why := p.problem(); why != "" {
		return malformed(why)
	}
	return p, salt, key, nil
}

// decodeBase64 decodes unpadded standard base64 in its one canonical form:
// no padding, no stray bits, and no line breaks (which encoding/base64
// skips).
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodedLen(len(b)) != len(s) {
		return nil, false
	}
	return b, true
}

// decodeParam parses "name=value" where value is a decimal without sign or
// leading zeros, at most limit.
func decodeParam(s, name string, limit uint64) (uint64, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok || v == "" || len(v) > 10 || (v[0] == '0' && len(v) > 1) {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > limit {
		return 0, false
	}
	return n, true
}
