package cookie

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// requestTo returns a GET request for rawURL carrying cookies, over TLS when
// the URL is https.
func requestTo(rawURL string, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, rawURL, nil)
	if strings.HasPrefix(rawURL, "https:") {
		r.TLS = &tls.ConnectionState{}
	} else {
		r.TLS = nil
	}
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestPolicyCheck(t *testing.T) {
	always := SecureAlways
	tests := []struct {
		name   string
		policy Policy
		want   []string // what the error says, one string a problem; nil: valid
	}{
		{"zero", Policy{}, nil},
		{"domain", Policy{Domain: "example.com"}, nil},
		{"domain with leading dot", Policy{Domain: ".example.com"}, nil},
		{"domain in capitals", Policy{Domain: "Example.COM"}, nil},
		{"deep domain with digits and dashes", Policy{Domain: "eu-1.app2.example.co.uk"}, nil},
		{"punycode domain", Policy{Domain: "xn--bcher-kva.example"}, nil},
		{"single-label domain", Policy{Domain: "localhost"}, nil},
		{"63-byte label", Policy{Domain: strings.Repeat("a", 63) + ".example"}, nil},
		{"path", Policy{Path: "/app"}, nil},
		{"path /", Policy{Path: "/"}, nil},
		{"path with punctuation", Policy{Path: "/a/b-c_d.e~%20(f),g"}, nil},
		{"path of 1024 bytes", Policy{Path: "/" + strings.Repeat("p", 1023)}, nil},
		{"SameSite default mode", Policy{SameSite: http.SameSiteDefaultMode}, nil},
		{"SameSite Lax", Policy{SameSite: http.SameSiteLaxMode}, nil},
		{"SameSite Strict", Policy{SameSite: http.SameSiteStrictMode}, nil},
		{"SameSite Strict, never Secure", Policy{Secure: SecureNever, SameSite: http.SameSiteStrictMode}, nil},
		{"SameSite None, always Secure", Policy{Secure: always, SameSite: http.SameSiteNoneMode}, nil},
		{"Partitioned, always Secure", Policy{Secure: always, Partitioned: true}, nil},
		{"embedded: None, Partitioned, Domain", Policy{Secure: always, SameSite: http.SameSiteNoneMode, Partitioned: true, Domain: "example.com"}, nil},

		{"SameSite None, auto", Policy{SameSite: http.SameSiteNoneMode},
			[]string{"SameSite=None needs Secure: SecureAlways, not auto"}},
		{"SameSite None, never", Policy{Secure: SecureNever, SameSite: http.SameSiteNoneMode},
			[]string{"SameSite=None needs Secure: SecureAlways, not never"}},
		{"Partitioned, auto", Policy{Partitioned: true},
			[]string{"Partitioned needs Secure: SecureAlways, not auto"}},
		{"unknown SameSite", Policy{SameSite: http.SameSite(9)},
			[]string{"SameSite is 9"}},
		{"unknown Secure", Policy{Secure: SecureMode(7)},
			[]string{"Secure is SecureMode(7): use SecureAuto, SecureAlways or SecureNever"}},
		{"domain only a dot", Policy{Domain: "."},
			[]string{`Domain "." has no name: leave Domain empty`}},
		{"domain with two leading dots", Policy{Domain: "..example.com"},
			[]string{`Domain "..example.com" has an empty label`}},
		{"domain with an empty label", Policy{Domain: "www..example.com"},
			[]string{`Domain "www..example.com" has an empty label`}},
		{"domain with a trailing dot", Policy{Domain: "example.com."},
			[]string{`Domain "example.com." has an empty label`}},
		{"domain with a space", Policy{Domain: "exa mple.com"},
			[]string{`Domain "exa mple.com" has ' '`}},
		{"domain with an underscore", Policy{Domain: "my_app.example.com"},
			[]string{`has '_': a domain name has only letters, digits, '-' and dots`}},
		{"domain with a port", Policy{Domain: "example.com:8080"},
			[]string{`has ':'`}},
		{"domain with a scheme", Policy{Domain: "https://example.com"},
			[]string{`has ':'`}},
		{"internationalised domain", Policy{Domain: "bücher.example"},
			[]string{"write an internationalised name in its ASCII form"}},
		{"IPv4 domain", Policy{Domain: "192.0.2.1"},
			[]string{`Domain "192.0.2.1" is an IP address: a cookie for an address must be host-only`}},
		{"IPv6 domain", Policy{Domain: "2001:db8::1"},
			[]string{`Domain "2001:db8::1" is an IP address`}},
		{"bracketed IPv6 domain", Policy{Domain: "[2001:db8::1]"},
			[]string{`has '['`}},
		{"numeric last label", Policy{Domain: "example.123"},
			[]string{`ends in the numeric label "123", which browsers read as an IP address`}},
		{"short IPv4 form", Policy{Domain: "192.168.1"},
			[]string{`ends in the numeric label "1"`}},
		{"label starting with a dash", Policy{Domain: "-app.example.com"},
			[]string{`the label "-app", which starts or ends with '-'`}},
		{"label ending with a dash", Policy{Domain: "app-.example.com"},
			[]string{`the label "app-"`}},
		{"64-byte label", Policy{Domain: strings.Repeat("a", 64) + ".example"},
			[]string{"a label of 64 bytes"}},
		{"254-byte domain", Policy{Domain: strings.Repeat("abcdefghi.", 25) + "com0"},
			[]string{"Domain is 254 bytes long"}},
		{"relative path", Policy{Path: "app"},
			[]string{`Path "app" does not start with "/"`}},
		{"path with a semicolon", Policy{Path: "/a;b"},
			[]string{`Path "/a;b" has ';' at byte 2, which net/http would drop`}},
		{"path with a newline", Policy{Path: "/a\nb"},
			[]string{`has '\n' at byte 2`}},
		{"path with a NUL", Policy{Path: "/\x00"},
			[]string{`has '\x00' at byte 1`}},
		{"non-ASCII path", Policy{Path: "/café"},
			[]string{"percent-encoding the rest"}},
		{"path over 1024 bytes", Policy{Path: "/" + strings.Repeat("p", 1024)},
			[]string{"Path is 1025 bytes long: browsers ignore a Path longer than 1024 bytes"}},
		{"every problem at once", Policy{Secure: SecureNever, SameSite: http.SameSiteNoneMode, Partitioned: true, Domain: "a..b", Path: "x"},
			[]string{"SameSite=None needs Secure", "Partitioned needs Secure", "empty label", `does not start with "/"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				// What Check accepts reaches the browser as the Policy says:
				// net/http drops nothing when it writes the Set-Cookie.
				hc := tt.policy.Cookie("sk", requestTo("https://www.example.com/"))
				hc.Value = "v"
				header := hc.String()
				got, err := http.ParseSetCookie(header)
				if err != nil {
					t.Fatalf("ParseSetCookie(%q): %v", header, err)
				}
				if !strings.EqualFold(got.Domain, hc.Domain) || got.Path != hc.Path || got.SameSite != hc.SameSite ||
					got.Partitioned != hc.Partitioned || got.Secure != hc.Secure || !got.HttpOnly {
					t.Errorf("Set-Cookie %q does not carry the attributes of %+v", header, hc)
				}
				return
			}
			if !errors.Is(err, ErrPolicy) {
				t.Fatalf("Check = %v, want an error wrapping ErrPolicy", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q, want it to say %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "; ") + 1; n < len(tt.want) {
				t.Errorf("Check = %q: %d problems reported, want %d", err, n, len(tt.want))
			}
		})
	}
}

func TestPolicyName(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		url    string
		want   string
	}{
		{"plain HTTP", Policy{}, "http://example.com/", "sk"},
		{"plain HTTP with a Domain", Policy{Domain: "example.com"}, "http://example.com/", "sk"},
		{"HTTPS, host-only, path /", Policy{}, "https://example.com/", "__Host-sk"},
		{"HTTPS, Path / spelt out", Policy{Path: "/"}, "https://example.com/", "__Host-sk"},
		{"HTTPS, Domain", Policy{Domain: "example.com"}, "https://example.com/", "__Secure-sk"},
		{"HTTPS, Domain with a dot", Policy{Domain: ".example.com"}, "https://example.com/", "__Secure-sk"},
		{"HTTPS, Path", Policy{Path: "/app"}, "https://example.com/app", "__Secure-sk"},
		{"HTTPS, Domain and Path", Policy{Domain: "example.com", Path: "/app"}, "https://example.com/app", "__Secure-sk"},
		{"always, plain HTTP, Domain", Policy{Secure: SecureAlways, Domain: "example.com"}, "http://example.com/", "__Secure-sk"},
		{"always, host-only", Policy{Secure: SecureAlways, SameSite: http.SameSiteNoneMode, Partitioned: true}, "http://example.com/", "__Host-sk"},
		{"never, HTTPS, Domain", Policy{Secure: SecureNever, Domain: "example.com"}, "https://example.com/", "sk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Name("sk", requestTo(tt.url)); got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyCookie(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		url    string
		want   string // the Set-Cookie of the template with Value "v"
	}{
		{"zero, plain HTTP", Policy{}, "http://example.com/",
			"sk=v; Path=/; HttpOnly; SameSite=Lax"},
		{"zero, HTTPS", Policy{}, "https://example.com/",
			"__Host-sk=v; Path=/; HttpOnly; Secure; SameSite=Lax"},
		{"Domain, HTTPS", Policy{Domain: "example.com"}, "https://www.example.com/",
			"__Secure-sk=v; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax"},
		{"Domain with a leading dot", Policy{Domain: ".example.com"}, "https://www.example.com/",
			"__Secure-sk=v; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax"},
		{"Domain, plain HTTP", Policy{Domain: "example.com"}, "http://www.example.com/",
			"sk=v; Path=/; Domain=example.com; HttpOnly; SameSite=Lax"},
		{"Path, HTTPS", Policy{Path: "/app"}, "https://example.com/app/",
			"__Secure-sk=v; Path=/app; HttpOnly; Secure; SameSite=Lax"},
		{"Strict", Policy{SameSite: http.SameSiteStrictMode}, "https://example.com/",
			"__Host-sk=v; Path=/; HttpOnly; Secure; SameSite=Strict"},
		{"SameSiteDefaultMode is Lax", Policy{SameSite: http.SameSiteDefaultMode}, "https://example.com/",
			"__Host-sk=v; Path=/; HttpOnly; Secure; SameSite=Lax"},
		{"None, Partitioned", Policy{Secure: SecureAlways, SameSite: http.SameSiteNoneMode, Partitioned: true}, "http://example.com/",
			"__Host-sk=v; Path=/; HttpOnly; Secure; SameSite=None; Partitioned"},
		{"Domain, Strict, always Secure", Policy{Secure: SecureAlways, Domain: "example.com", SameSite: http.SameSiteStrictMode}, "https://www.example.com/",
			"__Secure-sk=v; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Strict"},
		{"never Secure, HTTPS", Policy{Secure: SecureNever}, "https://example.com/",
			"sk=v; Path=/; HttpOnly; SameSite=Lax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := tt.policy.Cookie("sk", requestTo(tt.url))
			if hc.Value != "" || hc.MaxAge != 0 || !hc.Expires.IsZero() {
				t.Errorf("Cookie set Value %q, MaxAge %d, Expires %v; want none of them", hc.Value, hc.MaxAge, hc.Expires)
			}
			if hc.Name != tt.policy.Name("sk", requestTo(tt.url)) {
				t.Errorf("Cookie named %q, Name says %q", hc.Name, tt.policy.Name("sk", requestTo(tt.url)))
			}
			hc.Value = "v"
			if got := hc.String(); got != tt.want {
				t.Errorf("Set-Cookie\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCookieWriteClearAttributes(t *testing.T) {
	const (
		expires = "Expires=Wed, 02 Jan 2030 04:04:05 GMT; Max-Age=3600; "
		cleared = "Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
	)
	tests := []struct {
		name      string
		opts      Options
		url       string
		wantWrite string // with the sealed value written V
		wantClear string
	}{
		{"default, plain HTTP", Options{}, "http://example.com/",
			"sk=V; Path=/; " + expires + "HttpOnly; SameSite=Lax",
			"sk=; Path=/; " + cleared + "HttpOnly; SameSite=Lax"},
		{"Domain, Strict, always Secure",
			Options{Policy: Policy{Secure: SecureAlways, Domain: "example.com", SameSite: http.SameSiteStrictMode}},
			"https://www.example.com/",
			"__Secure-sk=V; Path=/; Domain=example.com; " + expires + "HttpOnly; Secure; SameSite=Strict",
			"__Secure-sk=; Path=/; Domain=example.com; " + cleared + "HttpOnly; Secure; SameSite=Strict"},
		{"Path, HTTPS", Options{Policy: Policy{Path: "/app"}}, "https://example.com/app/settings",
			"__Secure-sk=V; Path=/app; " + expires + "HttpOnly; Secure; SameSite=Lax",
			"__Secure-sk=; Path=/app; " + cleared + "HttpOnly; Secure; SameSite=Lax"},
		{"None, Partitioned",
			Options{Policy: Policy{Secure: SecureAlways, SameSite: http.SameSiteNoneMode, Partitioned: true}},
			"https://widget.example/",
			"__Host-sk=V; Path=/; " + expires + "HttpOnly; Secure; SameSite=None; Partitioned",
			"__Host-sk=; Path=/; " + cleared + "HttpOnly; Secure; SameSite=None; Partitioned"},
		{"browser session, HTTPS", Options{BrowserSession: true}, "https://example.com/",
			"__Host-sk=V; Path=/; HttpOnly; Secure; SameSite=Lax",
			"__Host-sk=; Path=/; " + cleared + "HttpOnly; Secure; SameSite=Lax"},
		{"browser session, Domain, never Secure",
			Options{BrowserSession: true, Policy: Policy{Secure: SecureNever, Domain: ".example.com", Path: "/app"}},
			"https://www.example.com/app/",
			"sk=V; Path=/app; Domain=example.com; HttpOnly; SameSite=Lax",
			"sk=; Path=/app; Domain=example.com; " + cleared + "HttpOnly; SameSite=Lax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Name, tt.opts.MaxAge = "sk", time.Hour
			c := newTestCookieWith(t, tt.opts)

			w := httptest.NewRecorder()
			if err := c.Write(w, requestTo(tt.url), Value{Data: []byte("alice")}); err != nil {
				t.Fatalf("Write: %v", err)
			}
			written := onlyCookie(t, w)
			header := w.Header().Get("Set-Cookie")
			if got := strings.Replace(header, "="+written.Value+";", "=V;", 1); got != tt.wantWrite {
				t.Errorf("Write set\n %q\nwant %q", got, tt.wantWrite)
			}
			v, err := c.Read(requestTo(tt.url, written))
			if err != nil || string(v.Data) != "alice" {
				t.Errorf("Read of the written cookie = %q, %v", v.Data, err)
			}

			w = httptest.NewRecorder()
			c.Clear(w, requestTo(tt.url))
			if got := w.Header().Get("Set-Cookie"); got != tt.wantClear {
				t.Errorf("Clear set\n %q\nwant %q", got, tt.wantClear)
			}
		})
	}
}

// A browser-session cookie has no lifetime in the browser, but its value
// still ends at its sealed expiry, and keeps it when written back.
func TestCookieBrowserSession(t *testing.T) {
	c := newTestCookieWith(t, Options{Name: "sk", MaxAge: time.Hour, BrowserSession: true})
	hc := c.write(t, request(false), Value{Data: []byte("alice")})
	if hc.MaxAge != 0 || !hc.Expires.IsZero() {
		t.Fatalf("browser-session cookie has Max-Age %d, Expires %v; want neither", hc.MaxAge, hc.Expires)
	}

	c.now = c.now.Add(59 * time.Minute)
	v, err := c.Read(request(false, hc))
	if err != nil {
		t.Fatalf("Read before the sealed expiry: %v", err)
	}
	if !v.Expires.Equal(testNow().Add(time.Hour)) {
		t.Errorf("value expires at %v, want %v", v.Expires, testNow().Add(time.Hour))
	}
	again := c.write(t, request(false), v)
	if again.MaxAge != 0 || !again.Expires.IsZero() {
		t.Errorf("rewritten browser-session cookie has Max-Age %d, Expires %v; want neither", again.MaxAge, again.Expires)
	}

	// The browser still sends it an hour after login: the server refuses
	// it, the old copy and the rewritten one alike.
	c.now = testNow().Add(time.Hour)
	for what, sent := range map[string]*http.Cookie{"first": hc, "rewritten": again} {
		if _, err := c.Read(request(false, sent)); !errors.Is(err, ErrExpired) {
			t.Errorf("Read of the %s cookie at its sealed expiry: error = %v, want ErrExpired", what, err)
		}
	}
}

// browse sends one request to rawURL with the cookies jar holds for it,
// lets handle answer, and stores the cookies of the answer in jar, as a
// browser does.
func browse(t *testing.T, jar http.CookieJar, rawURL string, handle func(http.ResponseWriter, *http.Request)) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	handle(w, requestTo(rawURL, jar.Cookies(u)...))
	jar.SetCookies(u, w.Result().Cookies())
}

// sent returns the names of the cookies jar sends to rawURL.
func sent(t *testing.T, jar http.CookieJar, rawURL string) []string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range jar.Cookies(u) {
		names = append(names, c.Name)
	}
	return names
}

// Through a cookie jar, which keeps Domain and Path as browsers do: a
// cookie with a Domain reaches every subdomain and no other site, one with
// a Path only that part of the site, and Clear deletes them wherever it is
// answered from within their reach.
func TestCookieDomainAndPathInAJar(t *testing.T) {
	tests := []struct {
		name     string
		policy   Policy
		login    string   // where the cookie is written
		reaches  []string // where it is sent, and read
		misses   []string // where it is not sent
		logout   string   // where it is cleared
		wantName string
	}{
		{"Domain", Policy{Secure: SecureAlways, Domain: "example.com", SameSite: http.SameSiteStrictMode},
			"https://www.example.com/login",
			[]string{"https://api.example.com/me", "https://example.com/", "https://a.b.example.com/"},
			[]string{"https://example.org/", "https://notexample.com/", "http://api.example.com/"},
			"https://api.example.com/logout", "__Secure-sk"},
		{"host-only", Policy{Secure: SecureAlways},
			"https://www.example.com/login",
			[]string{"https://www.example.com/me"},
			[]string{"https://api.example.com/me", "https://example.com/"},
			"https://www.example.com/logout", "__Host-sk"},
		{"Path", Policy{Path: "/app"},
			"https://example.com/app/login",
			[]string{"https://example.com/app", "https://example.com/app/settings"},
			[]string{"https://example.com/", "https://example.com/application", "https://example.com/other/app"},
			"https://example.com/app/logout", "__Secure-sk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCookieWith(t, Options{Name: "sk", MaxAge: time.Hour, Policy: tt.policy})
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			browse(t, jar, tt.login, func(w http.ResponseWriter, r *http.Request) {
				if err := c.Write(w, r, Value{Data: []byte("alice")}); err != nil {
					t.Fatalf("Write: %v", err)
				}
			})
			for _, u := range tt.reaches {
				if got := sent(t, jar, u); len(got) != 1 || got[0] != tt.wantName {
					t.Errorf("cookies sent to %s: %q, want [%s]", u, got, tt.wantName)
				}
				browse(t, jar, u, func(w http.ResponseWriter, r *http.Request) {
					if v, err := c.Read(r); err != nil || string(v.Data) != "alice" {
						t.Errorf("Read at %s = %q, %v; want alice", u, v.Data, err)
					}
				})
			}
			for _, u := range tt.misses {
				if got := sent(t, jar, u); len(got) != 0 {
					t.Errorf("cookies sent to %s: %q, want none", u, got)
				}
			}
			browse(t, jar, tt.logout, c.Clear)
			for _, u := range append([]string{tt.login}, tt.reaches...) {
				if got := sent(t, jar, u); len(got) != 0 {
					t.Errorf("after Clear, cookies sent to %s: %q, want none", u, got)
				}
			}
		})
	}
}

func TestNewRefusesInvalidPolicy(t *testing.T) {
	ring := mustRing(t, testKey("a", 1))
	tests := []struct {
		name   string
		policy Policy
		says   string
	}{
		{"SameSite None, auto", Policy{SameSite: http.SameSiteNoneMode}, "SameSite=None needs Secure: SecureAlways"},
		{"Partitioned, never", Policy{Secure: SecureNever, Partitioned: true}, "Partitioned needs Secure: SecureAlways"},
		{"IP Domain", Policy{Domain: "127.0.0.1"}, "is an IP address"},
		{"relative Path", Policy{Path: "app/"}, `does not start with "/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(ring, Options{Name: "login", MaxAge: time.Hour, Policy: tt.policy})
			if c != nil || !errors.Is(err, ErrPolicy) {
				t.Fatalf("New = %v, %v; want an error wrapping ErrPolicy", c, err)
			}
			for _, w := range []string{tt.says, `"login"`} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New error %q does not say %q", err, w)
				}
			}
		})
	}
}

