package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// newUsers returns an empty memstore.Store, closed when the test ends.
func newUsers(tb testing.TB) *memstore.Store {
	tb.Helper()
	s := memstore.New(memstore.Options{})
	tb.Cleanup(func() { s.Close() })
	return s
}

// failingUsers is a memstore.Store whose CreateUser, User and
// SetPasswordHash return an injected error, once setFail has set one.
type failingUsers struct {
	*memstore.Store
	fail atomic.Pointer[error]
}

func newFailingUsers(tb testing.TB) *failingUsers {
	tb.Helper()
	return &failingUsers{Store: newUsers(tb)}
}

// setFail makes the overridden methods return err; nil makes them work again.
func (f *failingUsers) setFail(err error) {
	if err == nil {
		f.fail.Store(nil)
		return
	}
	f.fail.Store(&err)
}

func (f *failingUsers) err() error {
	if p := f.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *failingUsers) CreateUser(ctx context.Context, u store.User) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.CreateUser(ctx, u)
}

func (f *failingUsers) User(ctx context.Context, name string) (store.User, error) {
	if err := f.err(); err != nil {
		return store.User{}, err
	}
	return f.Store.User(ctx, name)
}

func (f *failingUsers) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.SetPasswordHash(ctx, name, hash, updated)
}

// kdfCall records one argon2id run.
type kdfCall struct {
	iterations, memory uint32
	parallelism        uint8
	keyLen             uint32
}

// kdfRecorder counts the argon2id runs of an Accounts.
type kdfRecorder struct {
	mu    sync.Mutex
	calls []kdfCall
}

// observe makes a record every argon2id run of a.
func (r *kdfRecorder) observe(a *Accounts) {
	a.kdf = func(pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
		r.mu.Lock()
		r.calls = append(r.calls, kdfCall{t, m, p, n})
		r.mu.Unlock()
		return argon2.IDKey(pw, salt, t, m, p, n)
	}
}

// take returns the runs since the last take.
func (r *kdfRecorder) take() []kdfCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func newTestAccounts(t testing.TB, users store.Users, opts Options) *Accounts {
	t.Helper()
	if opts.Params == (Params{}) {
		opts.Params = cheapParams
	}
	a, err := NewAccounts(users, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const goodPassword = "correct horse battery staple"

func TestRegisterLogin(t *testing.T) {
	ctx := t.Context()
	users := newUsers(t)
	clock := newFakeClock()
	a := newTestAccounts(t, users, Options{Now: clock.Now})

	u, err := a.Register(ctx, "Alice", goodPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Alice" || u.ID == "" || !u.Created.Equal(clock.Now()) || !u.Updated.Equal(clock.Now()) {
		t.Errorf("Register returned %+v", u)
	}
	if stored, err := users.User(ctx, "alice"); err != nil || stored != u {
		t.Errorf("stored account %+v, %v; want what Register returned, %+v", stored, err, u)
	}
	if ok, err := VerifyPassword(goodPassword, u.PasswordHash); !ok || err != nil {
		t.Errorf("stored hash does not verify: %v, %v", ok, err)
	}
	if strings.Contains(u.PasswordHash, goodPassword) {
		t.Errorf("stored hash contains the password")
	}
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		clock.Advance(time.Second)
		got, err := a.Login(ctx, name, goodPassword, "192.0.2.1")
		if err != nil {
			t.Errorf("Login(%q) = %v", name, err)
			continue
		}
		if got.User != u {
			t.Errorf("Login(%q) proved %+v, want the registered account %+v", name, got.User, u)
		}
		if !got.AuthTime.Equal(clock.Now()) {
			t.Errorf("Login(%q) AuthTime = %v, want now (%v)", name, got.AuthTime, clock.Now())
		}
	}
	if _, err := a.Register(ctx, "aLiCe", "another password", "192.0.2.1"); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("Register of a taken name (other case) = %v, want ErrUsernameTaken", err)
	}
}

