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

// Policy decides the attributes that depend on how the request arrived.
// The zero Policy is [SecureAuto] with no trusted proxies: Secure exactly
// when the server itself terminates TLS.
type Policy struct {
	// Secure says when cookies are Secure.
	Secure SecureMode

	// TrustedProxies lists the addresses of reverse proxies whose
	// X-Forwarded-Proto and Forwarded headers are believed. Those headers
	// from any other peer are ignored, since a client can send them.
	TrustedProxies []netip.Prefix
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

// Name returns the name of the cookie called base in answer to r: with the
// "__Host-" prefix when [Policy.IsSecure] reports true, so that browsers
// accept it only as a Secure, host-only cookie with Path=/ (a sibling
// subdomain or a plain-HTTP page cannot set it), and base unchanged
// otherwise.
func (p Policy) Name(base string, r *http.Request) string {
	if p.IsSecure(r) {
		return hostPrefix + base
	}
	return base
}

// hostPrefix is the cookie name prefix that browsers reserve for Secure,
// host-only cookies with Path=/.
const hostPrefix = "__Host-"

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
