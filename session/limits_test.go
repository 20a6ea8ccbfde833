package session_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// TestPutTooLarge: a value that would take the session past MaxDataBytes is
// refused with ErrTooLarge, the session keeps what it had, and the request
// goes on normally.
func TestPutTooLarge(t *testing.T) {
	cases := []struct {
		name    string
		limit   int
		size    int // bytes of the value put
		wantErr bool
	}{
		{"fits", 200, 100, false},
		// 11 bytes besides the value: version, count, the entry "n" (4
		// bytes), then v's key length, key, kind and value length (2).
		{"exactly the limit", 200, 200 - 11, false},
		{"one byte over", 200, 200 - 11 + 1, true},
		{"far over", 200, 10 << 10, true},
		{"default limit, 64 KiB value", 0, 64 << 10, true},
		{"default limit, 60 KiB value", 0, 60 << 10, false},
		{"no limit, 1 MiB value", -1, 1 << 20, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, session.Options{MaxDataBytes: c.limit})
			var putErr error
			token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				s.Increment("n", 1) // something stored either way
				putErr = session.Put(s, "v", strings.Repeat("x", c.size))
			}, ""))
			if c.wantErr != (putErr != nil) {
				t.Fatalf("Put of %d bytes under limit %d: %v, want error %v", c.size, c.limit, putErr, c.wantErr)
			}
			if putErr != nil && !errors.Is(putErr, session.ErrTooLarge) {
				t.Errorf("Put error %v does not wrap ErrTooLarge", putErr)
			}
			var got string
			f.serve(func(w http.ResponseWriter, r *http.Request) {
				got, _ = session.Get[string](session.From(r), "v")
			}, token)
			switch {
			case c.wantErr && got != "":
				t.Errorf("a refused value was stored (%d bytes)", len(got))
			case !c.wantErr && len(got) != c.size:
				t.Errorf("stored value has %d bytes, want %d", len(got), c.size)
			}
			if n := f.count(token); n != 1 {
				t.Errorf("the rest of the session was lost: count %d, want 1", n)
			}
		})
	}
}

// TestSaveTooLarge: changes that cannot be checked when they are made (an
// Increment of a new key) but take the session past the limit fail the
// save with ErrTooLarge, seen by the ErrorHandler; the stored record is
// the one before, untouched.
func TestSaveTooLarge(t *testing.T) {
	var handled error
	f := newFixture(t, session.Options{
		MaxDataBytes: 100,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			handled = err
			http.Error(w, "too large", http.StatusInsufficientStorage)
		},
	})
	// 1 version + 1 count + (1+1+1+1+90) = 96 bytes.
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		if err := session.Put(session.From(r), "v", strings.Repeat("x", 90)); err != nil {
			t.Errorf("Put: %v", err)
		}
	}, ""))
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Increment("a-new-counter", 1) // 16 bytes more: 112
		w.Write([]byte("handler's page"))
	}, token)
	if !errors.Is(handled, session.ErrTooLarge) {
		t.Fatalf("ErrorHandler got %v, want ErrTooLarge", handled)
	}
	if resp.StatusCode != http.StatusInsufficientStorage {
		t.Errorf("status %d, want the ErrorHandler's", resp.StatusCode)
	}
	rec, err := f.mem.Session(context.Background(), store.HashToken(token))
	if err != nil || rec.Version != 1 || len(rec.Data) != 96 {
		t.Errorf("stored record: version %d, %d bytes, %v; want version 1, 96 bytes, untouched", rec.Version, len(rec.Data), err)
	}

	// The default ErrorHandler answers 500: the program stored too much,
	// the client did nothing wrong that a retry would fix.
	f2 := newFixture(t, session.Options{MaxDataBytes: 10})
	resp = f2.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Increment("a-key-longer-than-the-limit", 1)
	}, "")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("default ErrorHandler on ErrTooLarge: %d, want 500", resp.StatusCode)
	}
}