func TestRegisterInvalid(t *testing.T) {
	rec := &kdfRecorder{}
	users := newUsers(t)
	a := newTestAccounts(t, users, Options{})
	rec.observe(a)
	tests := []struct {
		name, pw string
		want     error
	}{
		{"ab", goodPassword, ErrInvalidUsername},
		{"al ice", goodPassword, ErrInvalidUsername},
		{"alice", "short", ErrInvalidPassword},
		{"alice", strings.Repeat("x", 1025), ErrInvalidPassword},
	}
	for _, tt := range tests {
		if _, err := a.Register(t.Context(), tt.name, tt.pw, "192.0.2.1"); !errors.Is(err, tt.want) {
			t.Errorf("Register(%q, %d bytes) = %v, want %v", tt.name, len(tt.pw), err, tt.want)
		}
	}
	if n := len(rec.take()); n != 0 {
		t.Errorf("invalid registrations ran argon2 %d times", n)
	}
	stored, err := users.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 0 {
		t.Errorf("invalid registrations stored %d accounts", len(stored))
	}
}

func TestLoginInvalidInput(t *testing.T) {
	spy := newSpyCounters(newUsers(t))
	a := newTestAccounts(t, newUsers(t), Options{Throttle: newTestThrottle(t, spy, ThrottleOptions{}, nil)})
	tests := []struct {
		name, pw string
		want     error
	}{
		{"", goodPassword, ErrInvalidUsername},
		{"a", goodPassword, ErrInvalidUsername},
		{"alice", "", ErrInvalidPassword},
		{"alice", strings.Repeat("é", 513), ErrInvalidPassword},
	}
	for _, tt := range tests {
		if _, err := a.Login(t.Context(), tt.name, tt.pw, "192.0.2.1"); !errors.Is(err, tt.want) {
			t.Errorf("Login(%q, %d bytes) = %v, want %v", tt.name, len(tt.pw), err, tt.want)
		}
	}
	if n := spy.total(); n != 0 {
		t.Errorf("invalid input reached the throttle's store (%d calls)", n)
	}
}

// TestLoginSameFailure checks that an unknown user and a wrong password give
// the same error and run the same argon2id work.
func TestLoginSameFailure(t *testing.T) {
	ctx := t.Context()
	rec := &kdfRecorder{}
	a := newTestAccounts(t, newUsers(t), Options{})
	if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	rec.observe(a)

	_, errUnknown := a.Login(ctx, "mallory", goodPassword, "192.0.2.1")
	unknownRuns := rec.take()
	_, errWrong := a.Login(ctx, "alice", "wrong password", "192.0.2.1")
	wrongRuns := rec.take()

	if errUnknown != ErrBadCredentials || errWrong != ErrBadCredentials {
		t.Errorf("unknown user: %v; wrong password: %v; want ErrBadCredentials for both", errUnknown, errWrong)
	}
	want := []kdfCall{{cheapParams.Iterations, cheapParams.Memory, cheapParams.Parallelism, cheapParams.KeyLength}}
	if fmt.Sprint(unknownRuns) != fmt.Sprint(want) {
		t.Errorf("unknown user ran argon2id %v, want %v", unknownRuns, want)
	}
	if fmt.Sprint(wrongRuns) != fmt.Sprint(want) {
		t.Errorf("wrong password ran argon2id %v, want %v", wrongRuns, want)
	}

	// A successful login does the same work (no rehash is due).
	if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if runs := rec.take(); fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("successful login ran argon2id %v, want %v", runs, want)
	}
}

// TestLoginDefaultParams runs the whole flow once at full cost.
func TestLoginDefaultParams(t *testing.T) {
	ctx := t.Context()
	a, err := NewAccounts(newUsers(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.params != DefaultParams() {
		t.Errorf("zero Params gave %+v, want DefaultParams()", a.params)
	}
	u, err := a.Register(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q was not made with the default parameters", u.PasswordHash)
	}
	if !strings.HasPrefix(a.dummy, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("dummy hash %q was not made with the default parameters", a.dummy)
	}
	if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
		t.Errorf("Login = %v", err)
	}
	if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
		t.Errorf("Login with a wrong password = %v", err)
	}
}

