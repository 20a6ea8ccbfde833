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

	// ErrMaxAge is returned (wrapped) by [New] when Options.MaxAge is
	// negative or less than a second.
	ErrMaxAge = errors.New("cookie: MaxAge is less than a second")
)

// DefaultMaxAge is how long a value lives when Options.MaxAge is zero.
const DefaultMaxAge = 24 * time.Hour

// IsUnauthenticated reports whether err, from [Cookie.Read] or
// [KeyRing.Open], means that the request carries no valid value, so that
// the user is to be treated as logged out: err wraps [ErrNoCookie] (no
// cookie of the name), [ErrInvalid] (tampered with, malformed, sealed for
// another cookie name, or by a key no longer in the ring), [ErrExpired] or
// [ErrRevoked]. A handler then sends the browser to log in, or answers
// 401.
//
// It reports false for nil and for every other error: in particular the
// error Read returns when Options.DenyList fails or r's context ends
// before it answers, which means the value could not be checked. Answer
// 503 then, so that the user tries again instead of being logged out by
// the store's failure. It also reports false for the configuration
// errors of [New] and [NewKeyRing] ([ErrName], [ErrPolicy], [ErrNoKeys],
// ...).
func IsUnauthenticated(err error) bool {
	return errors.Is(err, ErrNoCookie) || errors.Is(err, ErrInvalid) ||
		errors.Is(err, ErrExpired) || errors.Is(err, ErrRevoked)
}

// idSize is the length in bytes of a value's ID; in a [Value] it is written
// as twice as many hex digits.
const idSize = 16

// Options configure a [Cookie].
type Options struct {
	// Name is the base name of the cookie: letters, digits and
	// !#$%&'*+-.^_`|~ only. "__Host-" or "__Secure-" is prepended when the
	// cookie is Secure (see [Policy.Name]).
	Name string

	// MaxAge is how long a value lives from the moment it is first written:
	// its expiry is fixed then, and writing it back later keeps it. Zero
	// means [DefaultMaxAge] (24 hours). There is no "none": [New] refuses a
	// negative MaxAge, and one under a second, with [ErrMaxAge].
	MaxAge time.Duration

	// Policy gives the cookie's attributes: when it is Secure, and its
	// Domain, Path, SameSite and Partitioned attributes. [New] refuses a
	// Policy that fails [Policy.Check].
	Policy Policy

	// BrowserSession, when true, makes a browser-session cookie: its
	// Set-Cookie has neither Max-Age nor Expires, so the browser drops
	// the cookie when the user ends the browsing session, usually by
	// closing the browser (one that restores sessions on restart may keep
	// it). The value still expires MaxAge after it was first written: the
	// expiry is sealed inside it, and [Cookie.Read] refuses it from then
	// on with [ErrExpired], however long the browser keeps it.
	BrowserSession bool

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
// cookie's name, and expires. Every Set-Cookie it writes has the attributes
// [Policy.Cookie] gives: HttpOnly always; SameSite=Lax, Path=/ and no
// Domain unless the [Policy] says otherwise; Secure and the "__Host-" or
// "__Secure-" name prefix as the Policy decides. It also has Max-Age and
// Expires at the value's expiry, unless Options.BrowserSession is set.
//
// A Cookie is safe for concurrent use.
type Cookie struct {
	ring           *KeyRing
	name           string
	maxAge         time.Duration
	policy         Policy
	browserSession bool
	deny           store.DenyList
	now            func() time.Time // time.Now; tests replace it
}

// New returns a Cookie sealing with ring as opts say.
//
// It returns an error wrapping [ErrNoKeys] when ring is nil, [ErrName] when
// opts.Name is not a valid base name, [ErrMaxAge] when opts.MaxAge is
// negative or less than a second, and [ErrPolicy] when opts.Policy fails [Policy.Check]: a
// combination of attributes that browsers would refuse.
func New(ring *KeyRing, opts Options) (*Cookie, error) {
	if ring == nil {
		return nil, fmt.Errorf("%w: nil key ring", ErrNoKeys)
	}
	if err := opts.Policy.Check(); err != nil {
		return nil, fmt.Errorf("cookie: the Policy of cookie %q: %w", opts.Name, err)
	}
	if err := checkName(opts.Name, opts.Policy.prefix()); err != nil {
		return nil, err
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxAge < time.Second {
		return nil, fmt.Errorf("%w: %v", ErrMaxAge, opts.MaxAge)
	}
	policy := opts.Policy
	policy.TrustedProxies = slices.Clone(policy.TrustedProxies)
	return &Cookie{
		ring:           ring,
		name:           opts.Name,
		maxAge:         opts.MaxAge,
		policy:         policy,
		browserSession: opts.BrowserSession,
		deny:           opts.DenyList,
		now:            time.Now,
	}, nil
}

// CheckName returns nil when name can be the base name of a cookie named
// by a [Policy]: a non-empty RFC 6265 token (letters, digits and
// !#$%&'*+-.^_`|~) that does not start with "__Host-" or "__Secure-", in
// any case, since [Policy.Name] adds those. Otherwise it returns an error
// wrapping [ErrName]. The session package checks its cookie's name with it.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrName)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("%w: %q has %q at byte %d", ErrName, name, name[i], i)
		}
	}
	for _, reserved := range []string{hostPrefix, securePrefix} {
		if len(name) >= len(reserved) && strings.EqualFold(name[:len(reserved)], reserved) {
			return fmt.Errorf("%w: %q starts with %q, which the Policy adds", ErrName, name, reserved)
		}
	}
	return nil
}

// checkName returns an error wrapping ErrName unless name passes CheckName
// and is short enough that the name with prefix (what a Secure cookie has)
// and an empty sealed value fit in MaxSize.
func checkName(name, prefix string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if size := len(prefix) + len(name) + 1 + base64.RawURLEncoding.EncodedLen(minSealedSize+idSize); size > MaxSize {
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
// these means "no valid value": the user is logged out, and
// [IsUnauthenticated] reports true for it.
//
// When Options.DenyList is set and cannot answer, Read returns the deny
// list's error, wrapped: it matches none of the errors above, and means
// "could not check" (answer 503, not "logged out"); [IsUnauthenticated]
// reports false for it. Read uses r's context for the deny list.
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
// bytes, plus the name, which is 7 bytes longer with "__Host-" or 9 with
// "__Secure-" when Secure), one wrapping [ErrExpired] when v.Expires, to
// the second, is not after now, and one wrapping [ErrInvalid] when v.ID was
// not made by a Cookie. It sets no cookie when it fails.
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

	hc := c.policy.Cookie(c.name, r)
	sealed, err := c.ring.seal(hc.Name, id[:], v.Data, expires)
	if err != nil {
		return fmt.Errorf("cookie: writing %d bytes of data: %w", len(v.Data), err)
	}
	hc.Value = sealed
	if !c.browserSession {
		hc.MaxAge = int(maxAge)
		hc.Expires = expires.UTC()
	}
	http.SetCookie(w, &hc)
	return nil
}

// Clear sets an expired, empty cookie of the same name, Domain, Path and
// other attributes in the answer to r, so that the browser deletes the
// cookie (a browser-session cookie too). It does not revoke the value: a
// copy of it stays valid until it expires (see [Cookie.Revoke]).
func (c *Cookie) Clear(w http.ResponseWriter, r *http.Request) {
	hc := c.policy.Cookie(c.name, r)
	hc.MaxAge = -1 // written as Max-Age=0
	hc.Expires = time.Unix(0, 0).UTC()
	http.SetCookie(w, &hc)
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
