package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/sessionkit/sessionkit/store"
)

// Load returns the session whose cookie carries token, for code that runs
// outside the request that brought it: a WebSocket's read loop, a
// background job acting for the browser. Get it from [Session.Token] while
// the request runs. It returns an error wrapping [ErrNoSession] when token
// names no live session (malformed, unknown, expired or ended), and any
// other error when the store failed or timed out.
//
// The session works as one in a handler, and [Manager.Commit] saves its
// changes with the same compare-and-swap: a concurrent request's changes
// and these are both kept. Since no response can carry a cookie, [Session.Renew]
// fails with [ErrDetached], and so does storing a session that Destroy
// ended. A loaded Session is not refreshed by itself: load it again for the
// newest values.
func (m *Manager) Load(ctx context.Context, token string) (*Session, error) {
	now := m.opts.Now()
	rec, st, err := m.find(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if err := m.checkAuth(ctx, rec, st.Auth); err != nil {
		return nil, err
	}
	s := &Session{
		m: m, ctx: ctx, now: now, token: token, rec: rec, state: st,
		hadCookie: true, headerWritten: true, detached: true,
	}
	s.ops = s.opsBuf[:0]
	return s, nil
}

// Commit saves the changes made to s now, by compare-and-swap, applying
// them again to the newest record when another request saved first, as the
// middleware does when a handler's response goes out. It is how a session
// from [Manager.Load] is saved; in a handler, the middleware commits by
// itself, and calling Commit only saves earlier (for example before a long
// stream begins).
//
// It returns an error wrapping [ErrNoSession] when the session was ended
// meanwhile (logout, [Manager.DestroyAll]): its changes are dropped, never
// written back as a new session. Any other error means the store failed or
// timed out, or the session grew past Options.MaxDataBytes ([ErrTooLarge]),
// and nothing was saved; the changes are kept for a later Commit.
func (m *Manager) Commit(ctx context.Context, s *Session) error {
	if s.m != m {
		return fmt.Errorf("%w: the session belongs to another Manager", ErrOptions)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wasStored := s.rec.Version > 0
	if err := s.save(ctx); err != nil {
		return err
	}
	if wasStored && s.rec.Version == 0 {
		return fmt.Errorf("%w: it ended while this change was made", ErrNoSession)
	}
	return nil
}

// DestroySession ends the session named id if it belongs to user: the way
// to act on a "where you are logged in" page, whose ids come from
// [Manager.Sessions] (store.ParseSessionID reads one back from a form).
// Requests carrying its cookie find no session from then on. It returns an
// error wrapping [ErrNoSession] when no live session of this package has
// that id and user, so a user cannot end someone else's session by
// guessing ids, and any other error when the store failed.
func (m *Manager) DestroySession(ctx context.Context, user string, id store.SessionID) error {
	rctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	rec, err := m.store.Session(rctx, id)
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNoSession
	case err != nil:
		return fmt.Errorf("session: destroying a session: %w", err)
	}
	if user == "" || store.FoldName(rec.User) != store.FoldName(user) {
		return ErrNoSession
	}
	if !isSession(rec) {
		return fmt.Errorf("%w: not a session of this package", ErrNoSession)
	}
	if err := m.deleteRecord(ctx, id); err != nil {
		return fmt.Errorf("session: destroying a session: %w", err)
	}
	return nil
}
