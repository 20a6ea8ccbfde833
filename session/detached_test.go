package session_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// FromContext finds the session in the request's context, and in contexts
// derived from it, as code below the handler sees them.
func TestFromContext(t *testing.T) {
	f := newFixture(t, session.Options{})
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		s, ok := session.FromContext(ctx)
		if !ok || s != session.From(r) {
			t.Errorf("FromContext = %p, %v; want the request's session %p", s, ok, session.From(r))
		}
	}, "")
	if s, ok := session.FromContext(context.Background()); ok || s != nil {
		t.Errorf("FromContext of a bare context = %v, %v", s, ok)
	}
}

// A session loaded by its token outside any request (a WebSocket loop, a
// job) reads and saves like one in a handler, conflict-safe.
func TestLoadAndCommitOutsideARequest(t *testing.T) {
	f := newFixture(t, session.Options{})
	var token string
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.SetUser("alice")
		s.Increment("n", 1)
		if s.Token() != "" {
			t.Error("Token of a session not stored yet is not empty")
		}
	}, "")
	token = mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Renew(r.Context())
		s.SetUser("alice")
	}, ""))
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		if got := session.From(r).Token(); got != token {
			t.Errorf("Token = %q, want the cookie's", got)
		}
	}, token)

	ctx := context.Background()
	s, err := f.mgr.Load(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if s.User() != "alice" {
		t.Errorf("loaded user %q", s.User())
	}
	s.Increment("n", 5)
	f.serve(counter, token) // a request saves in between
	if err := f.mgr.Commit(ctx, s); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if n := f.count(token); n != 6 {
		t.Errorf("count = %d, want 6 (5 from the job, 1 from the request)", n)
	}
	if err := s.Renew(ctx); !errors.Is(err, session.ErrDetached) {
		t.Errorf("Renew outside a request = %v, want ErrDetached", err)
	}
}

func TestLoadRefusesWhatIsNotASession(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	f.serve(func(w http.ResponseWriter, r *http.Request) { session.From(r).Destroy(r.Context()) }, token)
	for name, tok := range map[string]string{
		"ended":     token,
		"malformed": "not-a-token",
		"unknown":   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		if s, err := f.mgr.Load(context.Background(), tok); !errors.Is(err, session.ErrNoSession) || s != nil {
			t.Errorf("%s: Load = %v, %v; want ErrNoSession", name, s, err)
		}
	}
	f.store.down.Store(true)
	if _, err := f.mgr.Load(context.Background(), token); err == nil || errors.Is(err, session.ErrNoSession) {
		t.Errorf("Load with the store down = %v; want a store error, not ErrNoSession", err)
	}
}

// A session ended while a job held it is not written back.
func TestCommitAfterLogout(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	s, err := f.mgr.Load(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	f.serve(func(w http.ResponseWriter, r *http.Request) { session.From(r).Destroy(r.Context()) }, token)
	s.Increment("n", 1)
	if err := f.mgr.Commit(context.Background(), s); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Commit of an ended session = %v, want ErrNoSession", err)
	}
	if _, err := f.mgr.Load(context.Background(), token); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("the ended session came back: Load = %v", err)
	}
}

// DestroySession ends one listed session of a user, and only a session of
// that user.
func TestDestroySession(t *testing.T) {
	f := newFixture(t, session.Options{})
	login := func(user string) string {
		return mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
			session.From(r).SetUser(user)
		}, ""))
	}
	phone, laptop, mallory := login("alice"), login("alice"), login("mallory")
	ctx := context.Background()
	list, err := f.mgr.Sessions(ctx, "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %d, %v; want 2", len(list), err)
	}
	phoneID := store.HashToken(phone)
	if err := f.mgr.DestroySession(ctx, "mallory", phoneID); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("mallory ending alice's session = %v, want ErrNoSession", err)
	}
	id, err := store.ParseSessionID(phoneID.String())
	if err != nil || id != phoneID {
		t.Fatalf("ParseSessionID(String()) = %v, %v", id, err)
	}
	if err := f.mgr.DestroySession(ctx, "ALICE", id); err != nil {
		t.Fatalf("DestroySession: %v", err)
	}
	if err := f.mgr.DestroySession(ctx, "alice", id); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("ending it again = %v, want ErrNoSession", err)
	}
	wantCookieRemoved(t, f.serve(reader, phone), "the ended session")
	for name, tok := range map[string]string{"laptop": laptop, "mallory": mallory} {
		if _, err := f.mgr.Load(ctx, tok); err != nil {
			t.Errorf("%s's session ended too: %v", name, err)
		}
	}
}
