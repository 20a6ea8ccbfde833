package session

import (
	"crypto/rand"
	"encoding/base64"
)

// tokenBytes is the entropy of a session token: 256 bits.
const tokenBytes = 32

// tokenLen is the length of a token in a cookie: unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// newToken returns a fresh session token. crypto/rand.Read never fails
// (it crashes the program if the system has no randomness).
func newToken() string {
	var b [tokenBytes]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validToken reports whether v has the shape of a token this package
// issues, so that garbage never reaches the store.
func validToken(v string) bool {
	if len(v) != tokenLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	// 43 characters carry 258 bits; the last character must leave the two
	// spare bits zero, or two spellings would name one token.
	var b [tokenBytes]byte
	_, err := strictToken.Decode(b[:], []byte(v))
	return err == nil
}

// strictToken decodes tokens, refusing non-zero spare bits.
var strictToken = base64.RawURLEncoding.Strict()
