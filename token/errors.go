package token

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is wrapped by every error that rejects a token: malformed,
	// badly signed, signed by an unknown key, with the wrong algorithm,
	// header, issuer or audience, expired (or signed by a retired key), not
	// yet valid, or revoked. A caller that sees it should ask the client to
	// log in again (401 or a redirect), never answer 500.
	ErrInvalid = errors.New("token: invalid")

	// ErrExpired is wrapped, with ErrInvalid, by the error for an access
	// token that is authentic but past its expiry (beyond the leeway), or
	// authentic but signed by a key that has retired since: a key retires
	// once every token it signed has expired, so such a token is expired
	// too, even if its clock says otherwise. [Verifier.Verify] returns the
	// token's claims with it, so that the caller can send the client to
	// refresh, or end the login its "sid" names. A token whose signature
	// does not verify, or whose key is unknown, never gives ErrExpired. (A
	// Verifier of [RemoteKeys] knows only the published keys, which leave
	// retired ones out: there a retired key's token is unknown, ErrInvalid.)
	//
	// A refresh token past its family's idle or absolute lifetime gives
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

	// ErrClaims is wrapped by the error of [Issuer.Issue] for claims it
	// will not sign because [Verifier.Verify] would refuse the token or
	// read it back differently: no Subject or no Session, a Subject,
	// Session or AccountID that is not UTF-8, a custom claim under a name
	// the package writes itself (see [Claims.Extra]) or whose value is not
	// JSON, or a token that would be longer than [MaxTokenSize]. It is also
	// wrapped by the errors of [Claims.SetExtra] and [Claims.DecodeExtra].
	// It means the caller's claims are wrong, never that a token is: it
	// does not wrap ErrInvalid.
	ErrClaims = errors.New("token: unusable claims")

	// ErrRemoteKeys is wrapped by the error of [NewRemoteKeys] when it
	// cannot fetch or read the JWKS, and by the error of
	// [Verifier.Verify] for a token whose kid its [RemoteKeys] do not
	// have when the last fetch of the JWKS failed: the key may exist, and
	// the token be genuine. It does not wrap ErrInvalid: answer 503.
	ErrRemoteKeys = errors.New("token: remote JWKS unavailable")

	// ErrNoClaim is wrapped by the error of [Claims.DecodeExtra] for a
	// custom claim the token does not have.
	ErrNoClaim = errors.New("token: no such claim")
)

// IsUnauthenticated reports whether err means that the token presented
// is not acceptable, so that the client is to be treated as logged out:
// err wraps [ErrInvalid], as every rejection does. That is an access token
// from [Verifier.Verify] that is malformed, badly signed, signed by an
// unknown key, of the wrong type, issuer or audience, revoked
// ([ErrRevoked]), or expired ([ErrExpired]: past its exp, or signed by a
// key that has retired since; the claims come with the error, so that an
// API client can be told to refresh and a logout can still end the login
// its "sid" names); and a refresh token or family id given to a
// [Refresher] that is malformed, of a family that never existed, has
// expired or was revoked ([ErrRevoked]), or was spent and is presented
// again ([ErrReused]). A handler then answers 401 (an API) or sends the
// browser to log in.
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