// TestLoginThrottledPerUserAddress: ten wrong guesses for alice from one
// address, and that address is refused for alice, even with the right
// password, and without hashing; alice from another address, and another
// user from that address, are not.
func TestLoginThrottledPerUserAddress(t *testing.T) {
	ctx := t.Context()
	a, _, clock := throttledAccounts(t, ThrottleOptions{})
	for i := range 10 {
		if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		clock.Advance(time.Second)
	}
	rec := &kdfRecorder{}
	rec.observe(a)
	for _, attempt := range []struct{ name, addr string }{
		{"alice", "192.0.2.1"},
		{"ALICE", "192.0.2.1"},        // names compare case-insensitively
		{"alice", "::ffff:192.0.2.1"}, // the same address, mapped
	} {
		_, err := a.Login(ctx, attempt.name, goodPassword, attempt.addr)
		// The window started with the first failure, 10 s ago.
		wantThrottled(t, err, 15*time.Minute-10*time.Second, fmt.Sprintf("11th attempt (%s from %s) with the right password", attempt.name, attempt.addr))
		var te *ThrottledError
		if errors.As(err, &te) && te.Seconds() != 890 {
			t.Errorf("Retry-After %d s, want 890", te.Seconds())
		}
	}
	if n := len(rec.take()); n != 0 {
		t.Errorf("throttled attempts ran argon2 %d times", n)
	}
	if p, err := a.Login(ctx, "alice", goodPassword, "192.0.2.2"); err != nil || p.User.Name != "alice" {
		t.Errorf("alice from another address = %+v, %v; want a login", p, err)
	}
	if _, err := a.Login(ctx, "bob", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
		t.Errorf("another user from the address: %v, want ErrBadCredentials", err)
	}
	clock.Advance(15 * time.Minute)
	if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestLoginThrottledPerAddress(t *testing.T) {
	ctx := t.Context()
	a, _, _ := throttledAccounts(t, ThrottleOptions{PerAddress: 5})
	for i := range 5 {
		if _, err := a.Login(ctx, fmt.Sprintf("user%d", i), goodPassword, "2001:db8::1"); err != ErrBadCredentials {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	_, err := a.Login(ctx, "alice", goodPassword, "2001:db8::2")
	wantThrottled(t, err, 0, "Login from the same /64")
	if _, err := a.Login(ctx, "alice", goodPassword, "2001:db8:0:1::1"); err != nil {
		t.Errorf("another /64: %v", err)
	}
}

// TestLoginConcurrentAttempts sends 30 wrong passwords for one user from
// one address at once: exactly PerUserAddress (10) of them are judged
// (hashed), however they interleave, and the rest are throttled.
func TestLoginConcurrentAttempts(t *testing.T) {
	ctx := t.Context()
	a, _, _ := throttledAccounts(t, ThrottleOptions{})
	rec := &kdfRecorder{}
	rec.observe(a)
	var bad, throttled atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			_, err := a.Login(ctx, "alice", fmt.Sprint("wrong password ", i), "192.0.2.1")
			switch {
			case err == ErrBadCredentials:
				bad.Add(1)
			case errors.Is(err, ErrThrottled):
				throttled.Add(1)
			default:
				t.Errorf("Login = %v", err)
			}
		})
	}
	wg.Wait()
	if bad.Load() != 10 || throttled.Load() != 20 {
		t.Errorf("%d bad credentials, %d throttled; want 10, 20", bad.Load(), throttled.Load())
	}
	if n := len(rec.take()); n != 10 {
		t.Errorf("argon2 ran %d times for 30 concurrent guesses, want 10", n)
	}
}

// TestLoginSucceedResets: a login clears the user's count from that
// address, so an owner who mistypes now and then is never locked out, and
// is not charged to the address.
func TestLoginSucceedResets(t *testing.T) {
	ctx := t.Context()
	a, _, _ := throttledAccounts(t, ThrottleOptions{PerUserAddress: 3})
	for range 3 {
		for range 2 {
			if _, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1"); err != ErrBadCredentials {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
			t.Fatalf("right password after 2 failures: %v", err)
		}
	}
	// Logins from one address (an office behind one NAT) never add up.
	b, _, _ := throttledAccounts(t, ThrottleOptions{PerAddress: 3})
	for i := range 10 {
		if _, err := b.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
			t.Fatalf("login %d from one address: %v", i+1, err)
		}
	}
}

