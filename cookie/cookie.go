package cookie

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

var (
	// ErrNoCookie is returned by [Cookie.Read] when the request carries no
	// cookie of that name.
	ErrNoCookie = errors.New("cookie: no cookie")

	// ErrRevoked is returned by [Cookie.Read] when the cookie is authentic
	// and unexpired but its ID is on the deny list, because of an earlier
	// [Cookie.Revoke].
	ErrRevoked = errors.New("cookie: value revoked")

	// ErrName is returned (wrapped) by [New] when Options.Name is empty, has
	// a character that a cookie name cannot have, already starts with
	// "__Host-" or "__Secure-", or is too long to leave room for a value.
	ErrName = errors.New("cookie: invalid cookie name")

	// ErrMaxAge is returned (wrapped) by [New] when Options.MaxAge is less
	// than a second.
	ErrMaxAge = errors.New("cookie: MaxAge is less than a second")
)

// idSize is the length in bytes of a value's ID; in a [Value] it is written
// as twice as many hex digits.
const idSize = 16

// Options configure a [Cookie].
type Options struct {
	// Name is the base name of the cookie: letters, digits and
	// !#$%&'*+-.^_`|~ only. "__Host-" is prepended when the cookie is
	// Secure (see [Policy.Name]).
	Name string

	// MaxAge is how long a value lives from the moment it is first written:
	// its expiry is fixed then, and writing it back later keeps it. It must
	// be at least a second.
	MaxAge time.Duration

	// Policy says when the cookie is Secure.
	Policy Policy

	// DenyList, when set, lets [Cookie.Revoke] refuse a value (and every
	// copy of it) until its expiry, and makes [Cookie.Read] check every
	// value against it. When nil, Revoke only clears the cookie in the
	// browser that asks, and Read never asks a store.
	DenyList store.DenyList
}

// A Value is what a [Cookie] carries: the caller's data, and the ID and
// expiry that the Cookie manages.
type Value struct {
	// Data is the caller's data, sealed: the client can neither read nor
	// change it, but it can see its length.
	Data []byte

	// ID identifies the value for revocation: 32 lowercase hex digits
	// (128 random bits). The zero ID makes [Cookie.Write] start a new value
	// with a new ID; a Value from [Cookie.Read] keeps its ID when written
	// back, so every version of it is revoked together.
	ID string

	// Expires is when the value stops being accepted, to the second. The
	// zero time makes [Cookie.Write] set it to now plus Options.MaxAge; a
	// Value from [Cookie.Read] keeps it when written back, so rewriting the
	// cookie on each request does not extend its life.
	Expires time.Time
}

// A Cookie reads and writes one sealed cookie in net/http handlers: its
// value is encrypted and authenticated with a [KeyRing], bound to the
// cookie's name, and expires. Every Set-Cookie it writes has HttpOnly,
// SameSite=Lax, Path=/, Max-Age and Expires at the value's expiry, and
// Secure and the "__Host-" name prefix as its [Policy] decides.
//
// A Cookie is safe for concurrent use.
type Cookie struct {
	ring   *KeyRing
	name   string
	maxAge time.Duration
	policy Policy
	deny   store.DenyList
	now    func() time.Time // time.Now; tests replace it
}

// New returns a Cookie sealing with ring as opts say.
//
// It returns an error wrapping [ErrNoKeys] when ring is nil, [ErrName] when
// opts.Name is not a valid base name, and [ErrMaxAge] when opts.MaxAge is
// less than a second.
func New(ring *KeyRing, opts Options) (*Cookie, error) {
	if ring == nil {
		return nil, fmt.Errorf("%w: nil key ring", ErrNoKeys)
	}
	if err := checkName(opts.Name); err != nil {
		return nil, err
	}
	if opts.MaxAge < time.Second {
		return nil, fmt.Errorf("%w: %v", ErrMaxAge, opts.MaxAge)
	}
	policy := opts.Policy
	policy.TrustedProxies = slices.Clone(policy.TrustedProxies)
	return &Cookie{
		ring:   ring,
		name:   opts.Name,
		maxAge: opts.MaxAge,
		policy: policy,
		deny:   opts.DenyList,
		now:    time.Now,
	}, nil
}

// checkName returns an error wrapping ErrName unless name is a non-empty
// RFC 6265 token without a reserved prefix, short enough that the prefixed
// name and an empty sealed value fit in MaxSize.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrName)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("%w: %q has %q at byte %d", ErrName, name, name[i], i)
		}
	}
	for _, prefix := range []string{hostPrefix, "__Secure-"} {
		if len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
			return fmt.Errorf("%w: %q starts with %q, which the Policy adds", ErrName, name, prefix)
		}
	}
	if size := len(hostPrefix) + len(name) + 1 + base64.RawURLEncoding.EncodedLen(minSealedSize+idSize); size > MaxSize {
		return fmt.Errorf("%w: %d bytes long, leaving no room for a value", ErrName, len(name))
	}
	return nil
}

