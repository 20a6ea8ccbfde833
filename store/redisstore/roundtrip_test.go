package redisstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/store"
)

// TestRoundTrips counts what each call sends: reading a session must be one
// command, and updating one (a view) one round trip, the index update
// riding in the same pipeline as the compare-and-swap. A save that gives a
// record an owner writes the owner's index entry first: two round trips.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	rec := &recorder{}
	c.AddHook(rec)
	// Load every script first, as a running server has: the first use of
	// a script on a server costs a second round trip (EVALSHA, then EVAL).
	for name, sc := range scripts {
		if err := sc.Load(ctx, c).Err(); err != nil {
			t.Fatalf("loading %s: %v", name, err)
		}
	}

	now := time.Now()
	record := func(token, user string) store.Record {
		return store.Record{ID: store.HashToken(token), User: user, Data: []byte(token),
			Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	}
	owned, anon, moved := record("owned", "Alice"), record("anon", ""), record("moved", "alice")
	for _, r := range []*store.Record{&owned, &anon, &moved} {
		v, err := s.SaveSession(ctx, *r)
		if err != nil {
			t.Fatal(err)
		}
		r.Version = v
	}
	rec.take()

	cases := []struct {
		name  string
		trips int
		call  func() error
	}{
		{"Session", 1, func() error { _, err := s.Session(ctx, owned.ID); return err }},
		{"Session of a missing record", 1, func() error {
			_, err := s.Session(ctx, store.HashToken("missing"))
			if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("err = %v, want ErrNotFound", err)
			}
			return nil
		}},
		// Documented exceptions: a save that gives the record an owner
		// writes the index entry first.
		{"SaveSession creating an owned record", 2, func() error {
			_, err := s.SaveSession(ctx, record("new-owned", "bob"))
			return err
		}},
		{"SaveSession creating an anonymous record", 1, func() error {
			_, err := s.SaveSession(ctx, record("new-anon", ""))
			return err
		}},
		{"SaveSession updating an owned record", 1, func() error {
			v, err := s.SaveSession(ctx, owned)
			owned.Version = v
			return err
		}},
		{"SaveSession updating an anonymous record", 1, func() error {
			v, err := s.SaveSession(ctx, anon)
			anon.Version = v
			return err
		}},
		{"SaveSession logging an anonymous record in", 2, func() error {
			anon.User = "carol"
			v, err := s.SaveSession(ctx, anon)
			anon.Version = v
			return err
		}},
		{"SaveSession that conflicts", 1, func() error {
			stale := owned
			stale.Version--
			if _, err := s.SaveSession(ctx, stale); !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("err = %v, want ErrConflict", err)
			}
			return nil
		}},
		// And moving a record between users removes the old owner's entry
		// next.
		{"SaveSession moving a record to another user", 3, func() error {
			moved.User = "dave"
			v, err := s.SaveSession(ctx, moved)
			moved.Version = v
			return err
		}},
		{"UserSessions", 2, func() error {
			list, err := s.UserSessions(ctx, "alice")
			if err == nil && len(list) != 1 {
				err = fmt.Errorf("%d records, want 1", len(list))
			}
			return err
		}},
		{"DeleteSession of an owned record", 2, func() error { return s.DeleteSession(ctx, owned.ID) }},
		{"DeleteSession of an anonymous record", 1, func() error {
			return s.DeleteSession(ctx, store.HashToken("new-anon"))
		}},
		{"Deny", 1, func() error { return s.Deny(ctx, "jti", now.Add(time.Hour)) }},
		{"Denied", 1, func() error { _, err := s.Denied(ctx, "jti"); return err }},
		{"CreateUser", 1, func() error {
			return s.CreateUser(ctx, store.User{ID: "id-erin", Name: "Erin", PasswordHash: "h", Created: now, Updated: now})
		}},
		{"User", 1, func() error { _, err := s.User(ctx, "erin"); return err }},
		{"SetPasswordHash", 1, func() error { return s.SetPasswordHash(ctx, "ERIN", "h2", now) }},
		{"AddKey", 1, func() error { return s.AddKey(ctx, "p", store.Key{ID: "k", Secret: []byte("s"), Created: now}) }},
		{"Keys", 1, func() error { _, err := s.Keys(ctx, "p"); return err }},
		{"AddFirstKey", 1, func() error {
			return s.AddFirstKey(ctx, "first", store.Key{ID: "k", Secret: []byte("s"), Created: now})
		}},
		{"AddFirstKey on a purpose with a key", 1, func() error {
			err := s.AddFirstKey(ctx, "first", store.Key{ID: "k2", Secret: []byte("s"), Created: now})
			if !errors.Is(err, store.ErrExists) {
				return fmt.Errorf("err = %v, want ErrExists", err)
			}
			return nil
		}},
		{"RotateKey", 1, func() error {
			return s.RotateKey(ctx, "p", store.Key{ID: "k2", Secret: []byte("s2"), Created: now}, now.Add(time.Hour))
		}},
		{"ReplaceKeySecret", 1, func() error { return s.ReplaceKeySecret(ctx, "p", "k2", []byte("s2"), []byte("t2")) }},
		{"DeleteKey", 1, func() error { return s.DeleteKey(ctx, "p", "k2") }},
		{"StoreTime", 1, func() error { _, err := s.StoreTime(ctx); return err }},
		{"Ping", 1, func() error { return s.Ping(ctx) }},
		{"AddCount creating a counter", 1, func() error { _, _, err := s.AddCount(ctx, "c", 2, time.Hour); return err }},
		{"AddCount", 1, func() error { _, _, err := s.AddCount(ctx, "c", 1, time.Hour); return err }},
		{"AddCount removing a counter", 1, func() error { _, _, err := s.AddCount(ctx, "c", -3, time.Hour); return err }},
		{"Count", 1, func() error { _, _, err := s.Count(ctx, "c"); return err }},
		{"DeleteCount", 1, func() error { return s.DeleteCount(ctx, "c") }},
		{"ListUsers", 1, func() error { _, err := s.ListUsers(ctx); return err }},
	}
	for _, c := range cases {
		if err := c.call(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got := rec.take(); len(got) != c.trips {
			t.Errorf("%s took %d round trips, want %d: %v", c.name, len(got), c.trips, got)
		}
	}
}

// TestRunFallsBackToEval checks that scripts the server does not know yet
// are sent again in full, in a pipeline too.
func TestRunFallsBackToEval(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	rec := &recorder{}
	c.AddHook(rec)
	// Scripts no server has seen: their source is new.
	unique := s.prefix // a fresh random prefix
	a := redis.NewScript(fmt.Sprintf("return 'a' -- %s", unique))
	b := redis.NewScript(fmt.Sprintf("return 'b' -- %s", unique))
	cmds, err := s.run(ctx, call{a, []string{s.prefix + "x"}, nil}, call{b, []string{s.prefix + "y"}, nil})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := [2]any{cmds[0].Val(), cmds[1].Val()}; got != [2]any{"a", "b"} {
		t.Errorf("run returned %v, want [a b]", got)
	}
	if trips := rec.take(); len(trips) != 2 {
		t.Errorf("unknown scripts took %d round trips, want 2 (EVALSHA, then EVAL): %v", len(trips), trips)
	}
	// Now the server knows them.
	if _, err := s.run(ctx, call{a, []string{s.prefix + "x"}, nil}, call{b, []string{s.prefix + "y"}, nil}); err != nil {
		t.Fatal(err)
	}
	if trips := rec.take(); len(trips) != 1 {
		t.Errorf("known scripts took %d round trips, want 1", len(trips))
	}
}
