package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/sessionkit/sessionkit/cookie"
)

func TestClientAddr(t *testing.T) {
	s := &Server{cfg: Config{Cookies: cookie.Policy{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}}}}
	cases := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct client", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"direct client lies in XFF", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy", "10.1.2.3:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy, client prepends a lie", "10.1.2.3:5555", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "10.1.2.3:5555", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"trusted proxy, header split over lines", "10.1.2.3:5555", []string{"1.1.1.1", "198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy, no header", "10.1.2.3:5555", nil, "10.1.2.3"},
		{"trusted proxy, garbage last hop", "10.1.2.3:5555", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"IPv6 trusted proxy", "[fd00::1]:5555", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped peer", "[::ffff:203.0.113.7]:5555", nil, "203.0.113.7"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientAddr(r); got != c.want {
			t.Errorf("%s: clientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}
