package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testUserSessions checks listing and removing one user's sessions: what a
// "your devices" page and "log out everywhere" rely on.
func testUserSessions(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	now := time.Now()
	records := map[string]store.Record{}
	kinds := []store.Kind{store.KindSession, store.KindCookieLogin, store.KindRefreshFamily, ""}
	// add saves a record named token; one with a user is a login of some
	// kind, made for an account of the user's and proved half its age ago.
	add := func(token, user string, age time.Duration) {
		t.Helper()
		r := store.Record{ID: store.HashToken(token), User: user, Data: []byte(token),
			Created: now.Add(-age), LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "agent of " + token}
		if user != "" {
			r.Kind = kinds[len(records)%len(kinds)]
			r.AccountID = "acct-" + store.FoldName(user)
			r.AuthTime = now.Add(-age / 2)
		}
		r.Version = mustSave(t, s, r)
		records[token] = r
	}
	// move saves the record named token under another user, as a login of
	// the user's account proved now.
	move := func(token, user string) {
		t.Helper()
		r := records[token]
		r.User = user
		r.Kind, r.AccountID, r.AuthTime = store.KindSession, "acct-"+store.FoldName(user), now
		if user == "" {
			r.Kind, r.AccountID, r.AuthTime = "", "", time.Time{}
		}
		r.Version = mustSave(t, s, r)
		records[token] = r
	}
	// listed returns the tokens of user's sessions in the order listed,
	// checking that each listed record is the one saved.
	listed := func(user string) []string {
		t.Helper()
		list, err := s.UserSessions(ctx, user)
		if err != nil {
			t.Fatalf("UserSessions(%q): %v", user, err)
		}
		tokens := []string{}
		for _, r := range list {
			token := string(r.Data)
			tokens = append(tokens, token)
			if d := diffRecord(r, records[token]); d != "" {
				t.Errorf("UserSessions(%q) lists %s differently from how it was saved: %s", user, token, d)
			}
		}
		return tokens
	}
	check := func(user string, want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if got := listed(user); !equal(got, want) {
			t.Errorf("UserSessions(%q) = %q, want %q", user, got, want)
		}
	}

	// Saved out of creation order, under three spellings of one name.
	add("a-middle", "alice", 2*time.Hour)
	add("a-newest", "ALICE", time.Hour)
	add("a-oldest", "Alice", 3*time.Hour)
	add("b-first", "bob", 2*time.Hour)
	add("anon-1", "", time.Hour)
	add("anon-2", "", 2*time.Hour)

	for _, name := range []string{"alice", "Alice", "ALICE"} {
		check(name, "a-newest", "a-middle", "a-oldest")
	}
	check("bob", "b-first")
	check("carol")
	check("") // sessions that belong to nobody are not a user's

	// A save that changes User moves the record between listings.
	move("anon-1", "bob")
	check("bob", "anon-1", "b-first")
	move("b-first", "")
	check("bob", "anon-1")
	move("a-middle", "Bob")
	check("alice", "a-newest", "a-oldest")
	check("bob", "anon-1", "a-middle")

	n, err := s.DeleteUserSessions(ctx, "aLiCe")
	if err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	if n != 2 {
		t.Errorf("DeleteUserSessions(aLiCe) = %d, want 2", n)
	}
	check("alice")
	for _, token := range []string{"a-newest", "a-oldest"} {
		if _, err := s.Session(ctx, store.HashToken(token)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Session(%s) after DeleteUserSessions: err = %v, want ErrNotFound", token, err)
		}
	}
	check("bob", "anon-1", "a-middle")
	for _, token := range []string{"b-first", "anon-2"} {
		checkSession(t, s, records[token])
	}
	if n, err := s.DeleteUserSessions(ctx, "alice"); err != nil || n != 0 {
		t.Errorf("second DeleteUserSessions(alice) = %d, %v; want 0, nil", n, err)
	}
	// The empty user names nobody: it must not remove anonymous sessions.
	if n, err := s.DeleteUserSessions(ctx, ""); err != nil || n != 0 {
		t.Errorf(`DeleteUserSessions("") = %d, %v; want 0, nil`, n, err)
	}
	for _, token := range []string{"b-first", "anon-2"} {
		checkSession(t, s, records[token])
	}

	// The user can log in again afterwards.
	add("a-again", "alice", time.Minute)
	check("alice", "a-again")

	// An id whose record was removed can come back for someone else; it
	// must then be listed under its new user only.
	add("a-newest", "", 0)
	if err := s.DeleteSession(ctx, store.HashToken("anon-1")); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	add("anon-1", "carol", 0)
	check("alice", "a-again")
	check("bob", "a-middle")
	check("carol", "anon-1")
}