// TestLoginStoreError checks that a failing store is reported as such, never
// as bad credentials, and not counted as a failed attempt.
func TestLoginStoreError(t *testing.T) {
	ctx := t.Context()
	users := newFailingUsers(t)
	th := newTestThrottle(t, users, ThrottleOptions{PerUserAddress: 2, PerUser: 2, PerAddress: 2}, nil)
	a := newTestAccounts(t, users, Options{Throttle: th})
	if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	down := errors.New("database is down")
	users.setFail(down)
	for range 10 {
		_, err := a.Login(ctx, "alice", "wrong password", "192.0.2.1")
		if !errors.Is(err, down) || errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrThrottled) {
			t.Fatalf("Login with the store down = %v, want the store's error", err)
		}
	}
	if _, err := a.Register(ctx, "bob", goodPassword, ""); !errors.Is(err, down) || errors.Is(err, ErrUsernameTaken) {
		t.Errorf("Register with the store down = %v", err)
	}
	if _, err := a.ChangePassword(ctx, "alice", "new password"); !errors.Is(err, down) {
		t.Errorf("ChangePassword with the store down = %v", err)
	}
	if th.counted(t, "alice", "192.0.2.1") {
		t.Errorf("store errors were counted: %+v", th.counts(t, "alice", "192.0.2.1"))
	}
	users.setFail(nil)
	if _, err := a.Login(ctx, "alice", goodPassword, "192.0.2.1"); err != nil {
		t.Errorf("Login once the store is back = %v", err)
	}
}

func TestLoginMalformedStoredHash(t *testing.T) {
	ctx := t.Context()
	users := newUsers(t)
	th := newTestThrottle(t, users, ThrottleOptions{}, nil)
	a := newTestAccounts(t, users, Options{Throttle: th})
	if err := users.CreateUser(ctx, store.User{ID: "broken-id", Name: "broken", PasswordHash: "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA"}); err != nil {
		t.Fatal(err)
	}
	rec := &kdfRecorder{}
	rec.observe(a)
	_, err := a.Login(ctx, "broken", goodPassword, "192.0.2.1")
	if !errors.Is(err, ErrMalformedHash) || errors.Is(err, ErrBadCredentials) {
		t.Errorf("Login with a malformed stored hash = %v, want ErrMalformedHash", err)
	}
	if n := len(rec.take()); n != 1 {
		t.Errorf("argon2 ran %d times, want 1 (like any other login)", n)
	}
	if th.counted(t, "broken", "192.0.2.1") {
		t.Errorf("a malformed stored hash was counted as a failure: %+v", th.counts(t, "broken", "192.0.2.1"))
	}
}

