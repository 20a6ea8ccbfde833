package cookie

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testCookie is a Cookie with a clock the test moves.
type testCookie struct {
	*Cookie
	now time.Time
}

func newTestCookie(t *testing.T, deny store.DenyList) *testCookie {
	t.Helper()
	return newTestCookieWith(t, Options{Name: "sk", MaxAge: time.Hour, DenyList: deny})
}

// newTestCookieWith is newTestCookie with any options, sealing with the
// same key.
func newTestCookieWith(t *testing.T, opts Options) *testCookie {
	t.Helper()
	c, err := New(mustRing(t, testKey("a", 1)), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tc := &testCookie{Cookie: c, now: testNow()}
	c.now = func() time.Time { return tc.now }
	return tc
}

// request returns a request carrying cookies, over TLS when secure.
func request(secure bool, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	if secure {
		r.TLS = &tls.ConnectionState{}
	}
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// write writes v in answer to r and returns the one cookie set.
func (c *testCookie) write(t *testing.T, r *http.Request, v Value) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := c.Write(w, r, v); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return onlyCookie(t, w)
}

// onlyCookie returns the one cookie set in w.
func onlyCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	set := w.Result().Cookies()
	if len(set) != 1 {
		t.Fatalf("%d cookies set, want 1: %q", len(set), w.Header().Values("Set-Cookie"))
	}
	return set[0]
}

// TestMaxAgeZeroIsTheDefault: a Cookie made without MaxAge writes values
// that live DefaultMaxAge.
func TestMaxAgeZeroIsTheDefault(t *testing.T) {
	c := newTestCookieWith(t, Options{Name: "sk"})
	got := c.write(t, request(false), Value{Data: []byte("x")})
	if want := int(DefaultMaxAge / time.Second); got.MaxAge != want || !got.Expires.Equal(testNow().Add(DefaultMaxAge)) {
		t.Errorf("Max-Age %d, Expires %v; want %d and %v", got.MaxAge, got.Expires, want, testNow().Add(DefaultMaxAge))
	}
}

func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		c := newTestCookie(t, nil)
		w := httptest.NewRecorder()
		if err := c.Write(w, request(secure), Value{Data: []byte("plain text")}); err != nil {
			t.Fatal(err)
		}
		got := onlyCookie(t, w)
		header := w.Header().Get("Set-Cookie")
		wantName := "sk"
		if secure {
			wantName = "__Host-sk"
		}
		if got.Name != wantName || got.Secure != secure {
			t.Errorf("secure request %v: cookie %q Secure=%v, want %q Secure=%v", secure, got.Name, got.Secure, wantName, secure)
		}
		if !got.HttpOnly || got.SameSite != http.SameSiteLaxMode || got.Path != "/" || got.Domain != "" {
			t.Errorf("Set-Cookie %q lacks HttpOnly, SameSite=Lax or Path=/, or has a Domain", header)
		}
		if got.MaxAge != 3600 || !got.Expires.Equal(testNow().Add(time.Hour)) {
			t.Errorf("Set-Cookie %q: Max-Age %d, Expires %v; want 3600 and %v", header, got.MaxAge, got.Expires, testNow().Add(time.Hour))
		}
		if strings.Contains(header, "plain") {
			t.Errorf("Set-Cookie %q shows the data", header)
		}

		v, err := c.Read(request(secure, got))
		if err != nil || string(v.Data) != "plain text" {
			t.Errorf("Read of the written cookie = %q, %v", v.Data, err)
		}
	}
}

