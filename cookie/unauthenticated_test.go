package cookie

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestIsUnauthenticated produces each error the way a handler meets it and
// checks which side of the branch it falls on: logged out (redirect to the
// login page, or 401), or not checked (503, try again).
func TestIsUnauthenticated(t *testing.T) {
	tests := []struct {
		name  string
		err   func(t *testing.T) error
		wraps error // what the error is, to show it was made the real way
		want  bool
	}{
		{"nil", func(*testing.T) error { return nil }, nil, false},
		{"no cookie", func(t *testing.T) error {
			_, err := newTestCookie(t, nil).Read(request(false))
			return err
		}, ErrNoCookie, true},
		{"tampered", func(t *testing.T) error {
			c := newTestCookie(t, nil)
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			b := []byte(hc.Value)
			b[len(b)/2] ^= 1 // one bit of one character
			hc.Value = string(b)
			_, err := c.Read(request(false, hc))
			return err
		}, ErrInvalid, true},
		{"garbage", func(t *testing.T) error {
			_, err := newTestCookie(t, nil).Read(request(false, &http.Cookie{Name: "sk", Value: "admin"}))
			return err
		}, ErrInvalid, true},
		{"moved to another name", func(t *testing.T) error {
			c := newTestCookie(t, nil)
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			other := newTestCookieWith(t, Options{Name: "other", MaxAge: time.Hour})
			_, err := other.Read(request(false, &http.Cookie{Name: "other", Value: hc.Value}))
			return err
		}, ErrInvalid, true},
		{"key dropped from the ring", func(t *testing.T) error {
			c := newTestCookie(t, nil)
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			c.ring = mustRing(t, testKey("b", 2))
			_, err := c.Read(request(false, hc))
			return err
		}, ErrInvalid, true},
		{"expired", func(t *testing.T) error {
			c := newTestCookie(t, nil)
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			c.now = c.now.Add(time.Hour)
			_, err := c.Read(request(false, hc))
			return err
		}, ErrExpired, true},
		{"expired browser-session cookie", func(t *testing.T) error {
			c := newTestCookieWith(t, Options{Name: "sk", MaxAge: time.Hour, BrowserSession: true})
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			c.now = c.now.Add(2 * time.Hour)
			_, err := c.Read(request(false, hc))
			return err
		}, ErrExpired, true},
		{"revoked", func(t *testing.T) error {
			var c *testCookie
			c = newTestCookie(t, newDenyList(t, func() time.Time { return c.now }))
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			if err := c.Revoke(httptest.NewRecorder(), request(false, hc)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read(request(false, hc))
			return err
		}, ErrRevoked, true},
		{"KeyRing.Open of a value for another name", func(t *testing.T) error {
			r := mustRing(t, testKey("a", 1))
			_, err := r.Open("b", mustSeal(t, r, "a", []byte("x")), testNow())
			return err
		}, ErrInvalid, true},
		{"deny list down", func(t *testing.T) error {
			c := newTestCookie(t, brokenDenyList{})
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			_, err := c.Read(request(false, hc))
			return err
		}, errStoreDown, false},
		{"deadline passed before the deny list answered", func(t *testing.T) error {
			var c *testCookie
			c = newTestCookie(t, newDenyList(t, func() time.Time { return c.now }))
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel()
			_, err := c.Read(request(false, hc).WithContext(ctx))
			return err
		}, context.DeadlineExceeded, false},
		{"Revoke with the deny list down", func(t *testing.T) error {
			c := newTestCookie(t, brokenDenyList{})
			hc := c.write(t, request(false), Value{Data: []byte("alice")})
			return c.Revoke(httptest.NewRecorder(), request(false, hc))
		}, errStoreDown, false},
		{"invalid policy", func(t *testing.T) error {
			_, err := New(mustRing(t, testKey("a", 1)), Options{Name: "sk", MaxAge: time.Hour, Policy: Policy{SameSite: http.SameSiteNoneMode}})
			return err
		}, ErrPolicy, false},
		{"invalid name", func(t *testing.T) error {
			_, err := New(mustRing(t, testKey("a", 1)), Options{Name: "a b", MaxAge: time.Hour})
			return err
		}, ErrName, false},
		{"too large to write", func(t *testing.T) error {
			return newTestCookie(t, nil).Write(httptest.NewRecorder(), request(false), Value{Data: make([]byte, MaxSize)})
		}, ErrTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if (err == nil) != (tt.wraps == nil) || !errors.Is(err, tt.wraps) {
				t.Fatalf("error = %v, want one wrapping %v", err, tt.wraps)
			}
			if got := IsUnauthenticated(err); got != tt.want {
				t.Errorf("IsUnauthenticated(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
