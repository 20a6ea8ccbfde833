package cookie

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// ErrSecureMode is returned (wrapped) by [ParseSecureMode] for a word it does
// not know.
var ErrSecureMode = errors.New(`cookie: secure mode is not "auto", "always" or "never"`)

// SecureMode says when cookies get the Secure attribute (and the "__Host-"
// name prefix, which requires it).
type SecureMode int

const (
	// SecureAuto, the zero value, makes cookies Secure when the request
	// came over HTTPS: directly (the request has TLS state), or through a
	// trusted proxy that says so with "X-Forwarded-Proto: https" or
	// "Forwarded: proto=https". See [Policy.IsSecure].
	SecureAuto SecureMode = iota

	// SecureAlways makes every cookie Secure. Browsers do not send Secure
	// cookies over plain HTTP (except to localhost), so a site served over
	// HTTP with this mode cannot keep anyone logged in.
	SecureAlways

	// SecureNever makes no cookie Secure, even over HTTPS: a cookie can
	// then leak over a plain-HTTP request to the same host. Use it only
	// where no HTTPS exists, such as local development.
	SecureNever
)

// ParseSecureMode returns the mode named by s: "auto", "always" or "never",
// as [SecureMode.String] writes them. Anything else, including the empty
// string and other capitalisations, gives an error wrapping [ErrSecureMode].
func ParseSecureMode(s string) (SecureMode, error) {
	switch s {
	case "auto":
		return SecureAuto, nil
	case "always":
		return SecureAlways, nil
	case "never":
		return SecureNever, nil
	}
	return SecureAuto, fmt.Errorf("%w: %q", ErrSecureMode, s)
}

// String returns "auto", "always" or "never", or "SecureMode(N)" for a value
// that is none of the three.
func (m SecureMode) String() string {
	switch m {
	case SecureAuto:
		return "auto"
	case SecureAlways:
		return "always"
	case SecureNever:
		return "never"
	}
	return "SecureMode(" + strconv.Itoa(int(m)) + ")"
}

// Policy holds the attributes of a cookie other than its value and
// lifetime: when it is Secure, and its Domain, Path, SameSite and
// Partitioned attributes. [Policy.Cookie] turns it into the attributes of a
// Set-Cookie, and [Policy.Name] into the cookie's name.
//
// The zero Policy is [SecureAuto] with no trusted proxies (Secure exactly
// when the server itself terminates TLS), a host-only cookie with Path=/,
// SameSite=Lax, not partitioned. Some combinations are refused by browsers;
// [Policy.Check] reports them, and [New] refuses a Policy that fails it.
type Policy struct {
	// Secure says when cookies are Secure.
	Secure SecureMode

	// TrustedProxies lists the addresses of reverse proxies whose
	// X-Forwarded-Proto and Forwarded headers are believed. Those headers
	// from any other peer are ignored, since a client can send them.
	TrustedProxies []netip.Prefix

	// Domain, when set, shares the cookie with every subdomain of it:
	// "example.com" sends it to example.com, www.example.com and
	// api.example.com alike. The empty Domain, the default, makes a
	// host-only cookie, sent only to the host that set it, which is safer:
	// with a Domain, any subdomain (say, one serving user content) can read
	// the cookie and can set one of the same name that the others receive.
	//
	// It must be a domain name in ASCII (the punycode form of an
	// internationalised name): labels of letters, digits and '-',
	// separated by single dots. A leading dot is ignored, as browsers
	// ignore it (".example.com" is "example.com"). An IP address is
	// refused: a cookie for an address must be host-only. The browser
	// still ignores the whole cookie when the Domain does not contain the
	// request's host or is a public suffix such as "com" or "co.uk",
	// which [Policy.Check] cannot know. A Domain gives a Secure cookie the
	// "__Secure-" name prefix instead of "__Host-" (see [Policy.Name]).
	Domain string

	// Path limits the cookie to requests whose path is Path or below it.
	// The empty Path means "/", the whole site. It must start with "/" and
	// have only printable ASCII characters other than ';'. A Path other
	// than "/" gives a Secure cookie the "__Secure-" name prefix instead of
	// "__Host-" (see [Policy.Name]).
	Path string

	// SameSite says when the browser sends the cookie with a request that
	// another site started. The zero value and [http.SameSiteDefaultMode]
	// both mean [http.SameSiteLaxMode], written out as "SameSite=Lax"
	// (browsers that find no attribute do not all default to Lax).
	//
	//   - [http.SameSiteLaxMode] sends it when the user follows a link from
	//     another site (a top-level GET), not with a cross-site form POST,
	//     frame or script request: the default, and a defence against CSRF.
	//   - [http.SameSiteStrictMode] never sends it with a request another
	//     site started, not even a link: a user arriving from a link in an
	//     e-mail looks logged out on that first page.
	//   - [http.SameSiteNoneMode] always sends it, for a site embedded in
	//     another's frames; browsers require the cookie to be Secure, so it
	//     needs Secure: [SecureAlways], and the application needs another
	//     defence against CSRF.
	SameSite http.SameSite

	// Partitioned makes a CHIPS cookie (Cookies Having Independent
	// Partitioned State): a browser that supports it keeps a separate
	// cookie for each top-level site the application is embedded in, so
	// an embedded widget keeps state without becoming a cross-site
	// tracker. It is for cookies sent in frames of other sites, so it
	// usually goes with SameSite=None. Browsers require it to be Secure,
	// so it needs Secure: [SecureAlways].
	Partitioned bool
}

