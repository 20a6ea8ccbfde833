package main

import (
	"net"
	"net/netip"

	"github.com/sessionkit/sessionkit/cookie"
)

// insecureCookiesWarning returns the warning "serve" logs at start when it
// listens on addr beyond the loopback interface (so browsers on other
// machines reach it, over plain HTTP since it has no TLS of its own) and
// policy would set cookies that are not Secure: --secure-cookies=never, or
// auto with no trusted proxy to say a request came over HTTPS. It names the
// flag that fixes it; "" when there is nothing to say.
func insecureCookiesWarning(addr net.Addr, policy cookie.Policy) string {
	if !beyondLoopback(addr) {
		return ""
	}
	switch {
	case policy.Secure == cookie.SecureNever:
		return "cookies are not Secure (--secure-cookies=never) and the server listens beyond loopback: " +
			"browsers send them over plain HTTP; behind a TLS proxy, set --secure-cookies=always"
	case policy.Secure == cookie.SecureAuto && len(policy.TrustedProxies) == 0:
		return "cookies will not be Secure: the server listens beyond loopback over plain HTTP, and with " +
			"--secure-cookies=auto and no --trusted-proxies no request counts as HTTPS; behind a TLS proxy, " +
			"set --trusted-proxies to the proxy's address, or --secure-cookies=always"
	}
	return ""
}

// beyondLoopback reports whether a listener on addr can be reached from
// other machines: every interface (0.0.0.0, ::) or an address that is not
// loopback.
func beyondLoopback(addr net.Addr) bool {
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return true
		}
		ip = ap.Addr()
	}
	return !ip.Unmap().IsLoopback()
}
