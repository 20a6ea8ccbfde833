package token_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/token"
)

// downDenyList is a store.DenyList that cannot be reached.
type downDenyList struct{}

func (downDenyList) Deny(context.Context, string, time.Time) error { return errDown }
func (downDenyList) Denied(context.Context, string) (bool, error)  { return false, errDown }

// TestIsUnauthenticated produces each error the way a handler meets it and
// checks which side of the branch it falls on: not acceptable (401, or log
// in again), or not checked (503, try again with the same tokens).
func TestIsUnauthenticated(t *testing.T) {
	ctx := context.Background()

	// env is an issuer, a verifier with a deny list, and a refresher, on
	// one clock and one memstore.
	type env struct {
		clock *fakeclock.Clock
		iss   *token.Issuer
		v     *token.Verifier
		r     *token.Refresher
	}
	newEnv := func(t *testing.T) env {
		clock := newClock()
		st := newMemstore(t, clock)
		set := keySetOf(t, cachedKey(t, token.EdDSA, 0, t0))
		return env{
			clock: clock,
			iss:   mustIssuer(t, set, token.IssuerOptions{Lifetime: 15 * time.Minute, Now: clock.Now}),
			v:     mustVerifier(t, set, token.VerifierOptions{DenyList: st, Now: clock.Now}),
			r:     newRefresher(t, st, clock, token.RefreshOptions{}),
		}
	}

	tests := []struct {
		name  string
		err   func(t *testing.T) error
		wraps error // what the error is, to show it was made the real way
		want  bool
	}{
		{"nil", func(*testing.T) error { return nil }, nil, false},

		// Access tokens.
		{"not a token", func(t *testing.T) error {
			_, err := newEnv(t).v.Verify(ctx, "not a token")
			return err
		}, token.ErrInvalid, true},
		{"bad signature", func(t *testing.T) error {
			e := newEnv(t)
			tok, _ := issue(t, e.iss, "alice", "f")
			_, err := e.v.Verify(ctx, flipBit(t, tok, 2, 0))
			return err
		}, token.ErrInvalid, true},
		{"claims changed", func(t *testing.T) error {
			e := newEnv(t)
			tok, _ := issue(t, e.iss, "alice", "f")
			_, err := e.v.Verify(ctx, flipBit(t, tok, 1, 10))
			return err
		}, token.ErrInvalid, true},
		{"signed by an unknown key", func(t *testing.T) error {
			e := newEnv(t)
			priv := material(t, cachedKey(t, token.EdDSA, 1, t0))
			_, err := e.v.Verify(ctx, sign(t, method(token.EdDSA), priv, accessHeader("stranger", nil), accessClaims(t0, nil)))
			return err
		}, token.ErrInvalid, true},
		{"another audience", func(t *testing.T) error {
			e := newEnv(t)
			sk := cachedKey(t, token.EdDSA, 0, t0)
			claims := accessClaims(t0, map[string]any{"aud": []string{"another-api"}})
			_, err := e.v.Verify(ctx, sign(t, method(token.EdDSA), material(t, sk), accessHeader(sk.ID, nil), claims))
			return err
		}, token.ErrInvalid, true},
		{"expired", func(t *testing.T) error {
			e := newEnv(t)
			tok, _ := issue(t, e.iss, "alice", "f")
			e.clock.Advance(16 * time.Minute)
			_, err := e.v.Verify(ctx, tok)
			return err
		}, token.ErrExpired, true},
		{"revoked", func(t *testing.T) error {
			e := newEnv(t)
			tok, _ := issue(t, e.iss, "alice", "f")
			if err := e.v.Revoke(ctx, mustVerify(t, e.v, tok)); err != nil {
				t.Fatal(err)
			}
			_, err := e.v.Verify(ctx, tok)
			return err
		}, token.ErrRevoked, true},
		{"deny list down", func(t *testing.T) error {
			e := newEnv(t)
			set := keySetOf(t, cachedKey(t, token.EdDSA, 0, t0))
			v := mustVerifier(t, set, token.VerifierOptions{DenyList: downDenyList{}, Now: e.clock.Now})
			tok, _ := issue(t, e.iss, "alice", "f")
			_, err := v.Verify(ctx, tok)
			return err
		}, errDown, false},
		{"deadline passed before the deny list answered", func(t *testing.T) error {
			e := newEnv(t)
			tok, _ := issue(t, e.iss, "alice", "f")
			dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
			defer cancel()
			_, err := e.v.Verify(dctx, tok)
			return err
		}, context.DeadlineExceeded, false},
		{"key store down, unknown kid", func(t *testing.T) error {
			clock := newClock()
			keys := &failingKeys{inner: newMemstore(t, clock)}
			v := mustVerifier(t, openRing(t, keys, clock, rotationOpts), token.VerifierOptions{Now: clock.Now})
			keys.down.Store(true)
			clock.Advance(2 * rotationOpts.ReloadInterval)
			priv := material(t, cachedKey(t, token.EdDSA, 0, t0))
			_, err := v.Verify(ctx, sign(t, method(token.EdDSA), priv, accessHeader("new-kid", nil), accessClaims(clock.Now(), nil)))
			return err
		}, errDown, false},
		{"revoking with the deny list down", func(t *testing.T) error {
			set := keySetOf(t, cachedKey(t, token.EdDSA, 0, t0))
			v := mustVerifier(t, set, token.VerifierOptions{DenyList: downDenyList{}})
			return v.Revoke(ctx, token.Claims{ID: "jti-1", Expires: time.Now().Add(time.Minute)})
		}, errDown, false},
		{"no signing key", func(t *testing.T) error {
			set := keySetOf(t)
			_, _, err := mustIssuer(t, set, token.IssuerOptions{}).Issue(ctx, token.Claims{Subject: "alice", Session: "f"})
			return err
		}, token.ErrNoKey, false},

		// Refresh tokens.
		{"malformed refresh token", func(t *testing.T) error {
			_, _, err := newEnv(t).r.Rotate(ctx, "not a refresh token")
			return err
		}, token.ErrInvalid, true},
		{"refresh token never issued", func(t *testing.T) error {
			// Well formed, but issued by a refresher on another store.
			_, tok := start(t, newEnv(t).r, "alice")
			_, _, err := newEnv(t).r.Rotate(ctx, tok)
			return err
		}, token.ErrRevoked, true},
		{"refresh token reused", func(t *testing.T) error {
			e := newEnv(t)
			_, first := start(t, e.r, "alice")
			rotate(t, e.r, first)
			e.clock.Advance(time.Minute) // past the grace window
			_, _, err := e.r.Rotate(ctx, first)
			return err
		}, token.ErrReused, true},
		{"refresh family revoked", func(t *testing.T) error {
			e := newEnv(t)
			f, tok := start(t, e.r, "alice")
			if err := e.r.Revoke(ctx, f.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err := e.r.Rotate(ctx, tok)
			return err
		}, token.ErrRevoked, true},
		{"refresh family idle too long", func(t *testing.T) error {
			e := newEnv(t)
			_, tok := start(t, e.r, "alice")
			e.clock.Advance(testIdle)
			_, _, err := e.r.Rotate(ctx, tok)
			return err
		}, token.ErrRevoked, true},
		{"family of an access token revoked", func(t *testing.T) error {
			e := newEnv(t)
			f, _ := start(t, e.r, "alice")
			if err := e.r.Revoke(ctx, f.ID); err != nil {
				t.Fatal(err)
			}
			_, err := e.r.Family(ctx, f.ID)
			return err
		}, token.ErrRevoked, true},
		{"refresh store down", func(t *testing.T) error {
			e := newEnv(t)
			_, tok := start(t, e.r, "alice")
			down := newRefresher(t, downSessions{}, e.clock, token.RefreshOptions{})
			_, _, err := down.Rotate(ctx, tok)
			return err
		}, errDown, false},
		{"refresh store down at login", func(t *testing.T) error {
			down := newRefresher(t, downSessions{}, newClock(), token.RefreshOptions{})
			_, _, err := down.Start(ctx, token.Login{User: "alice"})
			return err
		}, errDown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if (err == nil) != (tt.wraps == nil) || !errors.Is(err, tt.wraps) {
				t.Fatalf("error = %v, want one wrapping %v", err, tt.wraps)
			}
			if got := token.IsUnauthenticated(err); got != tt.want {
				t.Errorf("IsUnauthenticated(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