// isTokenChar reports whether c may appear in an RFC 6265 cookie name (an
// RFC 2616 token).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Read returns the value of the cookie in r.
//
// When r carries several cookies of the name (one may have been planted by
// another site on the same domain), Read returns the first that opens, has
// not expired and is not revoked. When none does, it returns [ErrNoCookie]
// if there was no cookie of the name, else [ErrRevoked] if one of them was
// revoked, else [ErrExpired] if one had expired, else [ErrInvalid]. Each of
// these means "no valid value": the user is logged out.
//
// When Options.DenyList is set and cannot answer, Read returns the deny
// list's error, wrapped: it matches none of the errors above, and means
// "could not check" (answer 503, not "logged out"). Read uses r's context
// for the deny list.
func (c *Cookie) Read(r *http.Request) (Value, error) {
	name := c.policy.Name(c.name, r)
	found := r.CookiesNamed(name)
	if len(found) == 0 {
		return Value{}, ErrNoCookie
	}
	now := c.now()
	refused := ErrInvalid
	for _, hc := range found {
		v, err := c.open(name, hc.Value, now)
		if err == nil && c.deny != nil {
			var denied bool
			denied, err = c.deny.Denied(r.Context(), v.ID)
			if err != nil {
				return Value{}, fmt.Errorf("cookie: checking the deny list: %w", err)
			}
			if denied {
				err = ErrRevoked
			}
		}
		switch {
		case err == nil:
			return v, nil
		case err == ErrRevoked:
			refused = ErrRevoked
		case err == ErrExpired && refused == ErrInvalid:
			refused = ErrExpired
		}
	}
	return Value{}, refused
}

// open opens a sealed value of the cookie called name into a Value.
func (c *Cookie) open(name, sealed string, now time.Time) (Value, error) {
	plain, expires, err := c.ring.open(name, sealed, now)
	if err != nil {
		return Value{}, err
	}
	if len(plain) < idSize {
		// Sealed by the ring under this name, but not by a Cookie.
		return Value{}, ErrInvalid
	}
	return Value{
		Data:    plain[idSize:],
		ID:      hex.EncodeToString(plain[:idSize]),
		Expires: time.Unix(expires, 0),
	}, nil
}

// Write seals v and sets it as the cookie in the answer to r. A zero v.ID
// gets a new random ID, and a zero v.Expires becomes now plus
// Options.MaxAge; write back a Value from [Cookie.Read] to keep both.
//
// It returns an error wrapping [ErrTooLarge] when the cookie would exceed
// [MaxSize] bytes (the sealed value is about 4/3 of len(v.Data) plus 92
// bytes, plus the name, which is 7 bytes longer when Secure), one wrapping
// [ErrExpired] when v.Expires, to the second, is not after now, and
// one wrapping [ErrInvalid] when v.ID was not made by a Cookie. It sets no
// cookie when it fails.
func (c *Cookie) Write(w http.ResponseWriter, r *http.Request, v Value) error {
	now := c.now()
	var id [idSize]byte
	if v.ID == "" {
		if _, err := rand.Read(id[:]); err != nil {
			return fmt.Errorf("cookie: generating an ID: %w", err)
		}
	} else if len(v.ID) != 2*idSize || !isLowerHex(v.ID) {
		return fmt.Errorf("%w: Value.ID %q is not 32 lowercase hex digits", ErrInvalid, v.ID)
	} else {
		_, _ = hex.Decode(id[:], []byte(v.ID)) // checked above
	}
	if v.Expires.IsZero() {
		v.Expires = now.Add(c.maxAge)
	}
	expires := time.Unix(v.Expires.Unix(), 0)
	maxAge := expires.Unix() - now.Unix()
	if maxAge <= 0 {
		return fmt.Errorf("%w: Value.Expires %v is not in the future", ErrExpired, v.Expires)
	}

	secure := c.policy.IsSecure(r)
	name := c.cookieName(secure)
	sealed, err := c.ring.seal(name, id[:], v.Data, expires)
	if err != nil {
		return fmt.Errorf("cookie: writing %d bytes of data: %w", len(v.Data), err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    sealed,
		Path:     "/",
		MaxAge:   int(maxAge),
		Expires:  expires.UTC(),
		Secure:   secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// Clear sets an expired, empty cookie of the same name and attributes in the
// answer to r, so that the browser deletes the cookie. It does not revoke
// the value: a copy of it stays valid until it expires (see
// [Cookie.Revoke]).
func (c *Cookie) Clear(w http.ResponseWriter, r *http.Request) {
	secure := c.policy.IsSecure(r)
	http.SetCookie(w, &http.Cookie{
		Name:     c.cookieName(secure),
		Value:    "",
		Path:     "/",
		MaxAge:   -1, // written as Max-Age=0
		Expires:  time.Unix(0, 0).UTC(),
		Secure:   secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// cookieName returns the name of the cookie, prefixed when it is Secure.
func (c *Cookie) cookieName(secure bool) string {
	if secure {
		return hostPrefix + c.name
	}
	return c.name
}

// isLowerHex reports whether s holds only the digits 0-9 and a-f.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}
