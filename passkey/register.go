package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sessionkit/sessionkit/store"
)

// account is a store account as go-webauthn sees it: its user handle is
// the account's random ID (never its name), and its credentials are its
// passkeys.
type account struct {
	user     store.User
	passkeys []store.Passkey
}

func (a account) WebAuthnID() []byte          { return []byte(a.user.ID) }
func (a account) WebAuthnName() string        { return a.user.Name }
func (a account) WebAuthnDisplayName() string { return a.user.Name }

func (a account) WebAuthnCredentials() []webauthn.Credential {
	creds := make([]webauthn.Credential, len(a.passkeys))
	for i, p := range a.passkeys {
		creds[i] = credential(p)
	}
	return creds
}

// credential is p as go-webauthn checks logins against it.
func credential(p store.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:        p.ID,
		PublicKey: p.PublicKey,
		Transport: transports,
		Flags: webauthn.CredentialFlags{
			BackupEligible: p.BackupEligible,
			BackupState:    p.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// BeginRegistration starts adding a passkey to the account u, for a
// caller who has checked that u's user proved who they are recently. bind
// names the login the ceremony belongs to (a session's or token's id):
// FinishRegistration must be given the same, so a state taken from one
// login is refused by another.
//
// It returns the options for navigator.credentials.create() as JSON (an
// object whose "publicKey" member holds them, binary fields in base64url)
// and the sealed state to hand back to FinishRegistration. The options ask
// for a discoverable credential with user verification preferred, exclude
// the passkeys u already has, and ask for no attestation. Errors are the
// store's (listing u's passkeys) or sealing failures.
func (rp *RelyingParty) BeginRegistration(ctx context.Context, u store.User, bind string) (options []byte, state string, err error) {
	if u.ID == "" {
		return nil, "", errors.New("passkey: account without an ID")
	}
	existing, err := rp.store.AccountPasskeys(ctx, u.ID)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: listing the account's passkeys: %w", err)
	}
	a := account{user: u, passkeys: existing}
	creation, session, err := rp.wa.BeginRegistration(a,
		webauthn.WithExclusions(webauthn.Credentials(a.WebAuthnCredentials()).CredentialDescriptors()))
	if err != nil {
		return nil, "", fmt.Errorf("passkey: %w", err)
	}
	state, _, err = rp.seal(ceremony{Purpose: purposeRegister, Bind: bind, Session: *session})
	if err != nil {
		return nil, "", err
	}
	options, err = json.Marshal(creation)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: encoding the options: %w", err)
	}
	return options, state, nil
}

// FinishRegistration checks response, the JSON of the PublicKeyCredential
// that navigator.credentials.create() returned, against state, and stores
// the new passkey under name for the account u. u and bind must be those
// given to BeginRegistration.
//
// It returns ErrChallenge for a state that is not valid for this call
// (including a second use), ErrInvalidResponse for a response that is
// malformed or does not verify (another origin or relying party,
// another challenge), ErrExists for a passkey already registered, or the
// store's error. name must satisfy ValidName; the caller checks it.
func (rp *RelyingParty) FinishRegistration(ctx context.Context, u store.User, bind, state string, response []byte, name string) (store.Passkey, error) {
	if !ValidName(name) {
		return store.Passkey{}, fmt.Errorf("passkey: invalid name %q", name)
	}
	session, err := rp.spend(ctx, state, purposeRegister, bind)
	if err != nil {
		return store.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("%w: %s", ErrInvalidResponse, describe(err))
	}
	cred, err := rp.wa.CreateCredential(account{user: u}, session, parsed)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("%w: %s", ErrInvalidResponse, describe(err))
	}
	transports := make([]string, len(cred.Transport))
	for i, t := range cred.Transport {
		transports[i] = string(t)
	}
	p := store.Passkey{
		ID:             cred.ID,
		AccountID:      u.ID,
		User:           u.Name,
		Name:           name,
		PublicKey:      cred.PublicKey,
		AAGUID:         cred.Authenticator.AAGUID,
		Transports:     transports,
		SignCount:      cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible,
		BackupState:    cred.Flags.BackupState,
		Created:        rp.now(),
	}
	if err := rp.store.AddPasskey(ctx, p); err != nil {
		if errors.Is(err, store.ErrExists) {
			return store.Passkey{}, ErrExists
		}
		return store.Passkey{}, fmt.Errorf("passkey: storing the passkey: %w", err)
	}
	return p, nil
}

// describe is what a go-webauthn error says, for an error message: its
// details (which say what failed, never key material) when it has them.
func describe(err error) string {
	var perr *protocol.Error
	if errors.As(err, &perr) && perr.Details != "" {
		return perr.Details
	}
	return err.Error()
}
