package auth

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkHashPassword(b *testing.B) {
	p := DefaultParams()
	for b.Loop() {
		if _, err := HashPassword(goodPassword, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	enc, err := HashPassword(goodPassword, DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := VerifyPassword(goodPassword, enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// benchmarkLogin measures failed logins at DefaultParams, without a throttle
// (which would refuse them after a few).
func benchmarkLogin(b *testing.B, username string) {
	ctx := b.Context()
	a, err := NewAccounts(newUsers(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := a.Login(ctx, username, "wrong password", "192.0.2.1"); err != ErrBadCredentials {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoginUnknownUser(b *testing.B)   { benchmarkLogin(b, "mallory") }
func BenchmarkLoginWrongPassword(b *testing.B) { benchmarkLogin(b, "alice") }

// BenchmarkThrottleFail measures what the throttle adds to a failed login
// on a memory store: the delay check, two counts and the user's count.
func BenchmarkThrottleFail(b *testing.B) {
	th := newTestThrottle(b, newUsers(b), ThrottleOptions{}, nil)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		att, err := th.begin(ctx, fmt.Sprint("user", i), fmt.Sprintf("2001:db8:%x::1", i&0xffff))
		if err != nil {
			b.Fatal(err)
		}
		th.failed(context.Background(), att)
		i++
	}
}
