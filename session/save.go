package session

import (
	"context"
	"errors"
	"fmt"

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

// update saves a stored session by compare-and-swap. When another request
// saved first, it reloads the newest record, applies this request's changes
// to it again and retries, after a short random pause, at most MaxRetries
// times. Saves of one session that arrive while another is in progress are
// combined into one (see combine.go).
func (s *Session) update(ctx context.Context) error {
	m := s.m
	now := m.opts.Now()
	touch := now.Sub(s.rec.LastSeen) >= m.opts.TouchInterval
	if !s.dirty && !touch {
		return nil
	}
	ctx, span := scope.Start(ctx, "session.save")
	defer span.End()
	err := m.lockFor(s.rec.ID).save(ctx, m, s, now)
	if err != nil {
		tracing.Fail(span, saveFailure(err))
	}
	return err
}

// ended forgets the session's record, token, values and user: after
// Destroy, and when another request destroyed it (logout, "log out
// everywhere") while this one was running, whose changes are then dropped,
// not written back as a new session. The browser's cookie is removed.
func (s *Session) ended() {
	s.reset()
	s.state = state{values: map[string]any{}}
}
