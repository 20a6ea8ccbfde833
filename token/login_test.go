package token_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// payload returns the decoded claims of a compact JWS, numbers as they
// are written.
func payload(t testing.TB, tok string) map[string]json.RawMessage {
	t.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal(unb64(t, segments(t, tok)[1]), &p); err != nil {
		t.Fatalf("payload of %q: %v", tok, err)
	}
	return p
}

// TestIssueLoginClaims: what Issue is told about the login (account ID and
// auth time) is signed into the token and read back by Verify; a zero
// auth time or an empty account ID leaves its claim out; the fields the
// issuer owns cannot be set by the caller.
func TestIssueLoginClaims(t *testing.T) {
	authTime := t0.Add(-90*time.Minute + 250*time.Millisecond)
	tests := []struct {
		name         string
		in           token.Claims
		wantAID      string
		wantAuthTime time.Time // NumericDate keeps whole seconds
	}{
		{"account and auth time", token.Claims{Subject: "alice", Session: "fam-1", AccountID: "acct-Zq3", AuthTime: authTime},
			"acct-Zq3", authTime.Truncate(time.Second)},
		{"zero auth time", token.Claims{Subject: "alice", Session: "fam-1", AccountID: "acct-Zq3"},
			"acct-Zq3", time.Time{}},
		{"no account ID", token.Claims{Subject: "alice", Session: "fam-1", AuthTime: authTime},
			"", authTime.Truncate(time.Second)},
		{"fields the issuer owns", token.Claims{
			Subject: "alice", Session: "fam-1", AccountID: "acct-Zq3", AuthTime: authTime,
			ID: "chosen-jti", Issuer: "https://evil.test", Audience: []string{"elsewhere"},
			IssuedAt: t0.Add(-time.Hour), NotBefore: t0.Add(-time.Hour), Expires: t0.Add(100 * 24 * time.Hour), KeyID: "other",
		}, "acct-Zq3", authTime.Truncate(time.Second)},
	}
	clock := newClock()
	ring, sk := ringWith(t, clock, token.EdDSA, token.RingOptions{})
	iss := mustIssuer(t, ring, token.IssuerOptions{Lifetime: 5 * time.Minute, Now: clock.Now})
	v := mustVerifier(t, ring, token.VerifierOptions{Now: clock.Now})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, issued, err := iss.Issue(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := mustVerify(t, v, tok)
			for what, c := range map[string]token.Claims{"verified": got, "issued": issued} {
				if c.Subject != "alice" || c.Session != "fam-1" || c.AccountID != tt.wantAID || !c.AuthTime.Equal(tt.wantAuthTime) {
					t.Errorf("%s claims: sub %q sid %q aid %q auth_time %v; want alice, fam-1, %q, %v",
						what, c.Subject, c.Session, c.AccountID, c.AuthTime, tt.wantAID, tt.wantAuthTime)
				}
				if c.ID == "chosen-jti" || c.Issuer != testIssuer || !slices.Equal(c.Audience, []string{testAudience}) ||
					!c.IssuedAt.Equal(t0) || !c.NotBefore.Equal(t0) || !c.Expires.Equal(t0.Add(5*time.Minute)) || c.KeyID != sk.ID {
					t.Errorf("%s claims %+v: the caller set fields the issuer owns", what, c)
				}
			}
			p := payload(t, tok)
			raw, ok := p["auth_time"]
			switch {
			case tt.wantAuthTime.IsZero() && ok:
				t.Errorf("zero auth time, but the payload has auth_time %s", raw)
			case !tt.wantAuthTime.IsZero() && string(raw) != jsonInt(tt.wantAuthTime.Unix()):
				t.Errorf("payload auth_time %s, want %d (seconds since the epoch)", raw, tt.wantAuthTime.Unix())
			}
			raw, ok = p["aid"]
			switch {
			case tt.wantAID == "" && ok:
				t.Errorf("no account ID, but the payload has aid %s", raw)
			case tt.wantAID != "" && string(raw) != `"`+tt.wantAID+`"`:
				t.Errorf("payload aid %s, want %q", raw, tt.wantAID)
			}
		})
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestRefreshLoginKept: what Start is told about the login is kept in the
// family's record (of kind KindRefreshFamily), returned by Start, Family
// and Rotate, and not moved by refreshing; a zero AuthTime means the time
// of Start.
func TestRefreshLoginKept(t *testing.T) {
	stores := map[string]func(testing.TB, *fakeclock.Clock) store.Sessions{
		"memstore":    func(t testing.TB, c *fakeclock.Clock) store.Sessions { return newMemstore(t, c) },
		"sqlitestore": func(t testing.TB, c *fakeclock.Clock) store.Sessions { return openSQLite(t, c) },
	}
	authTime := t0.Add(-2*time.Minute + 250*time.Millisecond)
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clock := newClock()
			s := open(t, clock)
			r := newRefresher(t, s, clock, token.RefreshOptions{})
			f, tok, err := r.Start(ctx, token.Login{User: "alice", AccountID: "acct-Zq3", AuthTime: authTime, UserAgent: "Test/1.0"})
			if err != nil {
				t.Fatal(err)
			}
			check := func(when string, f token.Family) {
				t.Helper()
				if f.User != "alice" || f.AccountID != "acct-Zq3" || !f.AuthTime.Equal(authTime) || f.UserAgent != "Test/1.0" {
					t.Errorf("%s: family %+v; want alice, acct-Zq3, auth time %v", when, f, authTime)
				}
			}
			check("Start", f)
			recs, err := s.UserSessions(ctx, "alice")
			if err != nil || len(recs) != 1 {
				t.Fatalf("UserSessions = %d records, %v; want 1", len(recs), err)
			}
			if rec := recs[0]; rec.Kind != store.KindRefreshFamily || rec.AccountID != "acct-Zq3" || !rec.AuthTime.Equal(authTime) {
				t.Errorf("stored record: kind %q, account %q, auth time %v; want %q, acct-Zq3, %v",
					rec.Kind, rec.AccountID, rec.AuthTime, store.KindRefreshFamily, authTime)
			}
			clock.Advance(10 * time.Minute)
			f, _ = rotate(t, r, tok)
			check("Rotate", f)
			got, err := r.Family(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			check("Family", got)

			// No auth time: the login proved itself when it started.
			g, _, err := r.Start(ctx, token.Login{User: "bob", AccountID: "acct-B"})
			if err != nil {
				t.Fatal(err)
			}
			if !g.AuthTime.Equal(clock.Now()) || g.AccountID != "acct-B" {
				t.Errorf("Start with no auth time: %+v; want auth time %v (now)", g, clock.Now())
			}
		})
	}
}

// TestRefreshRefusesOtherKinds: a record that is not of kind
// KindRefreshFamily is no family, whatever its data says: a refresh
// token naming it is refused as revoked.
func TestRefreshRefusesOtherKinds(t *testing.T) {
	for _, kind := range []store.Kind{store.KindSession, store.KindCookieLogin, "", "app-login"} {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			clock := newClock()
			ms := newMemstore(t, clock)
			r := newRefresher(t, ms, clock, token.RefreshOptions{})
			f, tok := start(t, r, "alice")
			recs, err := ms.UserSessions(ctx, "alice")
			if err != nil || len(recs) != 1 {
				t.Fatalf("UserSessions = %d records, %v", len(recs), err)
			}
			rec := recs[0]
			rec.Kind = kind
			if _, err := ms.SaveSession(ctx, rec); err != nil {
				t.Fatal(err)
			}
			_, err = r.Family(ctx, f.ID)
			wantEnded(t, err, false)
			_, _, err = r.Rotate(ctx, tok)
			wantEnded(t, err, false)
		})
	}
}