// New accepts a name only if a Secure cookie of that name, with the prefix
// the Policy gives it, can still be written: "__Secure-" is 2 bytes longer
// than "__Host-".
func TestNewNameLengthWithPrefix(t *testing.T) {
	ring := mustRing(t, testKey("a", 1))
	longest := func(p Policy) int {
		for n := MaxSize; n > 0; n-- {
			if _, err := New(ring, Options{Name: strings.Repeat("n", n), MaxAge: time.Hour, Policy: p}); err == nil {
				return n
			}
		}
		t.Fatalf("New accepts no name with %+v", p)
		return 0
	}
	host := Policy{Secure: SecureAlways}
	secure := Policy{Secure: SecureAlways, Domain: "example.com"}
	hostMax, secureMax := longest(host), longest(secure)
	if hostMax-secureMax != len(securePrefix)-len(hostPrefix) {
		t.Errorf("longest names: %d with __Host-, %d with __Secure-; want them %d apart", hostMax, secureMax, len(securePrefix)-len(hostPrefix))
	}
	for _, p := range []Policy{host, secure} {
		n := longest(p)
		c, err := New(ring, Options{Name: strings.Repeat("n", n), MaxAge: time.Hour, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		if err := c.Write(w, requestTo("https://www.example.com/"), Value{}); err != nil {
			t.Errorf("Write with the longest name New accepts (%d bytes, %+v): %v", n, p, err)
		}
	}
}
