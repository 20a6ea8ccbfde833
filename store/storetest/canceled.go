package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testCanceled checks that a call with an ended context fails instead of
// going ahead: a server relies on it to bound how long a request waits.
func testCanceled(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	now := time.Now()
	// A session the canceled calls below must leave alone.
	kept := store.Record{ID: store.HashToken("kept"), User: "canceled", Data: []byte("kept"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	kept.Version = mustSave(t, s, kept)
	created := store.Record{ID: store.HashToken("created"), User: "canceled",
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error {
			return s.CreateUser(ctx, store.User{Name: "canceled", PasswordHash: "h", Created: now, Updated: now})
		}},
		{"User", func() error { _, err := s.User(ctx, "canceled"); return err }},
		{"ListUsers", func() error { _, err := s.ListUsers(ctx); return err }},
		{"AddKey", func() error { return s.AddKey(ctx, "p", store.Key{ID: "x", Secret: []byte("s"), Created: now}) }},
		{"Keys", func() error { _, err := s.Keys(ctx, "p"); return err }},
		{"DeleteKey", func() error { return s.DeleteKey(ctx, "p", "x") }},
		{"Deny", func() error { return s.Deny(ctx, "x", now.Add(time.Hour)) }},
		{"Denied", func() error { _, err := s.Denied(ctx, "x"); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Session", func() error { _, err := s.Session(ctx, kept.ID); return err }},
		{"SaveSession", func() error { _, err := s.SaveSession(ctx, created); return err }},
		{"DeleteSession", func() error { return s.DeleteSession(ctx, kept.ID) }},
		{"UserSessions", func() error { _, err := s.UserSessions(ctx, "canceled"); return err }},
		{"DeleteUserSessions", func() error { _, err := s.DeleteUserSessions(ctx, "canceled"); return err }},
	}
	for _, c := range calls {
		if err := c.call(); err == nil {
			t.Errorf("%s with a canceled context succeeded", c.name)
		}
	}
	if _, err := s.User(context.Background(), "canceled"); err == nil {
		t.Error("CreateUser with a canceled context created the account")
	}
	if _, err := s.Session(context.Background(), created.ID); err == nil {
		t.Error("SaveSession with a canceled context created the record")
	}
	if _, err := s.Session(context.Background(), kept.ID); err != nil {
		t.Errorf("DeleteSession or DeleteUserSessions with a canceled context removed a record: %v", err)
	}
}
