package passkey

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sessionkit/sessionkit/store"
)

var (
	// ErrChallenge reports a ceremony state that is missing, malformed,
	// sealed by another key, expired, already used, or bound to another
	// login or purpose than the Finish call's. The client should begin
	// again.
	ErrChallenge = errors.New("passkey: the challenge is missing, expired, already used or not for this request")

	// ErrInvalidResponse reports an answer from the browser that is not a
	// well-formed WebAuthn response, or that fails verification: another
	// origin or relying party, a bad signature, a flag the ceremony
	// required that is not set.
	ErrInvalidResponse = errors.New("passkey: the authenticator's response is not valid")

	// ErrUnknownPasskey reports a login with a passkey that is not
	// registered (never was, or was removed), or whose account is gone.
	ErrUnknownPasskey = errors.New("passkey: unknown passkey")

	// ErrSignCount reports a login whose signature counter did not move
	// forward (it wraps store.ErrSignCount): the authenticator may have
	// been cloned. The login is refused.
	ErrSignCount = fmt.Errorf("passkey: signature counter went backwards: %w", store.ErrSignCount)

	// ErrExists reports a registration of a passkey that is already
	// registered (to this account or another).
	ErrExists = errors.New("passkey: this passkey is already registered")
)

// DefaultChallengeLifetime is how long a ceremony's state is accepted when
// Options leaves ChallengeLifetime zero.
const DefaultChallengeLifetime = 5 * time.Minute

// MaxNameLength is the longest passkey name, in bytes, that
// FinishRegistration and Rename accept.
const MaxNameLength = 64

// Store is what a RelyingParty keeps its state in: the passkeys, the
// accounts they log in to, and the counters that make each challenge
// single-use. Every sessionkit store backend implements it.
type Store interface {
	store.Passkeys
	store.Users
	store.Counters
}

// Sealer seals a ceremony's state so that it can travel through the client
// unread and unchanged; cookie.KeyRing is one. Open must refuse (with any
// error) what Seal did not produce under the same name, and a value past
// its expiry.
type Sealer interface {
	Seal(name string, value []byte, expires time.Time) (string, error)
	Open(name, sealed string, now time.Time) ([]byte, error)
}

// Options configures a RelyingParty.
type Options struct {
	// RPID is the relying party ID: the domain passkeys are bound to, such
	// as "example.com" (which also covers its subdomains' origins) or
	// "localhost". It cannot change later without losing every passkey.
	RPID string

	// RPName is the name the browser shows when it asks the user to
	// create a passkey; "sessionkit" if empty.
	RPName string

	// Origins are the exact origins ("https://example.com",
	// "http://localhost:8080") whose pages may run the ceremonies. Each
	// must be the RPID or a subdomain of it.
	Origins []string

	// ChallengeLifetime is how long a ceremony's state is accepted after
	// Begin. Zero or negative means DefaultChallengeLifetime (5 minutes).
	ChallengeLifetime time.Duration

	// Now returns the current time; time.Now if nil.
	Now func() time.Time
}

// RelyingParty runs passkey registrations and logins for one site. It is
// safe for concurrent use.
type RelyingParty struct {
	wa       *webauthn.WebAuthn
	store    Store
	sealer   Sealer
	lifetime time.Duration
	now      func() time.Time
}

// New returns a RelyingParty that keeps passkeys in st and seals ceremony
// state with sealer. It fails when opts.RPID is not a valid domain, or an
// origin is not a URL of it.
func New(st Store, sealer Sealer, opts Options) (*RelyingParty, error) {
	if st == nil || sealer == nil {
		return nil, errors.New("passkey: nil store or sealer")
	}
	if err := CheckOrigins(opts.RPID, opts.Origins); err != nil {
		return nil, err
	}
	if opts.RPName == "" {
		opts.RPName = "sessionkit"
	}
	if opts.ChallengeLifetime <= 0 {
		opts.ChallengeLifetime = DefaultChallengeLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  opts.RPID,
		RPDisplayName:         opts.RPName,
		RPOrigins:             opts.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			// Logins name no user: only a discoverable credential can
			// answer them.
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RelyingParty{wa: wa, store: st, sealer: sealer, lifetime: opts.ChallengeLifetime, now: opts.Now}, nil
}

// CheckOrigins reports whether rpID is a domain (not an IP address) and
// every one of origins an http or https origin (scheme://host[:port]) on
// it or a subdomain of it, as New requires.
func CheckOrigins(rpID string, origins []string) error {
	if err := protocol.ValidateRPID(rpID); err != nil || rpID == "" || net.ParseIP(rpID) != nil {
		return fmt.Errorf("passkey: relying party ID %q is not a domain", rpID)
	}
	if len(origins) == 0 {
		return errors.New("passkey: no origins")
	}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("passkey: origin %q is not scheme://host[:port]", o)
		}
		host := u.Hostname()
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			return fmt.Errorf("passkey: origin %q is not on the relying party ID %q", o, rpID)
		}
	}
	return nil
}

// ValidName reports whether name is a usable passkey name: 1 to
// MaxNameLength bytes of printable UTF-8, without leading or trailing
// space.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLength || strings.TrimSpace(name) != name {
		return false
	}
	for _, r := range name {
		if r == '\uFFFD' || r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
