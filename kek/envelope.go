package kek

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"

	"gocloud.dev/gcerrors"
)

const (
	// familyPrefix starts every stored secret this package writes, in any
	// version; envelopePrefix starts those of the version it writes.
	familyPrefix   = "skkek"
	envelopePrefix = familyPrefix + "1."

	idLen     = 8  // bytes of the KEK hint
	dekLen    = 32 // bytes of a data key: AES-256
	nonceLen  = 12 // bytes of a GCM nonce
	tagLen    = 16 // bytes of a GCM tag
	maxDEKLen = 1<<16 - 1

	// aadLabel starts the additional data of every sealed secret.
	aadLabel = "sessionkit kek v1 secret"
)

// envelope is a decoded stored secret.
type envelope struct {
	kekID   [idLen]byte // which KEK wrapped dek (a hint)
	wrapped []byte      // the data key, encrypted by the KEK
	sealed  []byte      // nonce, ciphertext and tag of the secret under the data key
}

// encode returns the stored form of e.
func (e envelope) encode() []byte {
	raw := make([]byte, 0, idLen+2+len(e.wrapped)+len(e.sealed))
	raw = append(raw, e.kekID[:]...)
	raw = binary.BigEndian.AppendUint16(raw, uint16(len(e.wrapped)))
	raw = append(raw, e.wrapped...)
	raw = append(raw, e.sealed...)
	out := make([]byte, len(envelopePrefix)+base64.RawURLEncoding.EncodedLen(len(raw)))
	copy(out, envelopePrefix)
	base64.RawURLEncoding.Encode(out[len(envelopePrefix):], raw)
	return out
}

// isEnvelope reports whether stored was written by this package (in any
// version) rather than stored in plaintext.
func isEnvelope(stored []byte) bool {
	return bytes.HasPrefix(stored, []byte(familyPrefix))
}

// parseEnvelope decodes stored. It returns ErrPlaintext when stored is not
// an envelope and ErrCorrupt when it is a damaged one or of another
// version; the errors do not name the key, callers add that.
func parseEnvelope(stored []byte) (envelope, error) {
	var e envelope
	if !isEnvelope(stored) {
		return e, ErrPlaintext
	}
	rest, ok := bytes.CutPrefix(stored, []byte(envelopePrefix))
	if !ok {
		return e, fmt.Errorf("%w: unknown format (written by a newer sessionkit?)", ErrCorrupt)
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(rest)))
	n, err := base64.RawURLEncoding.Strict().Decode(raw, rest)
	if err != nil {
		return e, fmt.Errorf("%w: bad encoding", ErrCorrupt)
	}
	raw = raw[:n]
	if len(raw) < idLen+2 {
		return e, fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	copy(e.kekID[:], raw)
	raw = raw[idLen:]
	n = int(binary.BigEndian.Uint16(raw))
	raw = raw[2:]
	if n == 0 || len(raw) < n+nonceLen+tagLen {
		return e, fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	e.wrapped, e.sealed = raw[:n:n], raw[n:]
	return e, nil
}

// additionalData binds a sealed secret to its purpose and key ID.
func additionalData(purpose, id string) []byte {
	ad := make([]byte, 0, len(aadLabel)+8+len(purpose)+len(id))
	ad = append(ad, aadLabel...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(purpose)))
	ad = append(ad, purpose...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(id)))
	ad = append(ad, id...)
	return ad
}

// newGCM returns AES-256-GCM under dek, with a random nonce placed before
// each ciphertext. dek is used for one secret only.
func newGCM(dek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// seal encrypts secret for the key of purpose named id under a new data
// key, which k encrypts, and returns the stored form.
func seal(ctx context.Context, k *KEK, purpose, id string, secret []byte) ([]byte, error) {
	dek := make([]byte, dekLen)
	rand.Read(dek) // never returns an error: it crashes the program instead
	aead, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("kek: sealing key %q of purpose %q: %w", id, purpose, err)
	}
	sealed := aead.Seal(nil, nil, secret, additionalData(purpose, id))
	wrapped, err := wrapDEK(ctx, k, dek, purpose, id)
	if err != nil {
		return nil, err
	}
	return envelope{kekID: k.id, wrapped: wrapped, sealed: sealed}.encode(), nil
}