// TestLoginRehash: a login with a hash weaker than the current parameters
// stores a stronger one; that is not a password change, so the account's
// Updated time, and every login proved before, stand.
func TestLoginRehash(t *testing.T) {
	ctx := t.Context()
	users := newUsers(t)
	clock := newFakeClock()
	old := newTestAccounts(t, users, Options{Now: clock.Now})
	registered, err := old.Register(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	stronger := Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	a := newTestAccounts(t, users, Options{Params: stronger, Now: clock.Now})
	rec := &kdfRecorder{}
	rec.observe(a)
	clock.Advance(time.Hour)
	earlier, err := old.Login(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)

	// A wrong password changes nothing.
	if _, err := a.Login(ctx, "alice", "wrong password", ""); err != ErrBadCredentials {
		t.Fatal(err)
	}
	if u, _ := users.User(ctx, "alice"); !NeedsRehash(u.PasswordHash, stronger) {
		t.Errorf("a failed login rehashed the password")
	}
	rec.take()

	p, err := a.Login(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if runs := rec.take(); len(runs) != 2 || runs[1].memory != 128 || runs[1].iterations != 2 {
		t.Errorf("login with an old hash ran argon2id %v, want a verify and a rehash", runs)
	}
	stored, _ := users.User(ctx, "alice")
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Errorf("stored hash %q; want a rehash with m=128,t=2", stored.PasswordHash)
	}
	if !stored.Updated.Equal(registered.Updated) || stored.ID != registered.ID {
		t.Errorf("after the rehash: ID %q, Updated %v; want %q and %v (kept)", stored.ID, stored.Updated, registered.ID, registered.Updated)
	}
	for name, proof := range map[string]Proof{"this login": p, "a login before the rehash": earlier} {
		if _, err := a.CheckLogin(ctx, "alice", proof.User.ID, proof.AuthTime); err != nil {
			t.Errorf("CheckLogin of %s after the rehash: %v", name, err)
		}
	}
	if _, err := a.Login(ctx, "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	if runs := rec.take(); len(runs) != 1 {
		t.Errorf("second login ran argon2id %d times, want 1", len(runs))
	}
	// The old Accounts, with weaker parameters, does not downgrade it.
	if _, err := old.Login(ctx, "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	if again, _ := users.User(ctx, "alice"); again.PasswordHash != stored.PasswordHash {
		t.Errorf("weaker parameters replaced a stronger hash")
	}
}

func TestChangePassword(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	users := newUsers(t)
	a := newTestAccounts(t, users, Options{Now: clock.Now})
	registered, err := a.Register(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	changed, err := a.ChangePassword(ctx, "ALICE", "new password!")
	if err != nil {
		t.Fatal(err)
	}
	if !changed.Equal(clock.Now()) {
		t.Errorf("ChangePassword returned %v, want now (%v)", changed, clock.Now())
	}
	if _, err := a.Login(ctx, "alice", goodPassword, ""); err != ErrBadCredentials {
		t.Errorf("old password: %v, want ErrBadCredentials", err)
	}
	p, err := a.Login(ctx, "alice", "new password!", "")
	if err != nil {
		t.Errorf("new password: %v", err)
	}
	if u := p.User; !u.Updated.Equal(changed) || !u.Created.Equal(registered.Created) || u.ID != registered.ID {
		t.Errorf("after the change: %+v; want Updated %v, Created and ID kept", u, changed)
	}
	if _, err := a.ChangePassword(ctx, "nobody", "new password!"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v, want store.ErrNotFound", err)
	}
	if _, err := a.ChangePassword(ctx, "alice", "short"); !errors.Is(err, ErrInvalidPassword) {
		t.Errorf("short password: %v", err)
	}
	if _, err := a.ChangePassword(ctx, "a b", "new password!"); !errors.Is(err, ErrInvalidUsername) {
		t.Errorf("bad name: %v", err)
	}
}

// TestRegisterAccountIDs: every account gets its own random ID, and a name
// registered again after its account was deleted is another account.
func TestRegisterAccountIDs(t *testing.T) {
	ctx := t.Context()
	users := newUsers(t)
	a := newTestAccounts(t, users, Options{})
	seen := map[string]string{}
	for i := range 20 {
		name := fmt.Sprint("user", i)
		u, err := a.Register(ctx, name, goodPassword, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(u.ID) != 22 || strings.ContainsAny(u.ID, "+/=") {
			t.Errorf("%s: ID %q, want 22 characters of unpadded base64url", name, u.ID)
		}
		if other, ok := seen[u.ID]; ok {
			t.Errorf("%s and %s share the ID %q", name, other, u.ID)
		}
		seen[u.ID] = name
		if stored, _ := users.User(ctx, name); stored.ID != u.ID {
			t.Errorf("%s: stored ID %q, returned %q", name, stored.ID, u.ID)
		}
	}

	first, err := a.Register(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteAccount(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Login(ctx, "alice", goodPassword, ""); err != ErrBadCredentials {
		t.Errorf("login to a deleted account: %v, want ErrBadCredentials", err)
	}
	if err := a.DeleteAccount(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting it again: %v, want store.ErrNotFound", err)
	}
	second, err := a.Register(ctx, "Alice", "another password", "")
	if err != nil {
		t.Fatalf("registering a deleted name again: %v", err)
	}
	if second.ID == "" || second.ID == first.ID {
		t.Errorf("the name registered again has ID %q, the deleted account had %q; want a new one", second.ID, first.ID)
	}
	p, err := a.Login(ctx, "alice", "another password", "")
	if err != nil || p.User.ID != second.ID {
		t.Errorf("login to the new account: %+v, %v; want ID %q", p.User, err, second.ID)
	}
}

// TestCheckLogin: a login stands while its account exists with the ID it
// was made for and no password change came after its auth time (to the
// millisecond); a store that cannot answer is an error, not an ending.
func TestCheckLogin(t *testing.T) {
	down := errors.New("database is down")
	type env struct {
		a     *Accounts
		users *failingUsers
		clock *fakeclock.Clock
		proof Proof // alice's login, a minute after she registered
	}
	tests := []struct {
		name string
		// change runs after the login and returns the arguments to check.
		change  func(t *testing.T, e env) (user, accountID string, authTime time.Time)
		wantErr error // nil: the login stands
	}{
		{"ok", func(t *testing.T, e env) (string, string, time.Time) {
			return "alice", e.proof.User.ID, e.proof.AuthTime
		}, nil},
		{"name in another case", func(t *testing.T, e env) (string, string, time.Time) {
			return "ALICE", e.proof.User.ID, e.proof.AuthTime
		}, nil},
		{"no account ID", func(t *testing.T, e env) (string, string, time.Time) {
			return "alice", "", e.proof.AuthTime
		}, ErrLoginEnded},
		{"no user", func(t *testing.T, e env) (string, string, time.Time) {
			return "", e.proof.User.ID, e.proof.AuthTime
		}, ErrLoginEnded},
		{"account deleted", func(t *testing.T, e env) (string, string, time.Time) {
			if err := e.a.DeleteAccount(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			return "alice", e.proof.User.ID, e.proof.AuthTime
		}, ErrLoginEnded},
		{"name registered again", func(t *testing.T, e env) (string, string, time.Time) {
			if err := e.a.DeleteAccount(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.a.Register(t.Context(), "alice", "someone else's password", ""); err != nil {
				t.Fatal(err)
			}
			return "alice", e.proof.User.ID, e.proof.AuthTime
		}, ErrLoginEnded},
		{"password changed after the auth time", func(t *testing.T, e env) (string, string, time.Time) {
			e.clock.Advance(time.Millisecond)
			if _, err := e.a.ChangePassword(t.Context(), "alice", "a new password"); err != nil {
				t.Fatal(err)
			}
			return "alice", e.proof.User.ID, e.proof.AuthTime
		}, ErrLoginEnded},
		{"auth time equal to the change", func(t *testing.T, e env) (string, string, time.Time) {
			e.clock.Advance(time.Minute)
			changed, err := e.a.ChangePassword(t.Context(), "alice", "a new password")
			if err != nil {
				t.Fatal(err)
			}
			return "alice", e.proof.User.ID, changed
		}, nil},
		{"auth time earlier within the change's millisecond", func(t *testing.T, e env) (string, string, time.Time) {
			e.clock.Advance(time.Minute + 900*time.Microsecond)
			changed, err := e.a.ChangePassword(t.Context(), "alice", "a new password")
			if err != nil {
				t.Fatal(err)
			}
			return "alice", e.proof.User.ID, changed.Add(-800 * time.Microsecond)
		}, nil},
		{"auth time a millisecond before the change", func(t *testing.T, e env) (string, string, time.Time) {
			e.clock.Advance(time.Minute)
			changed, err := e.a.ChangePassword(t.Context(), "alice", "a new password")
			if err != nil {
				t.Fatal(err)
			}
			return "alice", e.proof.User.ID, changed.Add(-time.Millisecond)
		}, ErrLoginEnded},
		{"store down", func(t *testing.T, e env) (string, string, time.Time) {
			e.users.setFail(down)
			return "alice", e.proof.User.ID, e.proof.AuthTime
		}, down},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			clock := newFakeClock()
			users := newFailingUsers(t)
			a := newTestAccounts(t, users, Options{Now: clock.Now})
			if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
			p, err := a.Login(ctx, "alice", goodPassword, "")
			if err != nil {
				t.Fatal(err)
			}
			user, id, at := tt.change(t, env{a: a, users: users, clock: clock, proof: p})
			u, err := a.CheckLogin(ctx, user, id, at)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("CheckLogin = %v, want the login to stand", err)
			case tt.wantErr == nil && (u.ID != id || store.FoldName(u.Name) != "alice"):
				t.Errorf("CheckLogin returned account %+v, want alice with ID %q", u, id)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("CheckLogin = %v, want %v", err, tt.wantErr)
			case tt.wantErr == down && errors.Is(err, ErrLoginEnded):
				t.Errorf("CheckLogin with the store down = %v: a store error must not end the login", err)
			}
		})
	}
}

// TestLoginAuthTimeBeforeChange: a login whose password check was in
// flight when the password changed has an auth time before the change, so
// CheckLogin refuses it even though the old password matched.
func TestLoginAuthTimeBeforeChange(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	a := newTestAccounts(t, newUsers(t), Options{Now: clock.Now, MaxConcurrentHashes: 1})
	if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	blockingKDF(a, started, release, &inFlight, &peak)
	type result struct {
		p   Proof
		err error
	}
	done := make(chan result)
	go func() {
		p, err := a.Login(ctx, "alice", goodPassword, "")
		done <- result{p, err}
	}()
	<-started // the old password is being checked
	clock.Advance(time.Second)
	changed := make(chan error)
	go func() {
		_, err := a.ChangePassword(ctx, "alice", "a new password")
		changed <- err
	}()
	close(release)
	r := <-done
	if err := <-changed; err != nil {
		t.Fatal(err)
	}
	if r.err != nil {
		t.Fatalf("the login in flight: %v", r.err)
	}
	if _, err := a.CheckLogin(ctx, "alice", r.p.User.ID, r.p.AuthTime); !errors.Is(err, ErrLoginEnded) {
		t.Errorf("CheckLogin of a login proved with the old password = %v, want ErrLoginEnded", err)
	}
}

// blockingKDF makes a's argon2id runs wait until release is closed, and
// reports each start on started.
func blockingKDF(a *Accounts, started chan<- struct{}, release <-chan struct{}, inFlight, peak *atomic.Int32) {
	a.kdf = func(pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
		now := inFlight.Add(1)
		for {
			old := peak.Load()
			if now <= old || peak.CompareAndSwap(old, now) {
				break
			}
		}
		started <- struct{}{}
		<-release
		inFlight.Add(-1)
		return argon2.IDKey(pw, salt, t, m, p, n)
	}
}

func TestMaxConcurrentHashes(t *testing.T) {
	ctx := t.Context()
	a := newTestAccounts(t, newUsers(t), Options{MaxConcurrentHashes: 2})
	started := make(chan struct{}, 100)
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	blockingKDF(a, started, release, &inFlight, &peak)

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := a.Login(ctx, fmt.Sprint("user", i), goodPassword, ""); err != ErrBadCredentials {
				t.Errorf("Login = %v", err)
			}
		})
	}
	<-started
	<-started // two hashes are running and hold both slots
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d hashes ran at once, more than MaxConcurrentHashes (2)", p)
	}
}

