package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
	"github.com/sessionkit/sessionkit/store/storetest"
)

func open(t *testing.T) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
}

// TestCountersClocked checks counters' expiries exactly, by a clock the
// test moves (Options.Now).
func TestCountersClocked(t *testing.T) {
	storetest.RunCountersClocked(t, func(t *testing.T, now func() time.Time) store.Counters {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlitestore.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestReopen is the reason the store exists: what it holds survives closing
// the database and opening it again, and the file is private to its owner.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.CreateUser(ctx, store.User{Name: "alice", PasswordHash: "h", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey(ctx, "cookie", store.Key{ID: "k", Secret: []byte("secret"), Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Deny(ctx, "gone", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	session := store.Record{ID: store.HashToken("token"), User: "alice", Data: []byte("data"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "curl"}
	if _, err := s.SaveSession(ctx, session); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("database file mode = %v, want -rw-------", mode)
	}

	s, err = sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.User(ctx, "ALICE"); err != nil {
		t.Errorf("account lost on reopen: %v", err)
	}
	keys, err := s.Keys(ctx, "cookie")
	if err != nil || len(keys) != 1 || string(keys[0].Secret) != "secret" {
		t.Errorf("keys after reopen = %v, %v", keys, err)
	}
	if ok, err := s.Denied(ctx, "gone"); err != nil || !ok {
		t.Errorf("deny-list entry lost on reopen: %v, %v", ok, err)
	}
	if r, err := s.Session(ctx, session.ID); err != nil || string(r.Data) != "data" || r.Version != 1 {
		t.Errorf("session after reopen = %q at version %d, %v; want %q at version 1", r.Data, r.Version, err, "data")
	}
}

// TestConcurrentSavesReopen has many goroutines create records and then
// update them, all at once, as the requests of many users do (their saves
// share transactions), and checks that every save was made and survives
// closing and reopening the database; a save after Close fails.
func TestConcurrentSavesReopen(t *testing.T) {
	const n = 100
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "saves.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	record := func(i int) store.Record {
		return store.Record{ID: store.HashToken(fmt.Sprint("token-", i)), User: fmt.Sprint("user-", i),
			Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	}
	for _, version := range []uint64{0, 1} { // create, then update
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				r := record(i)
				r.Version = version
				r.Data = []byte(fmt.Sprintf("%d at %d", i, version))
				var v uint64
				v, errs[i] = s.SaveSession(ctx, r)
				if errs[i] == nil && v != version+1 {
					errs[i] = fmt.Errorf("SaveSession of version %d returned version %d", version, v)
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("saving record %d at version %d: %v", i, version, err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSession(ctx, record(n)); err == nil {
		t.Error("SaveSession after Close succeeded")
	}

	s = mustOpen(t, path)
	for i := range n {
		r, err := s.Session(ctx, record(i).ID)
		if want := fmt.Sprintf("%d at 1", i); err != nil || string(r.Data) != want || r.Version != 2 {
			t.Errorf("record %d after reopening: %q at version %d, %v; want %q at version 2", i, r.Data, r.Version, err, want)
		}
	}
}

func TestOpenRejectsNonDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not.db")
	if err := os.WriteFile(path, []byte("this is not a SQLite database, just some text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{}); err == nil {
		s.Close()
		t.Fatal("Open of a text file succeeded")
	}
}

// TestTwoHandles opens the same file twice, as two server processes on one
// machine would, and writes from both at once.
func TestTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := mustOpen(t, path)
	b := mustOpen(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		for _, s := range []*sqlitestore.Store{a, b} {
			wg.Go(func() {
				now := time.Now()
				if err := s.Deny(ctx, fmt.Sprintf("id-%d", i), now.Add(time.Hour)); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Deny from two handles: %v", err)
	}
	for i := range 50 {
		if ok, err := a.Denied(ctx, fmt.Sprintf("id-%d", i)); err != nil || !ok {
			t.Fatalf("id-%d not denied after concurrent writes: %v %v", i, ok, err)
		}
	}
}

func mustOpen(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSavePages: a save that keeps the session's owner, creation time and
// user agent (every request's save) commits two pages to the WAL, the
// row's and the expiry index's, not the index of users too; one that
// changes the owner still saves the owner.
func TestSavePages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pages.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	r := store.Record{ID: store.HashToken("token"), User: "alice", Data: []byte("count=1"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "curl"}
	save := func() {
		t.Helper()
		v, err := s.SaveSession(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		r.Version = v
	}
	walSize := func() int64 {
		t.Helper()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	save()
	before := walSize()
	const n = 20
	for range n {
		r.LastSeen = r.LastSeen.Add(time.Second)
		r.Expires = r.Expires.Add(time.Second)
		save()
	}
	const frame = 24 + 4096 // a WAL frame: header and page
	if got := (walSize() - before) / n; got != 2*frame {
		t.Errorf("a save wrote %d bytes to the WAL, want %d (two pages)", got, 2*frame)
	}

	r.User = "bob"
	save()
	if recs, err := s.UserSessions(ctx, "bob"); err != nil || len(recs) != 1 || recs[0].Version != r.Version {
		t.Errorf("after a save that changed the owner, bob's sessions are %+v, %v", recs, err)
	}
	if recs, err := s.UserSessions(ctx, "alice"); err != nil || len(recs) != 0 {
		t.Errorf("after a save that changed the owner, alice's sessions are %+v, %v", recs, err)
	}
}

// TestKeysTwoHandles opens the same file twice, as two server processes on
// one machine starting at once would, and races AddFirstKey and then
// RotateKey from both, round after round: exactly one first key is added,
// and the rotations retire every key but the newest.
func TestKeysTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	handles := []*sqlitestore.Store{mustOpen(t, path), mustOpen(t, path)}
	const n = 8 // goroutines per round, half on each handle
	now := time.Now()
	for round := range 10 {
		purpose := fmt.Sprintf("race-%d", round)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = handles[i%2].AddFirstKey(ctx, purpose, store.Key{ID: fmt.Sprintf("k%d", i), Secret: []byte("s"), Created: now})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrExists):
				t.Errorf("round %d, goroutine %d: AddFirstKey: %v", round, i, err)
			}
		}
		if keys, err := handles[0].Keys(ctx, purpose); won != 1 || err != nil || len(keys) != 1 {
			t.Fatalf("round %d: %d AddFirstKey calls succeeded and the purpose has %d keys (%v), want 1 and 1", round, won, len(keys), err)
		}

		start = make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = handles[i%2].RotateKey(ctx, purpose,
					store.Key{ID: fmt.Sprintf("r%d", i), Secret: []byte("s"), Created: now}, now.Add(time.Hour))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, goroutine %d: RotateKey: %v", round, i, err)
			}
		}
		keys, err := handles[1].Keys(ctx, purpose)
		if err != nil || len(keys) != 1+n {
			t.Fatalf("round %d: after the rotations Keys = %d keys, %v; want %d", round, len(keys), err, 1+n)
		}
		for i, k := range keys {
			if last := i == len(keys)-1; k.Retires.IsZero() != last {
				t.Errorf("round %d: key %d of %d (%s) retires at %v", round, i+1, len(keys), k.ID, k.Retires)
			}
		}
	}
}

// TestStoreTime checks that the store's clock is Options.Now when it is
// set, and the machine's otherwise.
func TestStoreTime(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "clock.db"), sqlitestore.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.StoreTime(ctx); err != nil || !got.Equal(at) {
		t.Errorf("StoreTime with Options.Now = %v, %v; want %v", got, err, at)
	}
	before := time.Now()
	got, err := open(t).StoreTime(ctx)
	if err != nil || got.Before(before) || got.After(time.Now()) {
		t.Errorf("StoreTime = %v, %v; want the machine's time, between %v and now", got, err, before)
	}
}