// IsSecure reports whether a cookie set in answer to r should be Secure.
//
// With [SecureAuto] that is when r arrived over TLS, or when r.RemoteAddr
// is in one of p.TrustedProxies and that proxy says the client used HTTPS:
// the last element of the Forwarded header has proto=https, or the last
// value of X-Forwarded-Proto is https (the last one is what the nearest
// proxy wrote; earlier ones may come from the client). A trusted proxy that
// passes a client's header on unchanged lets that client choose for its own
// cookies only. A RemoteAddr that is not an IP address is not trusted.
func (p Policy) IsSecure(r *http.Request) bool {
	switch p.Secure {
	case SecureAlways:
		return true
	case SecureNever:
		return false
	}
	if r.TLS != nil {
		return true
	}
	if !p.trusted(r.RemoteAddr) {
		return false
	}
	return strings.EqualFold(forwardedProto(r.Header), "https") ||
		strings.EqualFold(lastValue(r.Header.Values("X-Forwarded-Proto")), "https")
}

// Name returns the name of the cookie called base in answer to r. When
// [Policy.IsSecure] reports true, it has a prefix that makes browsers
// enforce the policy, so that a plain-HTTP page or (for "__Host-") a
// sibling subdomain cannot set a cookie of that name:
//
//   - "__Host-" for a host-only cookie with Path=/ (empty Domain, Path ""
//     or "/"): browsers accept it only if it is Secure, host-only and
//     Path=/.
//   - "__Secure-" when Domain is set or Path is another path, which
//     "__Host-" forbids: browsers accept it only if it is Secure.
//
// When the cookie is not Secure, Name returns base unchanged.
func (p Policy) Name(base string, r *http.Request) string {
	if p.IsSecure(r) {
		return p.prefix() + base
	}
	return base
}

// Name prefixes that browsers reserve: "__Host-" for Secure, host-only
// cookies with Path=/, "__Secure-" for Secure cookies.
const (
	hostPrefix   = "__Host-"
	securePrefix = "__Secure-"
)

// prefix returns the prefix of the cookie's name when it is Secure.
func (p Policy) prefix() string {
	if p.Domain == "" && (p.Path == "" || p.Path == "/") {
		return hostPrefix
	}
	return securePrefix
}

// trusted reports whether remote, a RemoteAddr such as "10.0.0.1:5678",
// "[::1]:5678" or a bare address, is in one of p.TrustedProxies.
func (p Policy) trusted(remote string) bool {
	if len(p.TrustedProxies) == 0 {
		return false
	}
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		addr = ap.Addr()
	} else if addr, err = netip.ParseAddr(remote); err != nil {
		return false
	}
	return p.Trusts(addr)
}

// Trusts reports whether addr is in one of p.TrustedProxies. A zone is
// ignored and an IPv4-mapped IPv6 address counts as IPv4. Servers use it to
// decide whether to believe X-Forwarded-For as well.
func (p Policy) Trusts(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	for _, prefix := range p.TrustedProxies {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// lastValue returns the last comma-separated element of the last of values,
// without surrounding spaces: what the nearest proxy wrote.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// forwardedProto returns the proto parameter of the last element of the
// Forwarded header (RFC 7239), unquoted, or "" when there is none.
func forwardedProto(h http.Header) string {
	elem := lastValue(h.Values("Forwarded"))
	for pair := range strings.SplitSeq(elem, ";") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(key, "proto") {
			return strings.Trim(value, `"`)
		}
	}
	return ""
}
