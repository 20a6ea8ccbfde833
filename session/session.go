package session

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// Session is one request's view of a session. Its methods are safe for
// concurrent use by the goroutines of one request; a Session must not be
// kept after its request ends.
type Session struct {
	m   *Manager
	r   *http.Request
	now time.Time // when the request began; deadlines are measured from it

	mu     sync.Mutex
	token  string       // what the browser holds (or will); "" until one is needed
	rec    store.Record // as last loaded or saved; Version 0 = not stored
	values map[string]any
	user   string
	ops    []op // changes since the last save, to apply again after a conflict
	dirty  bool // values or user changed since the last save

	hadCookie     bool // the request carried a session cookie
	issued        bool // token was generated during this request
	headerWritten bool // the status line went out; the cookie is final

	w      writer // the response writer of Manager.Handler, allocated with the session
	opsBuf [2]op  // room for the first changes, allocated with the session
}

type opKind uint8

const (
	opPut opKind = iota
	opDelete
	opIncrement
	opSetUser
)

// op is one change a request made, kept so that it can be applied again to
// a newer record when a save conflicts.
type op struct {
	kind  opKind
	key   string
	value any
	delta int64
}

// From returns the session of a request that went through
// [Manager.Handler]. It panics if the request did not: that is a wiring
// mistake in the program, not something a client can cause.
func From(r *http.Request) *Session {
	s, ok := r.Context().Value(contextKey{}).(*Session)
	if !ok {
		panic("session: From called on a request that did not go through Manager.Handler")
	}
	return s
}

type contextKey struct{}

// change records o and applies it to the values.
func (s *Session) change(o op) {
	s.ops = append(s.ops, o)
	s.dirty = true
	s.apply(o)
}

// apply applies o to the values, without recording it. It returns the new
// value of an increment.
func (s *Session) apply(o op) int64 {
	return o.applyTo(s.values, &s.user)
}

// applyTo applies o to values and user. It returns the new value of an
// increment.
func (o op) applyTo(values map[string]any, user *string) int64 {
	switch o.kind {
	case opPut:
		values[o.key] = o.value
	case opDelete:
		delete(values, o.key)
	case opIncrement:
		n, _ := values[o.key].(int64)
		n += o.delta
		values[o.key] = n
		return n
	case opSetUser:
		*user = o.key
	}
	return 0
}

// Delete removes the value stored under key, if any.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.values[key]; ok {
		s.change(op{kind: opDelete, key: key})
	}
}

// Increment adds delta to the int stored under key (a missing key, or one
// holding another type, counts as 0) and returns the sum. Concurrent
// requests' increments all count: when two requests save at once, the
// later one adds its delta to the earlier one's result. The returned sum is
// what this request saw; a request racing with it may have added more.
func (s *Session) Increment(key string, delta int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := op{kind: opIncrement, key: key, delta: delta}
	s.ops = append(s.ops, o)
	s.dirty = true
	return s.apply(o)
}

// Has reports whether a value is stored under key.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.values[key]
	return ok
}

// User returns the user the session belongs to, or "" if none.
func (s *Session) User() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// SetUser makes the session belong to user ("" for nobody), which lists it
// among the user's sessions. Call Renew first when the user logs in.
func (s *Session) SetUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user != s.user {
		s.change(op{kind: opSetUser, key: user})
	}
}

// ID returns the store's name for the session (the hash of its token), and
// false when the session is not stored yet.
func (s *Session) ID() (store.SessionID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.ID, s.rec.Version > 0
}

// Renew gives the session a new token, keeping its values and user, and
// deletes the record stored under the old one: call it whenever the
// session's privilege changes (login, logout of one of several identities)
// so that a token someone planted or saw before no longer works. The new
// session's lifetime starts now. It must be called before the response's
// status line is written; it fails if the store cannot delete the old
// record, and then nothing changes.
func (s *Session) Renew(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerWritten {
		return ErrHeaderWritten
	}
	if s.rec.Version > 0 {
		if err := s.m.deleteRecord(ctx, s.rec.ID); err != nil {
			return fmt.Errorf("session: renew: %w", err)
		}
	}
	s.reset()
	s.dirty = true // stored under the new token even if nothing else changes
	return nil
}

// Destroy ends the session: its record is deleted now, its values are
// forgotten and the browser's cookie is removed. Values put afterwards start
// a new session with a new token. It fails if the store cannot delete the
// record, and then nothing changes.
func (s *Session) Destroy(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec.Version > 0 {
		if err := s.m.deleteRecord(ctx, s.rec.ID); err != nil {
			return fmt.Errorf("session: destroy: %w", err)
		}
	}
	s.reset()
	s.values = map[string]any{}
	s.user = ""
	return nil
}

// reset forgets the stored record and token, keeping values and user: the
// next save creates a new record under a new token.
func (s *Session) reset() {
	s.token = ""
	s.issued = false
	s.rec = store.Record{}
	s.forgetChanges()
}

// forgetChanges drops the recorded changes: they are saved, or not to be.
func (s *Session) forgetChanges() {
	clear(s.ops) // drop references to the values put
	s.ops, s.dirty = s.ops[:0], false
}

// empty reports whether there is nothing worth storing.
func (s *Session) empty() bool {
	return len(s.values) == 0 && s.user == ""
}
