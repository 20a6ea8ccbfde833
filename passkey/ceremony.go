package passkey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// sealName is the name ceremony states are sealed under, so that no other
// value sealed with the same keys (a login cookie) opens as one.
const sealName = "sk_passkey_state"

// Purposes of a ceremony: a state begun for one is refused by the other.
const (
	purposeRegister = "register"
	purposeLogin    = "login"
)

// ceremony is the state between Begin and Finish, sealed into the string
// the client hands back.
type ceremony struct {
	Purpose string `json:"p"`
	// Bind is what the caller bound the ceremony to (a login's id): Finish
	// must be given the same.
	Bind    string               `json:"b,omitempty"`
	Session webauthn.SessionData `json:"s"`
}

// seal seals c to expire after the challenge lifetime, and returns it
// with its expiry.
func (rp *RelyingParty) seal(c ceremony) (string, time.Time, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("passkey: encoding the state: %w", err)
	}
	expires := rp.now().Add(rp.lifetime)
	s, err := rp.sealer.Seal(sealName, b, expires)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("passkey: sealing the state: %w", err)
	}
	return s, expires, nil
}

// spend opens state, checks that it was begun for purpose and bind, and
// marks its challenge used in the store, all before the response is
// looked at: a state is spent by its first Finish, whether that succeeds
// or not. It returns ErrChallenge for a state that fails any of these, or
// the store's error.
func (rp *RelyingParty) spend(ctx context.Context, state, purpose, bind string) (webauthn.SessionData, error) {
	b, err := rp.sealer.Open(sealName, state, rp.now())
	if err != nil {
		return webauthn.SessionData{}, ErrChallenge
	}
	var c ceremony
	if err := json.Unmarshal(b, &c); err != nil || c.Purpose != purpose || c.Session.Challenge == "" {
		return webauthn.SessionData{}, ErrChallenge
	}
	if subtle.ConstantTimeCompare([]byte(c.Bind), []byte(bind)) != 1 {
		return webauthn.SessionData{}, ErrChallenge
	}
	// The counter outlives the state (which Open refuses after its
	// lifetime), so a replay finds it however late it comes.
	n, _, err := rp.store.AddCount(ctx, usedKey(c.Session.Challenge), 1, rp.lifetime+time.Minute)
	if err != nil {
		return webauthn.SessionData{}, fmt.Errorf("passkey: recording the challenge's use: %w", err)
	}
	if n != 1 {
		return webauthn.SessionData{}, ErrChallenge
	}
	return c.Session, nil
}

// usedKey is the counter that marks a challenge used: a hash of it, so
// the store's keys are of one length whatever the challenge's.
func usedKey(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return "passkey-challenge:" + base64.RawURLEncoding.EncodeToString(sum[:])
}
