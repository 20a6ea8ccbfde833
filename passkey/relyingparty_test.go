package passkey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/internal/webauthntest"
	"github.com/sessionkit/sessionkit/passkey"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

const origin = "https://example.com"

// fixture is a relying party on a memory store and a fake clock, with
// alice and one passkey of hers.
type fixture struct {
	rp    *passkey.RelyingParty
	st    *memstore.Store
	clock *fakeclock.Clock
	alice store.User
	authn *webauthntest.Authenticator
	cred  *webauthntest.Credential
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := fakeclock.New(time.Now())
	st := memstore.New(memstore.Options{Now: clk.Now})
	t.Cleanup(func() { st.Close() })
	key, _ := cookie.GenerateKey(clk.Now())
	ring, _ := cookie.NewKeyRing(key)
	rp, err := passkey.New(st, ring, passkey.Options{RPID: "example.com", Origins: []string{origin}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{rp: rp, st: st, clock: clk, authn: webauthntest.New(origin),
		alice: store.User{ID: "alice-account-id", Name: "alice", PasswordHash: "x", Created: clk.Now()}}
	if err := st.CreateUser(context.Background(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.cred = f.register(t, f.alice, "laptop")
	return f
}

func (f *fixture) register(t testing.TB, u store.User, name string) *webauthntest.Credential {
	t.Helper()
	ctx := context.Background()
	options, state, err := f.rp.BeginRegistration(ctx, u, "bind")
	if err != nil {
		t.Fatal(err)
	}
	resp, cred, err := f.authn.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishRegistration(ctx, u, "bind", state, resp, name); err != nil {
		t.Fatal(err)
	}
	return cred
}

// TestFinishLoginRefuses: each way a login can be wrong gives its error,
// and logs no one in.
func TestFinishLoginRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		want error
		// finish begins a login, spoils something and finishes it.
		finish func(t *testing.T, f *fixture) (passkey.Login, error)
	}{
		{"replay", passkey.ErrChallenge, func(t *testing.T, f *fixture) (passkey.Login, error) {
			options, state, _ := f.rp.BeginLogin(ctx)
			resp, _ := f.authn.Get(options, f.cred)
			if _, err := f.rp.FinishLogin(ctx, state, resp); err != nil {
				t.Fatal(err)
			}
			return f.rp.FinishLogin(ctx, state, resp)
		}},
		{"expired", passkey.ErrChallenge, func(t *testing.T, f *fixture) (passkey.Login, error) {
			options, state, _ := f.rp.BeginLogin(ctx)
			resp, _ := f.authn.Get(options, f.cred)
			f.clock.Advance(passkey.DefaultChallengeLifetime)
			return f.rp.FinishLogin(ctx, state, resp)
		}},
		{"registration state", passkey.ErrChallenge, func(t *testing.T, f *fixture) (passkey.Login, error) {
			_, state, _ := f.rp.BeginRegistration(ctx, f.alice, "")
			options, _, _ := f.rp.BeginLogin(ctx)
			resp, _ := f.authn.Get(options, f.cred)
			return f.rp.FinishLogin(ctx, state, resp)
		}},
		{"garbage state", passkey.ErrChallenge, func(t *testing.T, f *fixture) (passkey.Login, error) {
			options, _, _ := f.rp.BeginLogin(ctx)
			resp, _ := f.authn.Get(options, f.cred)
			return f.rp.FinishLogin(ctx, "not a sealed state", resp)
		}},
		{"other origin", passkey.ErrInvalidResponse, func(t *testing.T, f *fixture) (passkey.Login, error) {
			options, state, _ := f.rp.BeginLogin(ctx)
			f.authn.Origin = "https://example.com.evil.example"
			resp, _ := f.authn.Get(options, f.cred)
			return f.rp.FinishLogin(ctx, state, resp)
		}},
		{"not JSON", passkey.ErrInvalidResponse, func(t *testing.T, f *fixture) (passkey.Login, error) {
			_, state, _ := f.rp.BeginLogin(ctx)
			return f.rp.FinishLogin(ctx, state, []byte("{"))
		}},
		{"removed", passkey.ErrUnknownPasskey, func(t *testing.T, f *fixture) (passkey.Login, error) {
			if err := f.st.DeletePasskey(ctx, f.alice.ID, f.cred.ID); err != nil {
				t.Fatal(err)
			}
			options, state, _ := f.rp.BeginLogin(ctx)
			resp, _ := f.authn.Get(options, f.cred)
			return f.rp.FinishLogin(ctx, state, resp)
		}},
		{"name registered again", passkey.ErrUnknownPasskey, func(t *testing.T, f *fixture) (passkey.Login, error) {
			// The account is gone and someone else took the name; an
			// orphaned passkey (AddPasskey racing the deletion) must not
			// log them in.
			orphan, err := f.st.Passkey(ctx, f.cred.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.st.DeleteUser(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			if err := f.st.CreateUser(ctx, store.User{ID: "new-alice", Name: "alice", PasswordHash: "x"}); err != nil {
				t.Fatal(err)
			}
			if err := f.st.AddPasskey(ctx, orphan); err != nil {
				t.Fatal(err)
			}
			options, state, _ := f.rp.BeginLogin(ctx)
			resp, _ := f.authn.Get(options, f.cred)
			return f.rp.FinishLogin(ctx, state, resp)
		}},
		{"counter rolled back", passkey.ErrSignCount, func(t *testing.T, f *fixture) (passkey.Login, error) {
			f.cred.SignCount = 10
			options, state, _ := f.rp.BeginLogin(ctx)
			resp, _ := f.authn.Get(options, f.cred) // 11
			if _, err := f.rp.FinishLogin(ctx, state, resp); err != nil {
				t.Fatal(err)
			}
			f.cred.SignCount = 4
			options, state, _ = f.rp.BeginLogin(ctx)
			resp, _ = f.authn.Get(options, f.cred) // 5
			return f.rp.FinishLogin(ctx, state, resp)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			l, err := tt.finish(t, f)
			if !errors.Is(err, tt.want) {
				t.Fatalf("FinishLogin: %v, want %v", err, tt.want)
			}
			if tt.want == passkey.ErrSignCount {
				if l.User.Name != "alice" {
					t.Errorf("a refused clone's Login names %q, want alice for the security log", l.User.Name)
				}
				if p, _ := f.st.Passkey(ctx, f.cred.ID); p.SignCount != 11 {
					t.Errorf("the refused login changed the stored counter to %d", p.SignCount)
				}
			} else if l.User.Name != "" {
				t.Errorf("a refused login names the user %q", l.User.Name)
			}
		})
	}
}

// TestFinishRegistrationRefuses: a registration's state is bound to the
// login that began it and works once; a passkey registers once.
func TestFinishRegistrationRefuses(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	options, state, err := f.rp.BeginRegistration(ctx, f.alice, "login-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(options), `"residentKey":"required"`) || !strings.Contains(string(options), `"userVerification":"preferred"`) {
		t.Errorf("the options do not ask for a discoverable credential with user verification preferred: %s", options)
	}
	resp, _, _ := f.authn.Create(options)
	if _, err := f.rp.FinishRegistration(ctx, f.alice, "login-2", state, resp, "phone"); !errors.Is(err, passkey.ErrChallenge) {
		t.Errorf("finishing under another login: %v, want ErrChallenge", err)
	}
	options, state, _ = f.rp.BeginRegistration(ctx, f.alice, "login-1")
	again, _ := f.authn.Attest(f.cred, challengeOf(t, options), "example.com")
	if _, err := f.rp.FinishRegistration(ctx, f.alice, "login-1", state, again, "same key"); !errors.Is(err, passkey.ErrExists) {
		t.Errorf("registering the same passkey again: %v, want ErrExists", err)
	}
	if _, err := f.rp.FinishRegistration(ctx, f.alice, "login-1", state, again, " spaced "); err == nil {
		t.Error("a name with surrounding spaces was accepted")
	}
}

func challengeOf(t *testing.T, options []byte) string {
	t.Helper()
	i := strings.Index(string(options), `"challenge":"`)
	if i < 0 {
		t.Fatalf("no challenge in %s", options)
	}
	rest := string(options)[i+len(`"challenge":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestNewChecksOrigins(t *testing.T) {
	tests := []struct {
		rpID    string
		origins []string
		ok      bool
	}{
		{"localhost", []string{"http://localhost:8080"}, true},
		{"example.com", []string{"https://example.com", "https://login.example.com"}, true},
		{"example.com", []string{"https://example.com.evil.example"}, false},
		{"example.com", []string{"https://notexample.com"}, false},
		{"example.com", []string{"https://example.com/path"}, false},
		{"example.com", []string{"ftp://example.com"}, false},
		{"example.com", nil, false},
		{"127.0.0.1", []string{"http://127.0.0.1:8080"}, false},
		{"", []string{"https://example.com"}, false},
	}
	for _, tt := range tests {
		err := passkey.CheckOrigins(tt.rpID, tt.origins)
		if (err == nil) != tt.ok {
			t.Errorf("CheckOrigins(%q, %q) = %v, want ok %v", tt.rpID, tt.origins, err, tt.ok)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"laptop": true, "Téléphone de Zoë": true, strings.Repeat("x", 64): true,
		"": false, " laptop": false, "lap\ttop": false, strings.Repeat("x", 65): false, "bad\xffutf8": false,
	} {
		if passkey.ValidName(name) != ok {
			t.Errorf("ValidName(%q) = %v, want %v", name, !ok, ok)
		}
	}
}
