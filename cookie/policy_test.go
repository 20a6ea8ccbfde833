package cookie

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestPolicyIsSecure(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		mode    SecureMode
		tls     bool
		remote  string
		headers map[string][]string
		want    bool
	}{
		{"plain HTTP", SecureAuto, false, "203.0.113.9:1234", nil, false},
		{"TLS", SecureAuto, true, "203.0.113.9:1234", nil, true},
		{"trusted proxy, XFP https", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"X-Forwarded-Proto": {"https"}}, true},
		{"trusted proxy, XFP HTTPS", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"X-Forwarded-Proto": {"HTTPS"}}, true},
		{"trusted proxy, XFP http", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"X-Forwarded-Proto": {"http"}}, false},
		{"trusted proxy, no header", SecureAuto, false, "10.1.2.3:1234", nil, false},
		{"untrusted peer, XFP https", SecureAuto, false, "203.0.113.9:1234",
			map[string][]string{"X-Forwarded-Proto": {"https"}}, false},
		{"untrusted peer, Forwarded https", SecureAuto, false, "203.0.113.9:1234",
			map[string][]string{"Forwarded": {"proto=https"}}, false},
		{"trusted proxy, Forwarded", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"Forwarded": {"for=192.0.2.60;proto=https;by=203.0.113.43"}}, true},
		{"trusted proxy, Forwarded quoted", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"Forwarded": {`for="[2001:db8::1]:80"; Proto="https"`}}, true},
		{"trusted proxy, Forwarded http", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"Forwarded": {"for=192.0.2.60;proto=http"}}, false},
		{"trusted proxy, client's https then proxy's http", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"X-Forwarded-Proto": {"https, http"}}, false},
		{"trusted proxy, client's http then proxy's https", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"X-Forwarded-Proto": {"http", "https"}}, true},
		{"trusted proxy, Forwarded last element http", SecureAuto, false, "10.1.2.3:1234",
			map[string][]string{"Forwarded": {"proto=https, for=10.9.9.9;proto=http"}}, false},
		{"trusted IPv6 proxy", SecureAuto, false, "[fd00::1]:1234",
			map[string][]string{"X-Forwarded-Proto": {"https"}}, true},
		{"trusted proxy as IPv4-mapped IPv6", SecureAuto, false, "[::ffff:10.1.2.3]:1234",
			map[string][]string{"X-Forwarded-Proto": {"https"}}, true},
		{"trusted proxy without port", SecureAuto, false, "10.1.2.3",
			map[string][]string{"X-Forwarded-Proto": {"https"}}, true},
		{"RemoteAddr not an IP", SecureAuto, false, "proxy.internal:1234",
			map[string][]string{"X-Forwarded-Proto": {"https"}}, false},
		{"always, plain HTTP", SecureAlways, false, "203.0.113.9:1234", nil, true},
		{"never, TLS", SecureNever, true, "203.0.113.9:1234", nil, false},
		{"never, trusted proxy https", SecureNever, false, "10.1.2.3:1234",
			map[string][]string{"X-Forwarded-Proto": {"https"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			p := Policy{Secure: tt.mode, TrustedProxies: proxies}
			if got := p.IsSecure(r); got != tt.want {
				t.Errorf("IsSecure = %v, want %v", got, tt.want)
			}
			wantName := "sk"
			if tt.want {
				wantName = "__Host-sk"
			}
			if got := p.Name("sk", r); got != wantName {
				t.Errorf("Name = %q, want %q", got, wantName)
			}
		})
	}
}

func TestPolicyWithoutTrustedProxies(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("Forwarded", "proto=https")
	if (Policy{}).IsSecure(r) {
		t.Errorf("the zero Policy believed a forwarded proto")
	}
}

func TestParseSecureMode(t *testing.T) {
	for _, m := range []SecureMode{SecureAuto, SecureAlways, SecureNever} {
		got, err := ParseSecureMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseSecureMode(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for _, s := range []string{"", "Auto", "yes", "true", " never"} {
		if _, err := ParseSecureMode(s); !errors.Is(err, ErrSecureMode) {
			t.Errorf("ParseSecureMode(%q) error = %v, want ErrSecureMode", s, err)
		}
	}
	if got := SecureMode(7).String(); got != "SecureMode(7)" {
		t.Errorf("SecureMode(7).String() = %q", got)
	}
}

func TestPolicyTrusts(t *testing.T) {
	p := Policy{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}}
	cases := []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"11.1.2.3", false},
		{"::ffff:10.1.2.3", true}, // IPv4-mapped counts as IPv4
		{"fd00::1%eth0", true},    // the zone is ignored
		{"2001:db8::1", false},
	}
	for _, c := range cases {
		if got := p.Trusts(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Trusts(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
	if (Policy{}).Trusts(netip.MustParseAddr("10.1.2.3")) {
		t.Error("a Policy without trusted proxies trusts an address")
	}
}
