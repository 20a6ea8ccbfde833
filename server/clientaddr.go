package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr returns the address of the client, for throttling and logs.
// It is the connection's peer, unless the peer is a trusted proxy: then it
// is the right-most address of X-Forwarded-For that is not itself a trusted
// proxy (the left part of that header is whatever the client wrote).
func (s *Server) clientAddr(r *http.Request) string {
	peer := remoteIP(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !s.cfg.Cookies.Trusts(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		ip = ip.Unmap()
		if !s.cfg.Cookies.Trusts(ip) {
			return ip.String()
		}
	}
	return peer.String()
}

// remoteIP parses the host part of a RemoteAddr such as "1.2.3.4:5678" or
// "[::1]:5678"; the zero Addr when it is not an IP.
func remoteIP(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}