// TestMaxSessionsPerUser logs one user in six times with a limit of three:
// the three newest sessions live, the older ones are ended, the newest
// first of all; other users' sessions, anonymous sessions and records the
// manager does not own (a refresh family, a cookie login, an application's
// own kind) are neither counted nor ended.
func TestMaxSessionsPerUser(t *testing.T) {
	for _, limit := range []int{-1, 0, 1, 3} {
		for _, kind := range []store.Kind{store.KindRefreshFamily, store.KindCookieLogin, "app-login"} {
			t.Run("limit "+strconv.Itoa(limit)+", "+string(kind), func(t *testing.T) { testMaxSessionsPerUser(t, limit, kind) })
		}
	}
}

func testMaxSessionsPerUser(t *testing.T, limit int, kind store.Kind) {
	f := newFixture(t, session.Options{MaxSessionsPerUser: limit})
	login := func(user string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			if err := s.Renew(r.Context()); err != nil {
				t.Fatal(err)
			}
			s.SetUser(user)
			s.Increment("n", 1)
		}
	}
	ctx := context.Background()
	anon := mustToken(t, f.serve(counter, ""))
	other := mustToken(t, f.serve(login("carol"), ""))
	// A record of bob's that this package did not write, older
	// than all his sessions.
	foreign := f.foreignRecord("bob", kind, "foreign")
	var tokens []string
	for range 6 {
		f.clock.Advance(time.Minute)
		tokens = append(tokens, mustToken(t, f.serve(login("bob"), "")))
	}
	live := 0
	for i, tok := range tokens {
		alive := f.count(tok) == 1
		want := limit <= 0 || i >= len(tokens)-limit
		if alive != want {
			t.Errorf("login %d of 6: alive %v, want %v", i+1, alive, want)
		}
		if alive {
			live++
		}
	}
	if f.count(other) != 1 || f.count(anon) != 1 {
		t.Error("another user's or an anonymous session was ended")
	}
	if _, err := f.mem.Session(ctx, foreign.ID); err != nil {
		t.Errorf("a record the manager does not own was deleted: %v", err)
	}
	recs, err := f.mgr.Sessions(ctx, "bob")
	if err != nil || len(recs) != live+1 {
		t.Errorf("Sessions(bob) = %d records, %v; want %d sessions and the foreign record", len(recs), err, live)
	}
}

// TestViewsDoNotEvict: only a login (setting the user) enforces the limit;
// a request that uses an existing session ends nothing.
func TestViewsDoNotEvict(t *testing.T) {
	f := newFixture(t, session.Options{MaxSessionsPerUser: 1})
	login := func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Renew(r.Context())
		s.SetUser("dana")
		s.Increment("n", 1)
	}
	a := mustToken(t, f.serve(login, ""))
	f.clock.Advance(time.Minute)
	// A second session of dana's, created without SetUser in this manager
	// (as another instance might before the limit was set).
	rec := store.Record{ID: store.HashToken("second"), User: "dana", Data: []byte{1, 0},
		Created: f.clock.Now(), LastSeen: f.clock.Now(), Expires: f.clock.Now().Add(time.Hour)}
	if _, err := f.mem.SaveSession(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	f.serve(counter, a)
	if n := f.count(a); n != 2 {
		t.Errorf("a view ended or lost the session (count %d)", n)
	}
	if _, err := f.mem.Session(context.Background(), rec.ID); err != nil {
		t.Errorf("a view evicted a session: %v", err)
	}
}

// TestLoweredLimit: a session stored before the limit was lowered still
// loads and may change as long as it does not grow; Put refuses only what
// makes it larger.
func TestLoweredLimit(t *testing.T) {
	f := newFixture(t, session.Options{MaxDataBytes: -1})
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Increment("n", 1)
		session.Put(s, "big", strings.Repeat("x", 300))
	}, ""))
	f.mgr = mustNew(t, f.store, session.Options{MaxDataBytes: 100, Now: f.clock.Now})

	var grow, shrink error
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Increment("n", 1) // same size
		grow = session.Put(s, "big", strings.Repeat("x", 301))
		shrink = session.Put(s, "big", strings.Repeat("x", 250))
	}, token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a request on a session over the lowered limit answered %d", resp.StatusCode)
	}
	if !errors.Is(grow, session.ErrTooLarge) || shrink != nil {
		t.Errorf("Put that grows: %v (want ErrTooLarge); Put that shrinks: %v (want nil)", grow, shrink)
	}
	if n := f.count(token); n != 2 {
		t.Errorf("count %d, want 2: the change was not saved", n)
	}
}
