package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// countingUsers is failingUsers that counts the accounts read.
type countingUsers struct {
	*failingUsers
	reads atomic.Int64
}

func (c *countingUsers) User(ctx context.Context, name string) (store.User, error) {
	c.reads.Add(1)
	return c.failingUsers.User(ctx, name)
}

// TestCheckLoginRemembers: a confirmed login is confirmed again from the
// account as read, for StandingCache; changes these Accounts make are seen
// at once, changes made elsewhere after StandingCache at most, and no
// login is refused on a remembered account.
func TestCheckLoginRemembers(t *testing.T) {
	down := errors.New("database is down")
	type env struct {
		a     *Accounts
		users *countingUsers
		clock interface{ Advance(time.Duration) time.Time }
		proof Proof
	}
	elsewhere := func(t *testing.T, e env) store.User {
		t.Helper()
		// Another process's change: the store, not these Accounts.
		u, err := e.users.Store.User(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name  string
		cache time.Duration // Options.StandingCache
		// change runs after alice's login was checked once, and returns
		// the login to check (zero: alice's).
		change func(t *testing.T, e env) (accountID string, authTime time.Time)
		after  time.Duration // how long after the change the check runs
		want   error         // nil: the login stands
	}{
		{"unchanged", 0, nil, 0, nil},
		{"password changed here", 0, func(t *testing.T, e env) (string, time.Time) {
			e.clock.Advance(time.Millisecond)
			if _, err := e.a.ChangePassword(t.Context(), "alice", "a new password"); err != nil {
				t.Fatal(err)
			}
			return "", time.Time{}
		}, 0, ErrLoginEnded},
		{"account deleted here", 0, func(t *testing.T, e env) (string, time.Time) {
			if err := e.a.DeleteAccount(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			return "", time.Time{}
		}, 0, ErrLoginEnded},
		{"password changed elsewhere, within the cache time", 0, func(t *testing.T, e env) (string, time.Time) {
			u := elsewhere(t, e)
			if err := e.users.Store.SetPasswordHash(t.Context(), "alice", u.PasswordHash, e.proof.AuthTime.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			return "", time.Time{}
		}, DefaultStandingCache - time.Millisecond, nil},
		{"password changed elsewhere, past the cache time", 0, func(t *testing.T, e env) (string, time.Time) {
			u := elsewhere(t, e)
			if err := e.users.Store.SetPasswordHash(t.Context(), "alice", u.PasswordHash, e.proof.AuthTime.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			return "", time.Time{}
		}, DefaultStandingCache, ErrLoginEnded},
		{"password changed elsewhere, no cache", -1, func(t *testing.T, e env) (string, time.Time) {
			u := elsewhere(t, e)
			if err := e.users.Store.SetPasswordHash(t.Context(), "alice", u.PasswordHash, e.proof.AuthTime.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			return "", time.Time{}
		}, 0, ErrLoginEnded},
		{"deleted elsewhere, past the cache time", 0, func(t *testing.T, e env) (string, time.Time) {
			if err := e.users.Store.DeleteUser(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			return "", time.Time{}
		}, DefaultStandingCache, ErrLoginEnded},
		{"name registered again elsewhere: the new account's login stands", 0, func(t *testing.T, e env) (string, time.Time) {
			old := elsewhere(t, e)
			if err := e.users.Store.DeleteUser(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			at := old.Updated.Add(time.Minute)
			if err := e.users.Store.CreateUser(t.Context(), store.User{ID: "another-account", Name: "alice", PasswordHash: old.PasswordHash, Created: at, Updated: at}); err != nil {
				t.Fatal(err)
			}
			return "another-account", at.Add(time.Second)
		}, 0, nil},
		{"password changed elsewhere: a later login stands", 0, func(t *testing.T, e env) (string, time.Time) {
			u := elsewhere(t, e)
			changed := e.proof.AuthTime.Add(time.Second)
			if err := e.users.Store.SetPasswordHash(t.Context(), "alice", u.PasswordHash, changed); err != nil {
				t.Fatal(err)
			}
			return "", changed.Add(time.Second)
		}, 0, nil},
		{"store down, within the cache time", 0, func(t *testing.T, e env) (string, time.Time) {
			e.users.setFail(down)
			return "", time.Time{}
		}, DefaultStandingCache - time.Millisecond, nil},
		{"store down, past the cache time", 0, func(t *testing.T, e env) (string, time.Time) {
			e.users.setFail(down)
			return "", time.Time{}
		}, DefaultStandingCache, down},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			clock := newFakeClock()
			users := &countingUsers{failingUsers: newFailingUsers(t)}
			a := newTestAccounts(t, users, Options{Now: clock.Now, StandingCache: tt.cache})
			a.standing.now = clock.Now
			if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
			p, err := a.Login(ctx, "alice", goodPassword, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.CheckLogin(ctx, "alice", p.User.ID, p.AuthTime); err != nil {
				t.Fatalf("first CheckLogin = %v", err)
			}
			id, at := p.User.ID, p.AuthTime
			if tt.change != nil {
				cid, cat := tt.change(t, env{a: a, users: users, clock: clock, proof: p})
				if cid != "" {
					id = cid
				}
				if !cat.IsZero() {
					at = cat
				}
			}
			clock.Advance(tt.after)
			_, err = a.CheckLogin(ctx, "alice", id, at)
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("CheckLogin = %v, want the login to stand", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("CheckLogin = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCheckLoginReadsOncePerCacheTime: checking one account's logins over
// and over reads it from the store once per StandingCache.
func TestCheckLoginReadsOncePerCacheTime(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	users := &countingUsers{failingUsers: newFailingUsers(t)}
	a := newTestAccounts(t, users, Options{Now: clock.Now})
	a.standing.now = clock.Now
	u, err := a.Register(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := a.CheckLogin(ctx, "ALICE", u.ID, u.Updated); err != nil {
			t.Fatal(err)
		}
	}
	if n := users.reads.Load(); n != 1 {
		t.Errorf("100 checks within the cache time read the account %d times, want 1", n)
	}
	clock.Advance(DefaultStandingCache)
	if _, err := a.CheckLogin(ctx, "alice", u.ID, u.Updated); err != nil {
		t.Fatal(err)
	}
	if n := users.reads.Load(); n != 2 {
		t.Errorf("a check past the cache time: %d reads in all, want 2", n)
	}
}

// TestStandingForgetOutranksReadUnderWay: an account read before these
// Accounts changed it is not remembered when the read ends after the
// change, as it may hold what the change replaced.
func TestStandingForgetOutranksReadUnderWay(t *testing.T) {
	c := newStanding(time.Minute)
	gen := c.generation() // a CheckLogin begins its read...
	c.forget("alice")     // ...a password change lands...
	c.put(store.User{ID: "1", Name: "alice"}, gen)
	if u, ok := c.get("alice"); ok {
		t.Errorf("remembered %+v, read before the change", u)
	}
	c.put(store.User{ID: "1", Name: "alice"}, c.generation())
	if _, ok := c.get("ALICE"); !ok {
		t.Error("an account read after the change is not remembered")
	}
}
