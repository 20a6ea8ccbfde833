package token

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is wrapped by every error that rejects a token: malformed,
	// badly signed, signed by an unknown or retired key, with the wrong
	// algorithm, header, issuer or audience, expired, not yet valid, or
	// revoked. A caller that sees it should ask the client to log in again
	// (401 or a redirect), never answer 500.
	ErrInvalid = errors.New("token: invalid")

	// ErrExpired is wrapped, with ErrInvalid, by the error for an access
	// token that is authentic but past its expiry (beyond the leeway). A
	// refresh token past its family's idle or absolute lifetime gives
	// ErrRevoked instead: the store forgets an expired family, so it
	// cannot be told from a revoked one.
	ErrExpired = errors.New("token: expired")

	// ErrRevoked is wrapped, with ErrInvalid, by the error for a token that
	// was authentic but has been revoked: an access token whose id is on
	// the deny list, or a refresh token whose family has ended (logout,
	// revocation, reuse, idle timeout or lifetime).
	ErrRevoked = errors.New("token: revoked")

	// ErrReused is wrapped, with ErrInvalid and ErrRevoked, by the error for
	// a refresh token that was already spent and is presented again after
	// the grace window. Its whole family has been revoked as a result.
	ErrReused = errors.New("token: refresh token reused")

	// ErrNoKey is returned when a key set has no key that can sign.
	ErrNoKey = errors.New("token: no signing key")
)

// IsUnauthenticated reports whether err means that the token presented
// is not acceptable, so that the client is to be treated as logged out:
// err wraps [ErrInvalid], as every rejection does. That is an access token
// from [Verifier.Verify] that is malformed, badly signed, signed by an
// unknown or retired key, of the wrong type, issuer or audience, expired
// ([ErrExpired]) or revoked ([ErrRevoked]); and a refresh token or family
// id given to a [Refresher] that is malformed, of a family that never
// existed, has expired or was revoked ([ErrRevoked]), or was spent and is
// presented again ([ErrReused]). A handler then answers 401 (an API) or
// sends the browser to log in.
//
// It reports false for nil and for every other error: a deny list, key
// store or family store that could not be read or written, a context that
// ended first, a stored family that is corrupt. Those mean the token could
// not be checked: answer 503, so that the client tries again with the
// tokens it has, instead of being logged out by the store's failure.
func IsUnauthenticated(err error) bool {
	return errors.Is(err, ErrInvalid)
}

// invalid returns an error wrapping ErrInvalid with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// rejected returns an error wrapping ErrInvalid and why (ErrExpired,
// ErrRevoked, ...), with a reason.
func rejected(why error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalid, why, fmt.Sprintf(format, args...))
}
