// Package webauthntest is a software WebAuthn authenticator and client for
// tests: it answers the options a relying party sends for
// navigator.credentials.create() and get() with the JSON a browser would
// post back, with ES256 keys, "none" attestation and a signature counter.
// Every field a test may want wrong (the origin, the relying party, the
// counter) can be set, so that refusals can be tested without a browser.
//
// Encoding uses go-webauthn's CBOR and COSE types; nothing here verifies
// anything.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator flags (WebAuthn section 6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// Credential is a passkey the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	SignCount  uint32
}

// Authenticator holds discoverable credentials and answers ceremonies as a
// browser with a platform authenticator would.
type Authenticator struct {
	// Origin is the origin the client reports in clientDataJSON.
	Origin string
	// Credentials are the passkeys created so far, in creation order.
	Credentials []*Credential
	// Synced sets the backup flags (BE and BS) on everything it signs.
	Synced bool
}

// New returns an authenticator whose client reports origin.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

// options is the part of a ceremony's options the authenticator reads.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

// Create answers the JSON options of a registration with a new
// credential, returning the PublicKeyCredential JSON to post back.
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, *Credential, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, nil, fmt.Errorf("webauthntest: options: %w", err)
	}
	handle, err := base64.RawURLEncoding.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthntest: user id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	c := &Credential{ID: id, RPID: o.PublicKey.RP.ID, UserHandle: handle, Key: key}
	resp, err := a.Attest(c, o.PublicKey.Challenge, c.RPID)
	if err != nil {
		return nil, nil, err
	}
	a.Credentials = append(a.Credentials, c)
	return resp, c, nil
}

// Attest is the registration response for c to challenge, with the
// authenticator data's relying party hash made from rpID.
func (a *Authenticator) Attest(c *Credential, challenge, rpID string) ([]byte, error) {
	// The uncompressed point: 0x04, then X and Y, 32 bytes each.
	point, err := c.Key.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	x, y := point[1:33], point[33:65]
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        x,
		YCoord:        y,
	})
	if err != nil {
		return nil, err
	}
	auth := a.authData(rpID, flagAT, c.SignCount)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(c.ID)))
	auth = append(auth, c.ID...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}{"none", map[string]any{}, auth})
	if err != nil {
		return nil, err
	}
	clientData := a.clientData("webauthn.create", challenge)
	return publicKeyCredential(c, map[string]any{
		"clientDataJSON":    b64(clientData),
		"attestationObject": b64(att),
		"transports":        []string{"internal"},
	})
}

// Get answers the JSON options of a login with the credential c (which
// must be one of a's), counting the use, and returns the
// PublicKeyCredential JSON to post back.
func (a *Authenticator) Get(optionsJSON []byte, c *Credential) ([]byte, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("webauthntest: options: %w", err)
	}
	if o.PublicKey.Challenge == "" {
		return nil, errors.New("webauthntest: options without a challenge")
	}
	c.SignCount++
	return a.Assert(c, o.PublicKey.Challenge, c.RPID)
}

// Assert is the login response of c to challenge, signed with c's current
// counter, with the authenticator data's relying party hash made from
// rpID. It does not count the use: tests set c.SignCount themselves.
func (a *Authenticator) Assert(c *Credential, challenge, rpID string) ([]byte, error) {
	auth := a.authData(rpID, 0, c.SignCount)
	clientData := a.clientData("webauthn.get", challenge)
	hash := sha256.Sum256(clientData)
	signed := sha256.Sum256(append(append([]byte{}, auth...), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, signed[:])
	if err != nil {
		return nil, err
	}
	return publicKeyCredential(c, map[string]any{
		"clientDataJSON":    b64(clientData),
		"authenticatorData": b64(auth),
		"signature":         b64(sig),
		"userHandle":        b64(c.UserHandle),
	})
}

// publicKeyCredential is the JSON a browser posts for c's answer.
func publicKeyCredential(c *Credential, response map[string]any) ([]byte, error) {
	return json.Marshal(map[string]any{
		"id":                      b64(c.ID),
		"rawId":                   b64(c.ID),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response":                response,
	})
}

// authData is the authenticator data's fixed part: the relying party's
// hash, flags (user present and verified, plus extra) and the counter.
func (a *Authenticator) authData(rpID string, extra byte, count uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	flags := byte(flagUP|flagUV) | extra
	if a.Synced {
		flags |= flagBE | flagBS
	}
	b := append(h[:], flags)
	return binary.BigEndian.AppendUint32(b, count)
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type":        typ,
		"challenge":   challenge,
		"origin":      a.Origin,
		"crossOrigin": false,
	})
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
