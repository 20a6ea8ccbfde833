package cookie

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ErrPolicy is returned (wrapped) by [Policy.Check], and so by [New], for a
// Policy that makes cookies browsers refuse or net/http cannot write:
// SameSite=None or Partitioned without Secure: [SecureAlways], a Domain that
// is not a domain name, a Path that does not start with "/" or has a
// character net/http would drop, or an unknown SecureMode or SameSite. The
// message says what is wrong and how to fix it.
var ErrPolicy = errors.New("cookie: invalid policy")

// maxAttributeSize is the longest attribute value browsers keep (RFC 6265bis
// section 5.6): a longer Path is ignored, giving a cookie of another path.
const maxAttributeSize = 1024

// Check reports whether browsers accept the cookies p describes as p says.
// It returns nil, or an error wrapping [ErrPolicy] that lists every
// problem, each with its fix:
//
//   - SameSite=None, or Partitioned, when Secure is not [SecureAlways]:
//     browsers refuse such a cookie unless it is Secure, and with
//     [SecureAuto] it would not be Secure over plain HTTP.
//   - a Domain that is not a domain name in ASCII: an empty label, a
//     character other than a letter, a digit, '-' or '.', a label that
//     starts or ends with '-' or is longer than 63 bytes, a name longer
//     than 253 bytes, or an IP address (a cookie for an address must be
//     host-only) or a name ending in a numeric label, which browsers read
//     as one. One leading dot is allowed and ignored.
//   - a Path that does not start with "/", is longer than 1024 bytes, or
//     has a byte other than printable ASCII or has ';', which net/http
//     would drop when writing it.
//   - a Secure that is not one of the three modes, or a SameSite that is
//     not one of the four [http.SameSite] constants.
//
// Check cannot tell whether the Domain contains the hosts the application
// is served on, or is a public suffix such as "co.uk": browsers ignore
// the cookie then.
func (p Policy) Check() error {
	var problems []string
	switch p.Secure {
	case SecureAuto, SecureAlways, SecureNever:
	default:
		problems = append(problems, fmt.Sprintf("Secure is %v: use SecureAuto, SecureAlways or SecureNever", p.Secure))
	}
	switch p.SameSite {
	case 0, http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if p.Secure != SecureAlways {
			problems = append(problems, fmt.Sprintf("SameSite=None needs Secure: SecureAlways, not %v: browsers refuse a SameSite=None cookie that is not Secure", p.Secure))
		}
	default:
		problems = append(problems, fmt.Sprintf("SameSite is %d, not one of http.SameSiteLaxMode, http.SameSiteStrictMode and http.SameSiteNoneMode", int(p.SameSite)))
	}
	if p.Partitioned && p.Secure != SecureAlways {
		problems = append(problems, fmt.Sprintf("Partitioned needs Secure: SecureAlways, not %v: browsers refuse a Partitioned cookie that is not Secure", p.Secure))
	}
	if p.Domain != "" {
		if problem := domainProblem(p.Domain); problem != "" {
			problems = append(problems, problem)
		}
	}
	if p.Path != "" {
		if problem := pathProblem(p.Path); problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrPolicy, strings.Join(problems, "; "))
	}
	return nil
}

// domainProblem says what is wrong with domain as a cookie's Domain, or
// returns "" when nothing is.
func domainProblem(domain string) string {
	d := strings.TrimPrefix(domain, ".")
	switch {
	case d == "":
		return fmt.Sprintf("Domain %q has no name: leave Domain empty for a host-only cookie", domain)
	case len(d) > 253:
		return fmt.Sprintf("Domain is %d bytes long, over the 253 of a domain name", len(d))
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return fmt.Sprintf("Domain %q is an IP address: a cookie for an address must be host-only, so leave Domain empty", domain)
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; !isLetterDigit(c) && c != '-' && c != '.' {
			return fmt.Sprintf("Domain %q has %q: a domain name has only letters, digits, '-' and dots (write an internationalised name in its ASCII form, xn--...)", domain, c)
		}
	}
	labels := strings.Split(d, ".")
	for _, label := range labels {
		switch {
		case label == "":
			return fmt.Sprintf("Domain %q has an empty label: write it as example.com, with single dots and none at the end", domain)
		case len(label) > 63:
			return fmt.Sprintf("Domain %q has a label of %d bytes, over the 63 of a domain name", domain, len(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Sprintf("Domain %q has the label %q, which starts or ends with '-'", domain, label)
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return fmt.Sprintf("Domain %q ends in the numeric label %q, which browsers read as an IP address: use a domain name, or leave Domain empty", domain, last)
	}
	// net/http's own rules, in case they are stricter than the above: it
	// writes no Domain attribute at all for a domain it refuses.
	if err := (&http.Cookie{Name: "x", Domain: d}).Valid(); err != nil {
		return fmt.Sprintf("Domain %q is not a cookie domain net/http can write: %v", domain, err)
	}
	return ""
}

// pathProblem says what is wrong with path as a cookie's Path, or returns
// "" when nothing is.
func pathProblem(path string) string {
	if path[0] != '/' {
		return fmt.Sprintf("Path %q does not start with \"/\": browsers would use the request's directory instead", path)
	}
	if len(path) > maxAttributeSize {
		return fmt.Sprintf("Path is %d bytes long: browsers ignore a Path longer than %d bytes", len(path), maxAttributeSize)
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c < 0x20 || c >= 0x7f || c == ';' {
			return fmt.Sprintf("Path %q has %q at byte %d, which net/http would drop: use printable ASCII other than ';', percent-encoding the rest", path, c, i)
		}
	}
	if err := (&http.Cookie{Name: "x", Path: path}).Valid(); err != nil {
		return fmt.Sprintf("Path %q is not a cookie path net/http can write: %v", path, err)
	}
	return ""
}

// isLetterDigit reports whether c is an ASCII letter or digit.
func isLetterDigit(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Cookie returns the attributes of the cookie called base in an answer to
// r: the name [Policy.Name] gives, Path (default "/"), Domain (without a
// leading dot), HttpOnly always, Secure as [Policy.IsSecure] decides,
// SameSite (Lax unless p says Strict or None) and Partitioned. It sets no
// Value, MaxAge or Expires: the caller sets those. Leaving MaxAge and
// Expires zero makes a browser-session cookie; MaxAge -1 deletes the
// cookie, which a browser does only for a cookie of the same name, Domain
// and Path (and partitioning), so a deletion must start from the same
// attributes.
//
// Cookie does not check p: call [Policy.Check] first ([New] does). For a
// Policy that fails it, browsers may refuse the cookie, or net/http drop an
// attribute when it writes the cookie.
func (p Policy) Cookie(base string, r *http.Request) http.Cookie {
	secure := p.IsSecure(r)
	name := base
	if secure {
		name = p.prefix() + base
	}
	path := p.Path
	if path == "" {
		path = "/"
	}
	sameSite := p.SameSite
	if sameSite == 0 || sameSite == http.SameSiteDefaultMode {
		sameSite = http.SameSiteLaxMode
	}
	return http.Cookie{
		Name:        name,
		Path:        path,
		Domain:      strings.TrimPrefix(p.Domain, "."),
		HttpOnly:    true,
		Secure:      secure,
		SameSite:    sameSite,
		Partitioned: p.Partitioned,
	}
}