// wrapDEK encrypts dek, the data key of the key of purpose named id, with
// k, and checks that the keeper's answer fits an envelope.
func wrapDEK(ctx context.Context, k *KEK, dek []byte, purpose, id string) ([]byte, error) {
	wrapped, err := k.keeper.Encrypt(ctx, dek)
	if err != nil {
		return nil, fmt.Errorf("kek: encrypting the data key of key %q of purpose %q with %v: %w", id, purpose, k, err)
	}
	if len(wrapped) == 0 || len(wrapped) > maxDEKLen {
		return nil, fmt.Errorf("kek: encrypting the data key of key %q of purpose %q with %v: the keeper returned %d bytes", id, purpose, k, len(wrapped))
	}
	return wrapped, nil
}

// unwrap decrypts the data key of e, of the key of purpose named id, with
// the first of keks that opens it, trying those e's hint names first. It
// returns the data key and the KEK that opened it. When none does, the
// error wraps ErrWrongKEK, or is the last keeper error that says nothing
// about the key (a key service that could not be reached, a context that
// ended).
func unwrap(ctx context.Context, keks []*KEK, e envelope, purpose, id string) ([]byte, *KEK, error) {
	order := make([]*KEK, 0, len(keks))
	for _, k := range keks {
		if k.id == e.kekID {
			order = append(order, k)
		}
	}
	for _, k := range keks {
		if k.id != e.kekID {
			order = append(order, k)
		}
	}
	var tried []string
	var unavailable error
	for _, k := range order {
		dek, err := k.keeper.Decrypt(ctx, e.wrapped)
		if err == nil {
			if len(dek) != dekLen {
				return nil, nil, fmt.Errorf("%w: key %q of purpose %q: its data key is %d bytes", ErrCorrupt, id, purpose, len(dek))
			}
			return dek, k, nil
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("kek: decrypting key %q of purpose %q: %w", id, purpose, ctx.Err())
		}
		if transient(err) {
			unavailable = fmt.Errorf("kek: decrypting the data key of key %q of purpose %q with %v: %w", id, purpose, k, err)
			continue
		}
		tried = append(tried, fmt.Sprintf("%v: %v", k, err))
	}
	if unavailable != nil {
		return nil, nil, unavailable
	}
	return nil, nil, fmt.Errorf("%w: key %q of purpose %q opens with none of [%s]", ErrWrongKEK, id, purpose, strings.Join(tried, "; "))
}

// transient reports whether a keeper error says the key service did not
// answer, rather than that the key does not open the data key.
func transient(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.Internal, gcerrors.ResourceExhausted, gcerrors.DeadlineExceeded, gcerrors.Canceled:
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// openSealed decrypts the secret of e with its data key dek.
func openSealed(dek []byte, e envelope, purpose, id string) ([]byte, error) {
	aead, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("kek: opening key %q of purpose %q: %w", id, purpose, err)
	}
	secret, err := aead.Open(nil, nil, e.sealed, additionalData(purpose, id))
	if err != nil {
		return nil, fmt.Errorf("%w: key %q of purpose %q does not open with its data key (damaged, or moved from another key)", ErrCorrupt, id, purpose)
	}
	return secret, nil
}

// open decrypts the stored secret of the key of purpose named id with the
// first of keks that opens it. It returns an error wrapping ErrPlaintext
// for a plaintext secret, ErrCorrupt for a damaged one, ErrWrongKEK when
// no KEK opens it, or a key service's error.
func open(ctx context.Context, keks []*KEK, purpose, id string, stored []byte) ([]byte, error) {
	e, err := parseEnvelope(stored)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q of purpose %q", err, id, purpose)
	}
	dek, _, err := unwrap(ctx, keks, e, purpose, id)
	if err != nil {
		return nil, err
	}
	return openSealed(dek, e, purpose, id)
}
