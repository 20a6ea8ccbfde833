package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"github.com/sessionkit/sessionkit/store"
)

// successorLabel is the HKDF info that derives, from the raw bytes of a
// refresh token, the key its successor is sealed under. It keeps that key
// apart from every other use of the token's bytes (its stored SHA-256).
const successorLabel = "sessionkit/token refresh successor v1"

// sealedSize is the length of a sealed successor: its secret, sealed by
// AES-256-GCM with a random nonce (12 bytes before the ciphertext) and a
// 16-byte tag after it.
const sealedSize = 12 + secretBytes + 16

// successorAEAD returns the AEAD that seals the successor of the refresh
// token whose raw bytes are tok. Only the holder of tok can make it: the
// store keeps nothing it could be derived from.
func successorAEAD(tok []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, tok, nil, successorLabel, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// sealSuccessor seals the secret of the token that replaces the refresh
// token tok (raw bytes) in the family kept under id, so that a later
// presentation of tok within the grace window gets the same successor.
// The record id is the additional data: the sealed bytes open only in
// their own record.
func sealSuccessor(tok []byte, id store.SessionID, secret [secretBytes]byte) ([]byte, error) {
	aead, err := successorAEAD(tok)
	if err != nil {
		return nil, fmt.Errorf("token: sealing a refresh token's successor: %w", err)
	}
	sealed := aead.Seal(nil, nil, secret[:], id[:])
	if len(sealed) != sealedSize {
		return nil, fmt.Errorf("token: sealing a refresh token's successor: %d bytes, want %d", len(sealed), sealedSize)
	}
	return sealed, nil
}

// openSuccessor opens what sealSuccessor sealed for tok in the record id.
// Sealed bytes that do not open (the record was altered, or tok is not
// the token they were sealed for) give an error wrapping errCorruptFamily.
func openSuccessor(tok []byte, id store.SessionID, sealed []byte) ([secretBytes]byte, error) {
	var secret [secretBytes]byte
	aead, err := successorAEAD(tok)
	if err != nil {
		return secret, fmt.Errorf("token: opening a refresh token's successor: %w", err)
	}
	plain, err := aead.Open(nil, nil, sealed, id[:])
	if err != nil || len(plain) != secretBytes {
		return secret, fmt.Errorf("token: the sealed successor of a refresh token does not open: %w", errCorruptFamily)
	}
	copy(secret[:], plain)
	return secret, nil
}
