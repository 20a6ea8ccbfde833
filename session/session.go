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
	r   *http.Request   // nil for a session from Manager.Load
	ctx context.Context // the request's, or Load's: for logs
	now time.Time       // when the request began; deadlines are measured from it

	mu    sync.Mutex
	token string       // what the browser holds (or will); "" until one is needed
	rec   store.Record // as last loaded or saved; Version 0 = not stored
	state              // values, user and flags, with this request's changes
	ops   []op         // changes since the last save, to apply again after a conflict
	dirty bool         // values or user changed since the last save

	hadCookie     bool // the request carried a session cookie
	issued        bool // token was generated during this request
	reissue       bool // the cookie must be sent again (its persistence changed)
	headerWritten bool // the status line went out; the cookie is final
	detached      bool // loaded by Manager.Load, outside any request: no cookie can be sent

	w      writer // the response writer of Manager.Handler, allocated with the session
	opsBuf [2]op  // room for the first changes, allocated with the session
}

type opKind uint8

const (
	opPut opKind = iota
	opDelete
	opIncrement
	opSetUser
	opUpdate
	opClear
	opPersist
)

// op is one change a request made, kept so that it can be applied again to
// a newer record when a save conflicts.
type op struct {
	kind   opKind
	key    string
	value  any
	delta  int64
	flags  byte
	update func(old any) (any, error) // opUpdate: the new value from the old
}

// From returns the session of a request that went through
// [Manager.Handler]. It panics if the request did not: that is a wiring
// mistake in the program, not something a client can cause. Code that
// only has the request's context uses [FromContext].
func From(r *http.Request) *Session {
	s, ok := FromContext(r.Context())
	if !ok {
		panic("session: From called on a request that did not go through Manager.Handler")
	}
	return s
}

// FromContext returns the session of the request whose context (or a
// context derived from it) ctx is, and false when ctx carries none: the
// request did not go through [Manager.Handler].
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(contextKey{}).(*Session)
	return s, ok
}

type contextKey struct{}

// state is what a session holds and a record stores.
type state struct {
	values map[string]any
	Auth        // whose session it is, kept in the record's User, AccountID and AuthTime
	flags  byte // the cookie's persistence, as SetRememberMe chose (codec.go)
}

// stateOf is the state a stored record holds, with its decoded values and
// flags.
func stateOf(rec store.Record, values map[string]any, flags byte) state {
	return state{values: values, Auth: Auth{User: rec.User, AccountID: rec.AccountID, Time: rec.AuthTime}, flags: flags}
}

// Auth says whom a session belongs to: the user, the ID of their account,
// and when they last proved who they are. The store keeps it in the
// record's User, AccountID and AuthTime.
type Auth struct {
	User      string    // the account's name; "" for a session that belongs to nobody
	AccountID string    // the account's ID (store.User.ID), for Options.CheckAuth
	Time      time.Time // when the user last proved who they are: the login's auth_time
}

// Age is how long ago, at now, the user proved who they are; a session of
// nobody, or with no Time, is infinitely old.
func (a Auth) Age(now time.Time) time.Duration {
	if a.User == "" || a.Time.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return now.Sub(a.Time)
}

// change records o and applies it to the values. The caller has checked
// that o applies without error.
func (s *Session) change(o op) {
	s.ops = append(s.ops, o)
	s.dirty = true
	_, _ = o.applyTo(&s.state)
}

// applyTo applies o to st. It returns the new value of an increment, and
// fails only when an update's function gives a value that cannot be
// encoded.
func (o op) applyTo(st *state) (int64, error) {
	switch o.kind {
	case opPut:
		st.values[o.key] = o.value
	case opDelete:
		delete(st.values, o.key)
	case opIncrement:
		n, _ := st.values[o.key].(int64)
		n += o.delta
		st.values[o.key] = n
		return n, nil
	case opSetUser:
		st.Auth = o.value.(Auth)
	case opUpdate:
		v, err := o.update(st.values[o.key])
		if err != nil {
			return 0, fmt.Errorf("session: update %q: %w", o.key, err)
		}
		st.values[o.key] = v
	case opClear:
		clear(st.values)
	case opPersist:
		st.flags = o.flags
	}
	return 0, nil
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
	n, _ := o.applyTo(&s.state)
	return n
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
	return s.state.Auth.User
}

// SetUser makes the session belong to user ("" for nobody), which lists it
// among the user's sessions, with an auth time of now and no account ID.
// Setting the user it already has changes nothing. Call Renew first when
// the user logs in; use SetAuth to record the account ID and the time the
// user proved who they are.
func (s *Session) SetUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user != s.state.Auth.User {
		a := Auth{User: user}
		if user != "" {
			a.Time = s.m.opts.Now()
		}
		s.change(op{kind: opSetUser, value: a})
	}
}

// Auth returns whom the session belongs to and since when they proved it.
func (s *Session) Auth() Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Auth
}

// SetAuth makes the session belong to a.User, recording a.AccountID and
// a.Time (zero means now): at login, after the password (or another proof)
// was checked, and again at re-authentication, which moves a.Time forward
// for RequireRecentAuth. Call Renew first: a new proof is a privilege
// change. Setting a.User to "" makes the session belong to nobody.
func (s *Session) SetAuth(a Auth) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case a.User == "":
		a = Auth{}
	case a.Time.IsZero():
		a.Time = s.m.opts.Now()
	}
	if a != s.state.Auth {
		s.change(op{kind: opSetUser, value: a})
	}
}

// SetRememberMe chooses, for this session, whether its cookie outlives the
// browser: true gives it a Max-Age (the session's remaining Lifetime), false
// makes it a browser-session cookie that the browser drops when it closes.
// Without a call, Options.BrowserSession decides. Call it at login, from
// the login form's "remember me" box; the choice is stored with the
// session, so a later Renew keeps it. Either way the server still ends the
// session at its idle timeout and lifetime. When the cookie was already
// sent, it is sent again with the new choice, which needs the status line
// not to have gone out yet.
func (s *Session) SetRememberMe(remember bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	flags := flagPersistChosen
	if remember {
		flags |= flagPersist
	}
	if flags != s.flags {
		s.change(op{kind: opPersist, flags: flags})
		s.reissue = true
	}
}

// Token returns the token the session's cookie carries, or "" when the
// session is not stored (yet). It is a credential, like a password: pass it
// only to [Manager.Load] (a WebSocket's read loop, a background job acting
// for the browser), never to a log or another party.
func (s *Session) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec.Version == 0 {
		return ""
	}
	return s.token
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
	if s.detached {
		return ErrDetached
	}
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
	s.ended()
	return nil
}

// reset forgets the stored record and token, keeping values and user: the
// next save creates a new record under a new token.
func (s *Session) reset() {
	s.token = ""
	s.issued, s.reissue = false, false
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
	return len(s.values) == 0 && s.state.Auth.User == ""
}
