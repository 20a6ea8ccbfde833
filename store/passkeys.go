package store

import (
	"context"
	"errors"
	"time"
)

// ErrSignCount reports that a passkey's signature counter did not move
// forward: the authenticator that signed may be a clone of the one
// registered, so the login it signed must be refused.
var ErrSignCount = errors.New("store: passkey signature counter did not increase")

// Passkey is a WebAuthn credential registered to an account: what the
// server needs to check the account's logins with it. Nothing in it is
// secret (the private key never leaves the authenticator), but it decides
// who may log in, so only the account's owner changes it.
type Passkey struct {
	// ID is the credential ID the authenticator chose, 1 to 1023 bytes.
	// It is unique in the store, across accounts.
	ID []byte

	// AccountID is the User.ID of the account the passkey logs in to, and
	// User that account's name, by which the account is looked up. A
	// passkey whose AccountID no longer matches the account named User
	// (the account was deleted and the name registered again) logs no one
	// in.
	AccountID string
	User      string

	// Name is the label its owner gave it ("laptop", "phone").
	Name string

	// PublicKey is the credential's public key, a COSE_Key (RFC 9052) as
	// the authenticator gave it at registration.
	PublicKey []byte

	// AAGUID names the authenticator's model (16 bytes; all zero when it
	// does not say). Transports are how the browser reached it ("internal",
	// "usb", "hybrid", ...), as hints for later logins.
	AAGUID     []byte
	Transports []string

	// SignCount is the authenticator's signature counter at the last use
	// (zero for authenticators that keep none).
	SignCount uint32

	// BackupEligible and BackupState are the authenticator's flags: whether
	// the credential may be synced to other devices, and whether it is.
	// BackupEligible never changes after registration.
	BackupEligible bool
	BackupState    bool

	Created  time.Time // when it was registered
	LastUsed time.Time // when it last logged in; zero until then
}

// Passkeys keeps the accounts' WebAuthn credentials. A backend that keeps
// both Passkeys and Users deletes an account's passkeys with the account:
// after DeleteUser, AccountPasskeys of the deleted account's ID is empty.
type Passkeys interface {
	// AddPasskey stores p. It returns ErrExists when a passkey with the
	// same ID exists, whichever account it belongs to. p.ID and
	// p.AccountID must not be empty.
	AddPasskey(ctx context.Context, p Passkey) error

	// Passkey returns the passkey whose credential ID is id, or
	// ErrNotFound.
	Passkey(ctx context.Context, id []byte) (Passkey, error)

	// AccountPasskeys returns the passkeys of the account whose ID is
	// accountID, oldest first. It returns an empty slice, not an error,
	// when there are none.
	AccountPasskeys(ctx context.Context, accountID string) ([]Passkey, error)

	// UsePasskey records a login with the passkey id: its SignCount becomes
	// signCount, its BackupState backupState and its LastUsed used. In the
	// same atomic step it refuses, with ErrSignCount and changing nothing,
	// a counter that did not increase: signCount not greater than the
	// stored count while either is nonzero (two authenticators that keep
	// no counter both report zero, which is allowed). Of two concurrent
	// calls with the same count, one fails. It returns ErrNotFound when
	// there is no such passkey.
	UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, used time.Time) error

	// RenamePasskey sets the Name of the passkey id of the account
	// accountID. It returns ErrNotFound when that account has no such
	// passkey (whether or not another account has).
	RenamePasskey(ctx context.Context, accountID string, id []byte, name string) error

	// DeletePasskey removes the passkey id of the account accountID, so
	// that it logs no one in any more. It returns ErrNotFound when that
	// account has no such passkey (whether or not another account has).
	DeletePasskey(ctx context.Context, accountID string, id []byte) error
}
