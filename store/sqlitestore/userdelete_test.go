package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// TestDeleteUserSessionsInBatches ends every login of a user with 2,500
// of them (and a few expired records) and checks that, between its
// batches, other writers get in: a save of another user on the same store
// (which has one writer connection) and one through a second handle on the
// file, as another process would make (which needs SQLite's write lock).
// Either would wait for the whole deletion if it were one transaction; each
// has a deadline, so a deletion that holds the lock fails the test instead
// of hanging it. Between batches it also creates a batch of new logins for
// the user being ended: they may be ended or not, but must not keep the
// deletion going.
func TestDeleteUserSessionsInBatches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	now := time.Now()
	save := func(s *Store, ctx context.Context, token, user, data string, expires time.Time) error {
		_, err := s.SaveSession(ctx, store.Record{ID: store.HashToken(token), User: user, Data: []byte(data),
			Created: now, LastSeen: now, Expires: expires, UserAgent: "test"})
		return err
	}
	const live, expired, bobs = 2500, 3, 10
	users := []string{"alice", "Alice", "ALICE"} // one user, however spelled
	for i := range live {
		if err := save(s, ctx, fmt.Sprintf("alice-%d", i), users[i%len(users)], "original", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range expired {
		if err := save(s, ctx, fmt.Sprintf("alice-expired-%d", i), "alice", "original", now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range bobs {
		if err := save(s, ctx, fmt.Sprintf("bob-%d", i), "bob", "bob", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	originals := func() int {
		t.Helper()
		var n int
		if err := s.db.QueryRowContext(ctx,
			`SELECT count(*) FROM sessions WHERE user = 'alice' AND data = CAST('original' AS BLOB)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	calls, bobSaves, added := 0, 0, 0
	testHookUserDeleteBatch = func() {
		calls++
		// The batches before this point are committed: others see them.
		if n := originals(); n <= 0 || n >= live+expired {
			t.Errorf("between batches, %d of alice's %d records remain; want some gone and some left", n, live+expired)
		}
		// Another user's login, on the store's writer connection and
		// through another handle, each while the deletion is under way.
		for _, h := range []*Store{s, other} {
			done := make(chan error, 1)
			go func() {
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				done <- save(h, wctx, fmt.Sprintf("bob-during-%d", bobSaves), "bob", "bob", now.Add(time.Hour))
			}()
			if err := <-done; err != nil {
				t.Errorf("a save of another user between batches: %v", err)
			}
			bobSaves++
		}
		// New logins of alice, a batch of them each time, for a while.
		if calls > 20 {
			t.Errorf("DeleteUserSessions went on for %d batches: the logins created meanwhile keep it going", calls)
			return
		}
		for range userDeleteBatch {
			if err := save(other, ctx, fmt.Sprintf("alice-new-%d", added), "alice", "new", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			added++
		}
	}
	defer func() { testHookUserDeleteBatch = nil }()

	n, err := s.DeleteUserSessions(ctx, "aLiCe")
	if err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	if calls == 0 {
		t.Fatal("DeleteUserSessions ended 2,503 records in one batch")
	}
	t.Logf("%d batches; %d saves of another user and %d new logins of alice between them", calls+1, bobSaves, added)

	// Every record alice had when it began is gone, the expired ones too;
	// only live records are counted, new ones included if they were ended.
	if left := originals(); left != 0 {
		t.Errorf("%d of alice's records are left after DeleteUserSessions", left)
	}
	listed, err := s.UserSessions(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range listed {
		if string(r.Data) != "new" {
			t.Errorf("UserSessions lists a record of alice's from before the deletion: %x", r.ID)
		}
	}
	if endedNew := added - len(listed); n != live+endedNew {
		t.Errorf("DeleteUserSessions = %d; want %d live records from before it and the %d of its %d new ones it ended",
			n, live, endedNew, added)
	}
	for i := range live {
		if _, err := s.Session(ctx, store.HashToken(fmt.Sprintf("alice-%d", i))); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alice-%d after DeleteUserSessions: %v, want ErrNotFound", i, err)
		}
	}
	// Bob lost nothing, and kept what he saved meanwhile.
	bob, err := s.UserSessions(ctx, "bob")
	if err != nil || len(bob) != bobs+bobSaves {
		t.Errorf("bob has %d records, %v; want %d", len(bob), err, bobs+bobSaves)
	}
}
