package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testSessionExpiry checks that an expired record is gone to every method,
// even while the backend still holds it: it cannot be read, listed, counted
// or saved, and its id can be used for a new record.
func testSessionExpiry(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	now := time.Now()
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	record := func(token string) store.Record {
		return store.Record{ID: store.HashToken(token), User: "alice", Data: []byte(token),
			Created: now, LastSeen: now, Expires: future}
	}
	listed := func(user string, id store.SessionID) bool {
		t.Helper()
		list, err := s.UserSessions(ctx, user)
		if err != nil {
			t.Fatalf("UserSessions(%s): %v", user, err)
		}
		for _, r := range list {
			if r.ID == id {
				return true
			}
		}
		return false
	}

	mustSave(t, s, record("alice-live"))

	// Two ways a record expires: it is created with a past expiry, or a
	// save moves its expiry into the past (how a caller ends a session
	// early). Either way the backend may still hold it.
	cases := []struct {
		name   string
		expire func(r store.Record) store.Record // returns r as stored, with its version
	}{
		{"created expired", func(r store.Record) store.Record {
			r.Expires = past
			r.Version = mustSave(t, s, r)
			return r
		}},
		{"saved with a past expiry", func(r store.Record) store.Record {
			r.Version = mustSave(t, s, r)
			r.Expires = past
			r.Version = mustSave(t, s, r)
			return r
		}},
	}
	for _, c := range cases {
		r := c.expire(record(c.name))
		if _, err := s.Session(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Session err = %v, want ErrNotFound", c.name, err)
		}
		if listed("alice", r.ID) {
			t.Errorf("%s: UserSessions lists the expired record", c.name)
		}
		revive := r
		revive.Expires = future
		if _, err := s.SaveSession(ctx, revive); !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: SaveSession naming the expired record's version %d: err = %v, want ErrConflict",
				c.name, r.Version, err)
		}
		if _, err := s.Session(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: after a conflicting save: Session err = %v, want ErrNotFound", c.name, err)
		}

		// A new record takes the id, for another user, at version 1.
		fresh := record(c.name)
		fresh.User, fresh.Data = "bob", []byte("fresh")
		v, err := s.SaveSession(ctx, fresh)
		if err != nil {
			t.Errorf("%s: creating a record over the expired one: %v", c.name, err)
			continue
		}
		if v != 1 {
			t.Errorf("%s: creating a record over the expired one gave version %d, want 1", c.name, v)
		}
		fresh.Version = 1
		checkSession(t, s, fresh)
		if listed("alice", r.ID) {
			t.Errorf("%s: the new record is still listed for the expired record's user", c.name)
		}
		if !listed("bob", r.ID) {
			t.Errorf("%s: the new record is not listed for its user", c.name)
		}
	}

	// Deleting an expired record is deleting a missing one: not an error.
	gone := record("gone")
	gone.Expires = past
	mustSave(t, s, gone)
	if err := s.DeleteSession(ctx, gone.ID); err != nil {
		t.Errorf("DeleteSession of an expired record: %v", err)
	}

	// Only the live record counts; the expired ones go too.
	expired := record("alice-expired")
	expired.Expires = past
	mustSave(t, s, expired)
	n, err := s.DeleteUserSessions(ctx, "alice")
	if err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	if n != 1 {
		t.Errorf("DeleteUserSessions = %d, want 1: only alice's live record counts", n)
	}
	if listed("alice", store.HashToken("alice-live")) {
		t.Error("alice's live record is still listed after DeleteUserSessions")
	}
}
