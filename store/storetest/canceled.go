package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// The tests in this file check that a call with an ended context fails
// instead of going ahead: a server relies on it to bound how long a request
// waits. There is one for each interface, so that each part of the suite
// needs only its own.

// canceledCall is a call to make with an ended context, which must fail.
type canceledCall struct {
	name string
	call func(ctx context.Context) error
}

// checkCanceled makes each call with a canceled context and reports those
// that succeed.
func checkCanceled(t *testing.T, calls []canceledCall) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range calls {
		if err := c.call(ctx); err == nil {
			t.Errorf("%s with a canceled context succeeded", c.name)
		}
	}
}

// testUsersCanceled checks the methods of store.Users with an ended context.
func testUsersCanceled(t *testing.T, s store.Users) {
	now := time.Now()
	checkCanceled(t, []canceledCall{
		{"CreateUser", func(ctx context.Context) error {
			return s.CreateUser(ctx, store.User{ID: "canceled-id", Name: "canceled", PasswordHash: "h", Created: now, Updated: now})
		}},
		{"User", func(ctx context.Context) error { _, err := s.User(ctx, "canceled"); return err }},
		{"ListUsers", func(ctx context.Context) error { _, err := s.ListUsers(ctx); return err }},
	})
	if _, err := s.User(context.Background(), "canceled"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after CreateUser with a canceled context: User err = %v, want ErrNotFound", err)
	}
}

// testKeysCanceled checks the methods of store.Keys, and StoreTime when
// the store implements store.Clock, with an ended context: each fails, and
// none changes a key.
func testKeysCanceled(t *testing.T, s store.Keys) {
	ctx := context.Background()
	now := time.Now()
	// A key the canceled calls below must leave alone.
	kept := store.Key{ID: "kept", Secret: []byte("kept secret"), Created: now}
	if err := s.AddKey(ctx, "kept", kept); err != nil {
		t.Fatalf("AddKey: %v", err)
	}
	calls := []canceledCall{
		{"AddKey", func(ctx context.Context) error {
			return s.AddKey(ctx, "p", store.Key{ID: "x", Secret: []byte("s"), Created: now})
		}},
		{"AddFirstKey", func(ctx context.Context) error {
			return s.AddFirstKey(ctx, "p", store.Key{ID: "x", Secret: []byte("s"), Created: now})
		}},
		{"RotateKey", func(ctx context.Context) error {
			return s.RotateKey(ctx, "kept", store.Key{ID: "x", Secret: []byte("s"), Created: now}, now.Add(time.Hour))
		}},
		{"ReplaceKeySecret", func(ctx context.Context) error {
			return s.ReplaceKeySecret(ctx, "kept", "kept", kept.Secret, []byte("changed"))
		}},
		{"Keys", func(ctx context.Context) error { _, err := s.Keys(ctx, "kept"); return err }},
		{"DeleteKey", func(ctx context.Context) error { return s.DeleteKey(ctx, "kept", "kept") }},
	}
	if c, ok := s.(store.Clock); ok {
		calls = append(calls, canceledCall{"StoreTime", func(ctx context.Context) error {
			_, err := c.StoreTime(ctx)
			return err
		}})
	}
	checkCanceled(t, calls)
	checkKeys(t, s, "kept", []store.Key{kept}, "after calls with a canceled context")
	checkKeys(t, s, "p", []store.Key{}, "after AddKey and AddFirstKey with a canceled context")
}

// testDenyListCanceled checks the methods of store.DenyList with an ended
// context.
func testDenyListCanceled(t *testing.T, s store.DenyList) {
	now := time.Now()
	checkCanceled(t, []canceledCall{
		{"Deny", func(ctx context.Context) error { return s.Deny(ctx, "x", now.Add(time.Hour)) }},
		{"Denied", func(ctx context.Context) error { _, err := s.Denied(ctx, "x"); return err }},
	})
}

// testCountersCanceled checks the methods of store.Counters with an ended
// context: each fails, and none changes a counter.
func testCountersCanceled(t *testing.T, s store.Counters) {
	ctx := context.Background()
	// A counter the canceled calls below must leave alone.
	kept, expires, err := s.AddCount(ctx, "kept", 3, time.Hour)
	if err != nil {
		t.Fatalf("AddCount: %v", err)
	}
	checkCanceled(t, []canceledCall{
		{"AddCount", func(ctx context.Context) error { _, _, err := s.AddCount(ctx, "kept", 1, time.Hour); return err }},
		{"AddCount (create)", func(ctx context.Context) error {
			_, _, err := s.AddCount(ctx, "created", 1, time.Hour)
			return err
		}},
		{"Count", func(ctx context.Context) error { _, _, err := s.Count(ctx, "kept"); return err }},
		{"DeleteCount", func(ctx context.Context) error { return s.DeleteCount(ctx, "kept") }},
	})
	if n, exp, err := s.Count(ctx, "kept"); err != nil || n != kept || !sameTime(exp, expires) {
		t.Errorf("after calls with a canceled context: Count(kept) = %d expiring %v, %v; want %d expiring %v",
			n, exp, err, kept, expires)
	}
	if n, _, err := s.Count(ctx, "created"); err != nil || n != 0 {
		t.Errorf("after AddCount with a canceled context: Count(created) = %d, %v; want 0, nil", n, err)
	}
}

// testPingCanceled checks store.Pinger with an ended context.
func testPingCanceled(t *testing.T, s store.Pinger) {
	checkCanceled(t, []canceledCall{
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
	})
}

// testSessionsCanceled checks the methods of store.Sessions with an ended
// context: each fails, and none changes a record.
func testSessionsCanceled(t *testing.T, s store.Sessions) {
	now := time.Now()
	// A session the canceled calls below must leave alone.
	kept := store.Record{ID: store.HashToken("kept"), User: "canceled", Data: []byte("kept"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	kept.Version = mustSave(t, s, kept)
	created := store.Record{ID: store.HashToken("created"), User: "canceled",
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	checkCanceled(t, []canceledCall{
		{"Session", func(ctx context.Context) error { _, err := s.Session(ctx, kept.ID); return err }},
		{"SaveSession", func(ctx context.Context) error { _, err := s.SaveSession(ctx, created); return err }},
		{"DeleteSession", func(ctx context.Context) error { return s.DeleteSession(ctx, kept.ID) }},
		{"UserSessions", func(ctx context.Context) error { _, err := s.UserSessions(ctx, "canceled"); return err }},
		{"DeleteUserSessions", func(ctx context.Context) error { _, err := s.DeleteUserSessions(ctx, "canceled"); return err }},
	})
	if _, err := s.Session(context.Background(), created.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after SaveSession with a canceled context: Session err = %v, want ErrNotFound", err)
	}
	if _, err := s.Session(context.Background(), kept.ID); err != nil {
		t.Errorf("DeleteSession or DeleteUserSessions with a canceled context removed a record: %v", err)
	}
}
