package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
	"github.com/sessionkit/sessionkit/store"
)

// save stores the session's changes, if it has any, or extends its idle
// deadline when a touch is due. It is called with s.mu held: by the
// middleware once before the status line is written and once after the
// handler returns, and by Manager.Commit. ctx carries the request's values
// for logs; its cancellation does not stop a save.
func (s *Session) save(ctx context.Context) error {
	login := s.dirty && s.settingUser()
	var err error
	if s.rec.Version == 0 {
		err = s.create(ctx)
	} else {
		err = s.update(ctx)
	}
	if err == nil && login && s.rec.Version > 0 && s.state.Auth.User != "" {
		s.m.limitSessions(ctx, s.state.Auth.User, s.rec.ID)
	}
	return err
}

// create stores a session that is not stored yet, under a new token. A
// session that holds nothing is not stored (unless SaveEmpty), and neither
// is one first filled after the status line went out: its cookie could no
// longer reach the browser.
func (s *Session) create(ctx context.Context) error {
	m := s.m
	if !m.opts.SaveEmpty && (s.empty() || !s.dirty) {
		s.forgetChanges()
		return nil
	}
	if s.detached {
		if s.empty() || !s.dirty {
			return nil
		}
		return fmt.Errorf("session: save: %w", ErrDetached)
	}
	if s.headerWritten {
		if s.dirty {
			m.opts.Logger.WarnContext(ctx,
				"session values put after the response header was written; a new session cannot be sent to the browser, so they are dropped")
		}
		s.forgetChanges()
		return nil
	}
	ctx, span := scope.Start(ctx, "session.save")
	defer span.End()
	tracing.Set(span, attrNew.Bool(true))
	data := encode(nil, s.values, s.flags)
	if err := m.checkSize(len(data), 0); err != nil {
		tracing.Fail(span, saveFailure(err))
		return fmt.Errorf("session: save: %w", err)
	}
	now := m.opts.Now()
	rec := store.Record{
		Kind:      store.KindSession,
		User:      s.state.Auth.User,
		AccountID: s.state.Auth.AccountID,
		AuthTime:  s.state.Auth.Time,
		Data:      data,
		Created:   now,
		LastSeen:  now,
		Expires:   m.expires(now, now),
		UserAgent: userAgent(s.r),
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	// A conflict here means a 256-bit random token collided with a live
	// one; drawing another is the whole remedy.
	for attempt := range 3 {
		if attempt > 0 {
			m.retried()
		}
		token := newToken()
		rec.ID = store.HashToken(token)
		v, err := m.store.SaveSession(ctx, rec)
		if errors.Is(err, store.ErrConflict) {
			tracing.Event(span, eventConflict, attrAttempt.Int(attempt+1))
			continue
		}
		if err != nil {
			tracing.Fail(span, saveFailure(err))
			return fmt.Errorf("session: save: %w", err)
		}
		rec.Version = v
		s.token, s.issued, s.rec = token, true, rec
		s.forgetChanges()
		return nil
	}
	tracing.Fail(span, "conflict")
	return fmt.Errorf("session: save: new tokens keep colliding: %w", store.ErrConflict)
}

// update saves a stored session by compare-and-swap. This process's
// requests of one session write it one at a time, under its save lock, so
// they never collide in the store: each starts from its own record, or
// from the newer one this process saved last (see saveLock), applying its
// changes to it again. When another process saved first, update pauses,
// reads the newest record, applies the changes again and retries, at most
// MaxRetries times; it holds no lock meanwhile. A session that was ended
// meanwhile (logout, "log out everywhere") is not written back: s ends
// too, and update returns nil.
func (s *Session) update(ctx context.Context) error {
	m := s.m
	now := m.opts.Now()
	touch := now.Sub(s.rec.LastSeen) >= m.opts.TouchInterval
	if !s.dirty && !touch {
		return nil
	}
	ctx, span := scope.Start(ctx, "session.save")
	defer span.End()
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	err := s.swap(ctx, now)
	if err != nil {
		tracing.Fail(span, saveFailure(err))
	}
	return err
}

// swap is update's compare-and-swap loop.
func (s *Session) swap(ctx context.Context, now time.Time) error {
	m := s.m
	base, st := s.rec, s.state
	for attempt := 0; ; attempt++ {
		rec, newSt, err := s.writeFrom(ctx, base, st, now)
		if err == nil {
			s.rec, s.state = rec, newSt
			s.forgetChanges()
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("session: save: %w", err)
		}
		tracing.Event(trace.SpanFromContext(ctx), eventConflict, attrAttempt.Int(attempt+1))
		if !s.dirty {
			// Only a touch, and another request saved first, which
			// extended the idle deadline just as well.
			return nil
		}
		if attempt >= m.opts.MaxRetries {
			return fmt.Errorf("session: save: gave up after %d conflicting saves: %w", attempt+1, err)
		}
		if err := store.WaitAfterConflict(ctx, attempt); err != nil {
			return fmt.Errorf("session: save: waiting after a conflict: %w", err)
		}
		base, st, err = s.reload(ctx, base.ID, now)
		if errors.Is(err, ErrNoSession) {
			s.ended()
			return nil
		}
		if err != nil {
			return fmt.Errorf("session: save: %w", err)
		}
		m.retried()
	}
}

// writeFrom writes st, the state of base with s's changes, under the
// session's save lock: from the record this process saved last instead,
// with s's changes applied to it again, when that is a newer version. It
// returns the record stored and its state.
func (s *Session) writeFrom(ctx context.Context, base store.Record, st state, now time.Time) (store.Record, state, error) {
	m := s.m
	l := m.lockFor(base.ID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if last := l.last; last.ID == base.ID && last.Version > base.Version && m.live(last, now) {
		// Another request of this process saved since.
		var err error
		if base, st, err = s.replayOn(last); err != nil {
			return base, st, err
		}
	}
	rec, err := m.write(ctx, base, st, s.dirty, now)
	if err == nil {
		l.last = rec
	}
	return rec, st, err
}

// reload reads the newest record of the session named id and applies s's
// changes to it again. It returns an error wrapping ErrNoSession when the
// session was ended meanwhile (deleted, expired, or unreadable), and any
// other error when the store failed or an Update's function gives a value
// the Codec cannot encode.
func (s *Session) reload(ctx context.Context, id store.SessionID, now time.Time) (store.Record, state, error) {
	rec, err := s.m.store.Session(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rec, state{}, ErrNoSession
	case err != nil:
		return rec, state{}, fmt.Errorf("reloading after a conflict: %w", err)
	case !s.m.live(rec, now):
		return rec, state{}, ErrNoSession
	}
	rec, st, err := s.replayOn(rec)
	if errors.Is(err, errCorrupt) {
		return rec, state{}, fmt.Errorf("%w: %w", ErrNoSession, err)
	}
	return rec, st, err
}

// replayOn decodes rec and applies s's changes since its last save to it
// again, returning rec and the resulting state. It fails when rec's data
// cannot be decoded (errCorrupt), or an Update's function gives a value
// the Codec cannot encode.
func (s *Session) replayOn(rec store.Record) (store.Record, state, error) {
	values, flags, err := decode(rec.Data)
	if err != nil {
		return rec, state{}, err
	}
	st := stateOf(rec, values, flags)
	for _, o := range s.ops {
		if _, err := o.applyTo(&st); err != nil {
			return rec, state{}, err
		}
	}
	return rec, st, nil
}

// write stores st over base by compare-and-swap, as seen at now, and
// returns the record stored. dirty says that the values or the user
// changed, not only the idle deadline: their size is then checked
// (ErrTooLarge). It returns store.ErrConflict when base is no longer the
// stored version, and the store's error when it fails.
func (m *Manager) write(ctx context.Context, base store.Record, st state, dirty bool, now time.Time) (store.Record, error) {
	rec := base
	rec.User, rec.AccountID, rec.AuthTime = st.Auth.User, st.Auth.AccountID, st.Auth.Time
	rec.Kind = store.KindSession
	rec.Data = encode(nil, st.values, st.flags)
	if dirty {
		// A session stored before the limit was lowered may still change
		// as long as it does not grow.
		if err := m.checkSize(len(rec.Data), len(base.Data)); err != nil {
			return store.Record{}, err
		}
	}
	rec.LastSeen = now
	rec.Expires = m.expires(rec.Created, now)
	v, err := m.store.SaveSession(ctx, rec)
	if err != nil {
		return store.Record{}, err
	}
	rec.Version = v
	return rec, nil
}

// ended forgets the session's record, token, values and user: after
// Destroy, and when another request destroyed it (logout, "log out
// everywhere") while this one was running, whose changes are then dropped,
// not written back as a new session. The browser's cookie is removed.
func (s *Session) ended() {
	s.reset()
	s.state = state{values: map[string]any{}}
}