// TestLoginContextEndsWhileWaiting: a login waiting for a hashing slot gives
// up with the context's error, which is not counted as a failure.
func TestLoginContextEndsWhileWaiting(t *testing.T) {
	users := newUsers(t)
	th := newTestThrottle(t, users, ThrottleOptions{}, nil)
	a := newTestAccounts(t, users, Options{MaxConcurrentHashes: 1, Throttle: th})
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	blockingKDF(a, started, release, &inFlight, &peak)

	first := make(chan error)
	go func() {
		_, err := a.Login(t.Context(), "first", goodPassword, "")
		first <- err
	}()
	<-started // the only slot is taken

	ctx, cancel := context.WithCancel(t.Context())
	second := make(chan error)
	go func() {
		_, err := a.Login(ctx, "second", goodPassword, "192.0.2.1")
		second <- err
	}()
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) || errors.Is(err, ErrBadCredentials) {
		t.Errorf("Login whose context ended = %v, want context.Canceled", err)
	}
	if _, err := a.Register(ctx, "third", goodPassword, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Register whose context ended = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != ErrBadCredentials {
		t.Errorf("first Login = %v", err)
	}
	if th.counted(t, "second", "192.0.2.1") {
		t.Errorf("a login whose context ended was counted: %+v", th.counts(t, "second", "192.0.2.1"))
	}
}

