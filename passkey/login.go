package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sessionkit/sessionkit/store"
)

// Login is what a passkey login proves: the account, the passkey that
// signed, and when (a fresh authentication time, as after a password).
type Login struct {
	User    store.User
	Passkey store.Passkey // as stored after this login (new count, LastUsed)
	Time    time.Time
}

// BeginLogin starts a login that names no user: the browser offers the
// passkeys its authenticators hold for the relying party, and the user
// picks one. It returns the options for navigator.credentials.get() as
// JSON (an object whose "publicKey" member holds them) and the sealed
// state to hand back to FinishLogin. It fails only when sealing does.
func (rp *RelyingParty) BeginLogin(ctx context.Context) (options []byte, state string, err error) {
	assertion, session, err := rp.wa.BeginDiscoverableLogin()
	if err != nil {
		return nil, "", fmt.Errorf("passkey: %w", err)
	}
	state, _, err = rp.seal(ceremony{Purpose: purposeLogin, Session: *session})
	if err != nil {
		return nil, "", err
	}
	options, err = json.Marshal(assertion)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: encoding the options: %w", err)
	}
	return options, state, nil
}

// FinishLogin checks response, the JSON of the PublicKeyCredential that
// navigator.credentials.get() returned, against state, and returns the
// account it proves. It records the use (the new signature counter and
// LastUsed) in the store.
//
// It returns ErrChallenge for a state that is not valid (including a
// second use), ErrInvalidResponse for a response that is malformed or
// does not verify (another origin or relying party, a bad signature),
// ErrUnknownPasskey for a passkey that is not registered or whose account
// is gone, ErrSignCount for a signature counter that did not move forward
// (the returned Login then names the account and passkey, for the
// security log), or the store's error.
func (rp *RelyingParty) FinishLogin(ctx context.Context, state string, response []byte) (Login, error) {
	session, err := rp.spend(ctx, state, purposeLogin, "")
	if err != nil {
		return Login{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Login{}, fmt.Errorf("%w: %s", ErrInvalidResponse, describe(err))
	}

	// The passkey and its account, looked up by the credential ID; the
	// user handle the authenticator returns must name the same account
	// (go-webauthn checks it against the account's ID).
	var found account
	var lookupErr error
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		found, lookupErr = rp.lookup(ctx, rawID)
		if lookupErr != nil {
			return nil, lookupErr
		}
		return found, nil
	}
	_, cred, err := rp.wa.ValidatePasskeyLogin(handler, session, parsed)
	switch {
	case lookupErr != nil:
		return Login{}, lookupErr
	case err != nil:
		return Login{}, fmt.Errorf("%w: %s", ErrInvalidResponse, describe(err))
	}

	p := found.passkeys[0]
	login := Login{User: found.user, Passkey: p, Time: rp.now()}
	if cred.Authenticator.CloneWarning {
		return login, ErrSignCount
	}
	err = rp.store.UsePasskey(ctx, p.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, login.Time)
	switch {
	case errors.Is(err, store.ErrSignCount):
		return login, ErrSignCount
	case errors.Is(err, store.ErrNotFound):
		// Removed while this login was being checked.
		return Login{}, ErrUnknownPasskey
	case err != nil:
		return Login{}, fmt.Errorf("passkey: recording the login: %w", err)
	}
	login.Passkey.SignCount = cred.Authenticator.SignCount
	login.Passkey.BackupState = cred.Flags.BackupState
	login.Passkey.LastUsed = login.Time
	return login, nil
}

// lookup returns the account the passkey id logs in to, holding only that
// passkey. It returns ErrUnknownPasskey when there is no such passkey, or
// when its account has been deleted (even if its name was registered
// again: the IDs differ), or the store's error.
func (rp *RelyingParty) lookup(ctx context.Context, id []byte) (account, error) {
	p, err := rp.store.Passkey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return account{}, ErrUnknownPasskey
	}
	if err != nil {
		return account{}, fmt.Errorf("passkey: reading the passkey: %w", err)
	}
	u, err := rp.store.User(ctx, p.User)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && u.ID != p.AccountID):
		return account{}, ErrUnknownPasskey
	case err != nil:
		return account{}, fmt.Errorf("passkey: reading the account: %w", err)
	}
	return account{user: u, passkeys: []store.Passkey{p}}, nil
}