func TestCookieReadNoCookie(t *testing.T) {
	c := newTestCookie(t, nil)
	other := &http.Cookie{Name: "other", Value: "x"}
	if _, err := c.Read(request(false, other)); !errors.Is(err, ErrNoCookie) {
		t.Errorf("Read with no cookie of the name: error = %v, want ErrNoCookie", err)
	}

	// A Secure request reads only the "__Host-" cookie, which a sibling
	// domain or a plain-HTTP page cannot set.
	plain := c.write(t, request(false), Value{Data: []byte("x")})
	if _, err := c.Read(request(true, plain)); !errors.Is(err, ErrNoCookie) {
		t.Errorf("Read over TLS of a cookie without the prefix: error = %v, want ErrNoCookie", err)
	}
	// And a value sealed for "sk" does not open as "__Host-sk".
	renamed := &http.Cookie{Name: "__Host-sk", Value: plain.Value}
	if _, err := c.Read(request(true, renamed)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Read of a value moved to another name: error = %v, want ErrInvalid", err)
	}
}

func TestCookieNewValue(t *testing.T) {
	c := newTestCookie(t, nil)
	a, err := c.Read(request(false, c.write(t, request(false), Value{})))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Read(request(false, c.write(t, request(false), Value{})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hex.DecodeString(a.ID); err != nil || len(a.ID) != 32 {
		t.Errorf("ID %q is not 32 hex digits", a.ID)
	}
	if a.ID == b.ID {
		t.Errorf("two new values have the same ID %q", a.ID)
	}
	if !a.Expires.Equal(testNow().Add(time.Hour)) {
		t.Errorf("new value expires at %v, want %v", a.Expires, testNow().Add(time.Hour))
	}
	if len(a.Data) != 0 {
		t.Errorf("empty data read back as %q", a.Data)
	}
}

func TestCookieRewriteKeepsIDAndExpiry(t *testing.T) {
	c := newTestCookie(t, nil)
	first := c.write(t, request(false), Value{Data: []byte("1")})
	v1, err := c.Read(request(false, first))
	if err != nil {
		t.Fatal(err)
	}

	c.now = c.now.Add(10 * time.Minute)
	v1.Data = []byte("2")
	second := c.write(t, request(false), v1)
	if second.MaxAge != 50*60 || !second.Expires.Equal(v1.Expires) {
		t.Errorf("rewritten cookie: Max-Age %d, Expires %v; want %d and %v", second.MaxAge, second.Expires, 50*60, v1.Expires)
	}
	v2, err := c.Read(request(false, second))
	if err != nil {
		t.Fatal(err)
	}
	if string(v2.Data) != "2" || v2.ID != v1.ID || !v2.Expires.Equal(v1.Expires) {
		t.Errorf("rewritten value = %+v, want data \"2\", ID %s, Expires %v", v2, v1.ID, v1.Expires)
	}

	c.now = v1.Expires.Add(-time.Second)
	if _, err := c.Read(request(false, second)); err != nil {
		t.Errorf("Read a second before expiry: %v", err)
	}
	c.now = v1.Expires
	if _, err := c.Read(request(false, second)); !errors.Is(err, ErrExpired) {
		t.Errorf("Read at expiry: error = %v, want ErrExpired", err)
	}
}

func TestCookieWriteErrors(t *testing.T) {
	c := newTestCookie(t, nil)
	tests := []struct {
		name string
		v    Value
		want error
	}{
		{"too large", Value{Data: make([]byte, 4000)}, ErrTooLarge},
		{"ID not hex", Value{ID: strings.Repeat("z", 32)}, ErrInvalid},
		{"ID upper case", Value{ID: strings.Repeat("A", 32)}, ErrInvalid},
		{"ID too short", Value{ID: "abcd"}, ErrInvalid},
		{"expired", Value{Expires: testNow()}, ErrExpired},
		{"less than a second left", Value{Expires: testNow().Add(999 * time.Millisecond)}, ErrExpired},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		err := c.Write(w, request(false), tt.v)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Write error = %v, want %v", tt.name, err, tt.want)
		}
		if h := w.Header().Values("Set-Cookie"); len(h) != 0 {
			t.Errorf("%s: failed Write set %q", tt.name, h)
		}
	}

	// The largest data that fits, to the byte: 4096 bytes for "sk=" and
	// the sealed ID and data.
	fits := (MaxSize-len("sk="))*6/8 - (minSealedSize + idSize)
	if err := c.Write(httptest.NewRecorder(), request(false), Value{Data: make([]byte, fits)}); err != nil {
		t.Errorf("Write of %d bytes: %v", fits, err)
	}
	if err := c.Write(httptest.NewRecorder(), request(false), Value{Data: make([]byte, fits+1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Write of %d bytes: error = %v, want ErrTooLarge", fits+1, err)
	}
}

func TestCookieClear(t *testing.T) {
	for _, secure := range []bool{false, true} {
		c := newTestCookie(t, nil)
		w := httptest.NewRecorder()
		c.Clear(w, request(secure))
		got := onlyCookie(t, w)
		wantName := "sk"
		if secure {
			wantName = "__Host-sk"
		}
		if got.Name != wantName || got.Value != "" || got.MaxAge >= 0 || got.Secure != secure ||
			!got.HttpOnly || got.Path != "/" || got.SameSite != http.SameSiteLaxMode {
			t.Errorf("Clear set %q, want an expired %s with the usual attributes", w.Header().Get("Set-Cookie"), wantName)
		}
		if !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("Clear set %q, without Max-Age=0", w.Header().Get("Set-Cookie"))
		}
	}
}

func TestCookieRevoke(t *testing.T) {
	var c *testCookie
	deny := newDenyList(t, func() time.Time { return c.now })
	c = newTestCookie(t, deny)

	stolen := c.write(t, request(false), Value{Data: []byte("alice")})
	v, err := c.Read(request(false, stolen))
	if err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(time.Minute)
	// A newer version of the same value, as a later request would write.
	current := c.write(t, request(false), v)

	w := httptest.NewRecorder()
	if err := c.Revoke(w, request(false, current)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if cleared := onlyCookie(t, w); cleared.Name != "sk" || cleared.MaxAge >= 0 {
		t.Errorf("Revoke set %q, want the cookie cleared", w.Header().Get("Set-Cookie"))
	}
	// The ID is deny-listed until the value's expiry, to the instant: still
	// refused just before it, and forgotten from it on, when the value would
	// be refused as expired anyway.
	revokedAt := c.now
	c.now = v.Expires.Add(-time.Nanosecond)
	if denied, err := deny.Denied(context.Background(), v.ID); err != nil || !denied {
		t.Errorf("Denied just before the value's expiry %v = %v, %v; want true", v.Expires, denied, err)
	}
	if _, err := c.Read(request(false, current)); !errors.Is(err, ErrRevoked) {
		t.Errorf("Read just before the value's expiry: error = %v, want ErrRevoked", err)
	}
	for _, at := range []time.Time{v.Expires, v.Expires.Add(time.Second)} {
		c.now = at
		if denied, err := deny.Denied(context.Background(), v.ID); err != nil || denied {
			t.Errorf("Denied at %v, the value expiring at %v = %v, %v; want false", at, v.Expires, denied, err)
		}
	}
	c.now = revokedAt
	for what, hc := range map[string]*http.Cookie{"current": current, "older copy": stolen} {
		if _, err := c.Read(request(false, hc)); !errors.Is(err, ErrRevoked) {
			t.Errorf("Read of the %s value after Revoke: error = %v, want ErrRevoked", what, err)
		}
	}

	// Logging in again gives a new value that is not revoked.
	fresh := c.write(t, request(false), Value{Data: []byte("alice")})
	if _, err := c.Read(request(false, fresh)); err != nil {
		t.Errorf("Read of a new value after Revoke: %v", err)
	}

	// Revoking with no valid cookie just clears it.
	for _, r := range []*http.Request{request(false), request(false, &http.Cookie{Name: "sk", Value: "junk"})} {
		w := httptest.NewRecorder()
		if err := c.Revoke(w, r); err != nil {
			t.Errorf("Revoke without a valid cookie: %v", err)
		}
		if cleared := onlyCookie(t, w); cleared.MaxAge >= 0 {
			t.Errorf("Revoke without a valid cookie set %q, want it cleared", w.Header().Get("Set-Cookie"))
		}
	}
}

func TestCookieRevokeWithoutDenyList(t *testing.T) {
	c := newTestCookie(t, nil)
	hc := c.write(t, request(false), Value{Data: []byte("x")})
	w := httptest.NewRecorder()
	if err := c.Revoke(w, request(false, hc)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if cleared := onlyCookie(t, w); cleared.MaxAge >= 0 {
		t.Errorf("Revoke set %q, want the cookie cleared", w.Header().Get("Set-Cookie"))
	}
	// As documented: a copy stays valid without a deny list.
	if _, err := c.Read(request(false, hc)); err != nil {
		t.Errorf("Read of a copy, no deny list: %v", err)
	}
}

func TestCookieDenyListDown(t *testing.T) {
	c := newTestCookie(t, brokenDenyList{})
	hc := c.write(t, request(false), Value{Data: []byte("x")})

	_, err := c.Read(request(false, hc))
	if !errors.Is(err, errStoreDown) {
		t.Errorf("Read with the deny list down: error = %v, want it to wrap the store's error", err)
	}
	for _, sentinel := range []error{ErrNoCookie, ErrInvalid, ErrExpired, ErrRevoked} {
		if errors.Is(err, sentinel) {
			t.Errorf("Read with the deny list down: error %v matches %v, which means logged out", err, sentinel)
		}
	}

	w := httptest.NewRecorder()
	if err := c.Revoke(w, request(false, hc)); !errors.Is(err, errStoreDown) {
		t.Errorf("Revoke with the deny list down: error = %v, want it to wrap the store's error", err)
	}
	if h := w.Header().Values("Set-Cookie"); len(h) != 0 {
		t.Errorf("failed Revoke set %q; the cookie must stay so the user can retry", h)
	}

	// Without a valid cookie there is nothing to ask the deny list.
	if _, err := c.Read(request(false, &http.Cookie{Name: "sk", Value: "junk"})); !errors.Is(err, ErrInvalid) {
		t.Errorf("Read of junk with the deny list down: error = %v, want ErrInvalid", err)
	}
}

func TestCookieDenyListGetsRequestContext(t *testing.T) {
	var c *testCookie
	c = newTestCookie(t, newDenyList(t, func() time.Time { return c.now }))
	hc := c.write(t, request(false), Value{Data: []byte("x")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := request(false, hc).WithContext(ctx)
	if _, err := c.Read(r); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled request: error = %v, want context.Canceled", err)
	}
	if err := c.Revoke(httptest.NewRecorder(), r); !errors.Is(err, context.Canceled) {
		t.Errorf("Revoke with a cancelled request: error = %v, want context.Canceled", err)
	}
}

func TestCookieSeveralWithTheSameName(t *testing.T) {
	var c *testCookie
	deny := newDenyList(t, func() time.Time { return c.now })
	c = newTestCookie(t, deny)

	first := c.write(t, request(false), Value{Data: []byte("first")})
	second := c.write(t, request(false), Value{Data: []byte("second")})
	junk := &http.Cookie{Name: "sk", Value: "planted"}
	other := newTestCookie(t, nil)
	other.Cookie.ring = mustRing(t, testKey("other", 9))
	foreign := other.write(t, request(false), Value{Data: []byte("foreign")})

	c.now = c.now.Add(30 * time.Minute)
	fresh := c.write(t, request(false), Value{Data: []byte("fresh")})
	c.now = c.now.Add(45 * time.Minute) // first and second have expired, fresh has not

	revokedValue := c.write(t, request(false), Value{Data: []byte("revoked")})
	rv, _ := c.Read(request(false, revokedValue))
	if err := deny.Deny(context.Background(), rv.ID, rv.Expires); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cookies []*http.Cookie
		data    string
		err     error
	}{
		{"junk then valid", []*http.Cookie{junk, fresh}, "fresh", nil},
		{"other key then valid", []*http.Cookie{foreign, fresh}, "fresh", nil},
		{"valid then junk", []*http.Cookie{fresh, junk}, "fresh", nil},
		{"expired then valid", []*http.Cookie{first, fresh}, "fresh", nil},
		{"revoked then valid", []*http.Cookie{revokedValue, fresh}, "fresh", nil},
		{"two valid: the first", []*http.Cookie{revokedValue, fresh, c.write(t, request(false), Value{Data: []byte("newest")})}, "fresh", nil},
		{"junk and expired", []*http.Cookie{junk, second, foreign}, "", ErrExpired},
		{"expired and revoked", []*http.Cookie{first, revokedValue, junk}, "", ErrRevoked},
		{"only junk", []*http.Cookie{junk, foreign}, "", ErrInvalid},
	}
	for _, tt := range tests {
		v, err := c.Read(request(false, tt.cookies...))
		if !errors.Is(err, tt.err) || string(v.Data) != tt.data {
			t.Errorf("%s: Read = %q, %v; want %q, %v", tt.name, v.Data, err, tt.data, tt.err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ring := mustRing(t, testKey("a", 1))
	tests := []struct {
		name string
		ring *KeyRing
		opts Options
		want error
	}{
		{"valid", ring, Options{Name: "sk_cookie", MaxAge: time.Hour}, nil},
		{"all token characters", ring, Options{Name: "aZ09!#$%&'*+-.^_`|~", MaxAge: time.Second}, nil},
		{"nil ring", nil, Options{Name: "sk", MaxAge: time.Hour}, ErrNoKeys},
		{"empty name", ring, Options{MaxAge: time.Hour}, ErrName},
		{"space", ring, Options{Name: "a b", MaxAge: time.Hour}, ErrName},
		{"semicolon", ring, Options{Name: "a;b", MaxAge: time.Hour}, ErrName},
		{"equals", ring, Options{Name: "a=b", MaxAge: time.Hour}, ErrName},
		{"non-ASCII", ring, Options{Name: "café", MaxAge: time.Hour}, ErrName},
		{"__Host- prefix", ring, Options{Name: "__Host-sk", MaxAge: time.Hour}, ErrName},
		{"__secure- prefix", ring, Options{Name: "__secure-sk", MaxAge: time.Hour}, ErrName},
		{"too long", ring, Options{Name: strings.Repeat("n", 4000), MaxAge: time.Hour}, ErrName},
		{"negative MaxAge", ring, Options{Name: "sk", MaxAge: -time.Hour}, ErrMaxAge},
		{"MaxAge under a second", ring, Options{Name: "sk", MaxAge: 999 * time.Millisecond}, ErrMaxAge},
	}
	for _, tt := range tests {
		c, err := New(tt.ring, tt.opts)
		if !errors.Is(err, tt.want) || (err == nil) != (c != nil) {
			t.Errorf("%s: New = %v, %v; want error %v", tt.name, c, err, tt.want)
		}
	}
}

func TestRoundTripThroughHandler(t *testing.T) {
	// A value written by one request reads back, byte for byte, on the
	// next, through a real Set-Cookie and Cookie header.
	c := newTestCookie(t, nil)
	data := bytes.Repeat([]byte{0, 1, 2, 0xff, ';', '"', ' '}, 100)
	h := c.write(t, request(true), Value{Data: data})
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	r.Header.Set("Cookie", "a=b; "+h.Name+"="+h.Value+"; c=d")
	v, err := c.Read(r)
	if err != nil || !bytes.Equal(v.Data, data) {
		t.Errorf("Read = %q, %v", v.Data, err)
	}
}

func TestCookieRefusesValueNotWrittenByACookie(t *testing.T) {
	c := newTestCookie(t, nil)
	// Sealed with the same ring and name, but too short to hold an ID.
	sealed := mustSeal(t, c.ring, "sk", []byte("short"))
	if _, err := c.Read(request(false, &http.Cookie{Name: "sk", Value: sealed})); !errors.Is(err, ErrInvalid) {
		t.Errorf("Read of a value sealed without an ID: error = %v, want ErrInvalid", err)
	}
}
