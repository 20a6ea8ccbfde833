package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// browser is an HTTP client with a cookie jar that reaches the test
// server under any host name, as a browser reaches a site's subdomains.
func browser(t *testing.T, srv *httptest.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Listener.Addr().String()
	return &http.Client{
		Jar: jar,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func newShop(t *testing.T) (*httptest.Server, *http.Client) {
	t.Helper()
	app, err := NewApp(context.Background(), "shop.test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	return srv, browser(t, srv)
}

func do(t *testing.T, c *http.Client, method, rawURL string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// A customer signs in on www, fills the cart from two tabs at once, and
// finds it on another subdomain: a struct and a slice of structs read back
// typed, with SameSite=Strict and Domain on the cookie.
func TestShop(t *testing.T) {
	_, c := newShop(t)
	resp, _ := do(t, c, "POST", "http://www.shop.test/login", url.Values{"name": {"alice"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login answered %d", resp.StatusCode)
	}
	set, err := http.ParseSetCookie(resp.Header.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if set.Domain != "shop.test" || set.SameSite != http.SameSiteStrictMode || !set.HttpOnly || set.MaxAge != 0 {
		t.Errorf("session cookie %s; want Domain=shop.test, SameSite=Strict, HttpOnly and no Max-Age (no remember me)", set)
	}

	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := c.PostForm("http://www.shop.test/cart", url.Values{"sku": {fmt.Sprint("sku", i)}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("add to cart answered %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()

	_, page := do(t, c, "GET", "http://checkout.shop.test/cart", nil)
	if !strings.HasPrefix(page, fmt.Sprintf("alice (gold): %d items", n)) {
		t.Errorf("the cart on another subdomain shows %q; want alice (gold) with %d items", page, n)
	}
	_, list, _ := strings.Cut(strings.TrimSpace(page), "[")
	got := map[string]bool{}
	for _, sku := range strings.Fields(strings.TrimSuffix(list, "]")) {
		got[sku] = true
	}
	for i := range n {
		if sku := fmt.Sprint("sku", i); !got[sku] {
			t.Errorf("%s is missing from the cart: %q", sku, page)
		}
	}
}

// "Remember me" gives the session cookie a lifetime.
func TestRememberMe(t *testing.T) {
	_, c := newShop(t)
	resp, _ := do(t, c, "POST", "http://www.shop.test/login", url.Values{"name": {"bob"}, "remember": {"on"}})
	set, err := http.ParseSetCookie(resp.Header.Get("Set-Cookie"))
	if err != nil || set.MaxAge <= 0 {
		t.Errorf("remembered login cookie %v, %v; want a Max-Age", set, err)
	}
}

// The sealed preference cookie round-trips, and a forged one reads as
// "no preference".
func TestPreferencesCookie(t *testing.T) {
	srv, c := newShop(t)
	if resp, _ := do(t, c, "POST", "http://www.shop.test/prefs", url.Values{"theme": {"dark"}}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("set prefs answered %d", resp.StatusCode)
	}
	if _, page := do(t, c, "GET", "http://m.shop.test/prefs", nil); page != "theme: dark\n" {
		t.Errorf("prefs on another subdomain = %q", page)
	}
	forger := browser(t, srv)
	u, _ := url.Parse("http://www.shop.test/")
	forger.Jar.SetCookies(u, []*http.Cookie{{Name: "prefs", Value: "forged"}})
	if _, page := do(t, forger, "GET", "http://www.shop.test/prefs", nil); page != "theme: default\n" {
		t.Errorf("a forged prefs cookie gave %q", page)
	}
}

// A signed-in customer gets an access token that the API accepts; a
// tampered one is refused with 401.
func TestAPIToken(t *testing.T) {
	_, c := newShop(t)
	before := time.Now().Unix()
	do(t, c, "POST", "http://www.shop.test/login", url.Values{"name": {"carol"}})
	after := time.Now().Unix()
	_, tok := do(t, c, "POST", "http://www.shop.test/api/token", url.Values{})
	tok = strings.TrimSpace(tok)
	// The token says when carol signed in (auth_time, whole seconds).
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub      string `json:"sub"`
		AuthTime *int64 `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != "carol" || claims.AuthTime == nil || *claims.AuthTime < before || *claims.AuthTime > after {
		t.Errorf("token claims %s; want sub carol and auth_time the sign-in, in [%d, %d]", raw, before, after)
	}
	for name, bearer := range map[string]string{"issued": tok, "tampered": tok[:len(tok)-4] + "AAAA"} {
		req, _ := http.NewRequest("GET", "http://api.shop.test/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := (&http.Client{Transport: c.Transport}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch name {
		case "issued":
			if resp.StatusCode != http.StatusOK || string(b) != "carol\n" {
				t.Errorf("issued token: %d %q", resp.StatusCode, b)
			}
		case "tampered":
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("tampered token: %d %q", resp.StatusCode, b)
			}
		}
	}
}