func TestNewAccountsErrors(t *testing.T) {
	if _, err := NewAccounts(nil, Options{}); err == nil {
		t.Error("NewAccounts(nil) succeeded")
	}
	if _, err := NewAccounts(newUsers(t), Options{Params: Params{Memory: 64}}); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("NewAccounts with bad params = %v, want ErrInvalidParams", err)
	}
	a := newTestAccounts(t, newUsers(t), Options{})
	if cap(a.slots) < 2 {
		t.Errorf("default MaxConcurrentHashes = %d", cap(a.slots))
	}
	if a.dummy == "" || NeedsRehash(a.dummy, a.params) {
		t.Errorf("dummy hash %q does not match the parameters", a.dummy)
	}
}

// hangingUsers is a store whose lookups wait until their context ends, as
// a store that hangs would, and remember the deadline they were given.
type hangingUsers struct {
	store.Users
	mu       sync.Mutex
	deadline time.Time
}

func (h *hangingUsers) User(ctx context.Context, name string) (store.User, error) {
	d, _ := ctx.Deadline()
	h.mu.Lock()
	h.deadline = d
	h.mu.Unlock()
	<-ctx.Done()
	return store.User{}, ctx.Err()
}

// TestLoginStoreTimeout: with StoreTimeout set, a store that hangs fails
// the login with the store's error, within StoreTimeout of the call, not
// at the end of the caller's (longer) deadline, and it is not taken for
// bad credentials.
func TestLoginStoreTimeout(t *testing.T) {
	h := &hangingUsers{Users: newUsers(t)}
	a, err := NewAccounts(h, Options{Params: cheapParams, StoreTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err = a.Login(ctx, "alice", "password one", "192.0.2.1")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrBadCredentials) {
		t.Fatalf("login with a hanging store: %v, want the store's deadline error", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.deadline.IsZero() || h.deadline.After(start.Add(time.Second)) {
		t.Errorf("the store call's deadline was %v after the call; want StoreTimeout (50ms), not the caller's 5s", h.deadline.Sub(start))
	}
}

// TestReplacePasswordKeepsLogins: ReplacePassword sets the new password
// but, unlike ChangePassword, leaves the logins proved before it standing.
func TestReplacePasswordKeepsLogins(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	a := newTestAccounts(t, newClockedStore(t, clock), Options{Now: clock.Now})
	if _, err := a.Register(ctx, "alice", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	proof, err := a.Login(ctx, "alice", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if err := a.ReplacePassword(ctx, "alice", "a second password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckLogin(ctx, "alice", proof.User.ID, proof.AuthTime); err != nil {
		t.Errorf("a login from before ReplacePassword: %v, want it to stand", err)
	}
	if _, err := a.Login(ctx, "alice", "a second password", ""); err != nil {
		t.Errorf("the replaced password: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := a.ChangePassword(ctx, "alice", "a third password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckLogin(ctx, "alice", proof.User.ID, proof.AuthTime); !errors.Is(err, ErrLoginEnded) {
		t.Errorf("the same login after ChangePassword: %v, want ErrLoginEnded", err)
	}
	if err := a.ReplacePassword(ctx, "nobody", "a second password"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplacePassword of no account: %v, want store.ErrNotFound", err)
	}
}
