package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
	"github.com/sessionkit/sessionkit/store"
)

// Saves of one session are combined. One request at a time saves the
// sessions of a save lock (it holds the lock's mutex); a save that arrives
// meanwhile is put in the lock's queue before it waits for the mutex, and
// whoever gets the mutex next saves every queued save at once: the changes
// of every queued request of a session are applied, in the order they
// queued, to the newest record, which is stored by one compare-and-swap.
// The others find their save done when they get the mutex. Each request
// still answers only once its changes are stored, and a burst of requests
// on one session (a user's tabs, a benchmark) costs the store a write per
// batch instead of a write per request, without one request waiting for
// each of the others' writes in turn. With a fast store (memory) the queue
// is mostly one save long, and waiting is the mutex's brief spin.

// pendingSave is one request's save, queued or in progress.
type pendingSave struct {
	ctx  context.Context // the saving request's, for its values
	s    *Session
	now  time.Time // when the save was asked for
	done bool      // it was saved (or failed): err is its outcome
	err  error
}

// save saves s's changes, asked for at now, itself or as part of another
// request's batch.
func (l *saveLock) save(ctx context.Context, m *Manager, s *Session, now time.Time) error {
	if l.mu.TryLock() {
		// No save in progress: save, with any saves queued as the last
		// one ended, without queueing.
		defer l.mu.Unlock()
		p := pendingSave{ctx: ctx, s: s, now: now}
		l.saveQueued(m, &p)
		return p.err
	}
	p := &pendingSave{ctx: ctx, s: s, now: now}
	l.qmu.Lock()
	l.waiting = append(l.waiting, p)
	l.qmu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !p.done {
		l.saveQueued(m, nil)
	}
	return p.err
}

// saveQueued saves every queued save, and also, if not nil, one more that
// came last. The caller holds l.mu.
func (l *saveLock) saveQueued(m *Manager, last *pendingSave) {
	l.qmu.Lock()
	batch := l.waiting
	l.waiting = nil
	l.qmu.Unlock()
	if last != nil {
		if len(batch) == 0 {
			batch = []*pendingSave{last}
		} else {
			batch = append(batch, last)
		}
	}
	for rest := batch; len(rest) > 0; {
		id := rest[0].s.rec.ID
		n := 1
		for n < len(rest) && rest[n].s.rec.ID == id {
			n++
		}
		same, other := rest[:n:n], rest[n:]
		if len(other) > 0 {
			// Sessions of several ids share the lock: one id at a time.
			var others []*pendingSave
			for _, q := range other {
				if q.s.rec.ID == id {
					same = append(same, q)
				} else {
					others = append(others, q)
				}
			}
			other = others
		}
		l.saveTogether(m, same)
		rest = other
	}
}

// forget drops the remembered record of the session named id.
func (l *saveLock) forget(id store.SessionID) {
	l.qmu.Lock()
	if l.last.ID == id {
		l.last = store.Record{}
	}
	l.qmu.Unlock()
}

// saveTogether saves the changes of group, saves of one session, in one
// compare-and-swap, starting from the newest record known, and sets each
// save's outcome. The caller holds l.mu.
func (l *saveLock) saveTogether(m *Manager, group []*pendingSave) {
	first := group[0].s
	base := first.rec
	now := group[0].now
	dirty := false
	for _, p := range group {
		if p.s.rec.Version > base.Version {
			base = p.s.rec
		}
		if p.now.After(now) {
			now = p.now
		}
		dirty = dirty || p.s.dirty
	}
	l.qmu.Lock()
	if l.last.ID == base.ID && l.last.Version > base.Version && m.live(l.last, now) {
		// Another request of this process saved since these loaded.
		base = l.last
	}
	l.qmu.Unlock()
	var st state
	if len(group) == 1 && base.Version == first.rec.Version {
		// One save, on the record it loaded: its values are the result.
		st = first.state
	} else {
		values, flags, err := decode(base.Data)
		if err != nil {
			setOutcome(group, fmt.Errorf("session: save: %w", err))
			return
		}
		st = stateOf(base, values, flags)
		if err := replay(group, &st); err != nil {
			setOutcome(group, fmt.Errorf("session: save: %w", err))
			return
		}
	}

	ctx, cancel := m.storeContext(group[0].ctx)
	defer cancel()
	// The first save's span (if it is traced) stands for the batch.
	span := trace.SpanFromContext(ctx)
	if len(group) > 1 {
		tracing.Set(span, attrBatch.Int(len(group)))
	}
	for attempt := 0; ; attempt++ {
		rec := base
		rec.User, rec.AccountID, rec.AuthTime = st.Auth.User, st.Auth.AccountID, st.Auth.Time
		rec.Kind = store.KindSession
		rec.Data = encode(nil, st.values, st.flags)
		if dirty {
			// A session stored before the limit was lowered may still
			// change as long as it does not grow.
			if err := m.checkSize(len(rec.Data), len(base.Data)); err != nil {
				setOutcome(group, fmt.Errorf("session: save: %w", err))
				return
			}
		}
		rec.LastSeen = now
		rec.Expires = m.expires(rec.Created, now)
		v, err := m.store.SaveSession(ctx, rec)
		if err == nil {
			rec.Version = v
			l.qmu.Lock()
			l.last = rec
			l.qmu.Unlock()
			for i, p := range group {
				p.s.rec, p.s.state = rec, st
				if i > 0 {
					// Each request keeps a map of its own. The values
					// themselves are never changed in place.
					p.s.values = maps.Clone(st.values)
				}
				p.s.forgetChanges()
			}
			setOutcome(group, nil)
			return
		}
		if !errors.Is(err, store.ErrConflict) {
			setOutcome(group, fmt.Errorf("session: save: %w", err))
			return
		}
		l.forget(rec.ID) // outdated by another process
		tracing.Event(span, eventConflict, attrAttempt.Int(attempt+1))
		if !dirty {
			// Only touches, and another request saved first, which
			// extended the idle deadline just as well.
			setOutcome(group, nil)
			return
		}
		if attempt >= m.opts.MaxRetries {
			setOutcome(group, fmt.Errorf("session: save: gave up after %d conflicting saves: %w", attempt+1, err))
			return
		}
		if err := store.WaitAfterConflict(ctx, attempt); err != nil {
			setOutcome(group, fmt.Errorf("session: save: waiting after a conflict: %w", err))
			return
		}
		fresh, err := m.store.Session(ctx, rec.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			setOutcome(group, fmt.Errorf("session: save: reloading after a conflict: %w", err))
			return
		}
		var values map[string]any
		var flags byte
		if err == nil {
			values, flags, err = decode(fresh.Data)
		}
		if err != nil || !m.live(fresh, now) {
			// Destroyed or expired meanwhile (logout, "log out everywhere").
			for _, p := range group {
				p.s.ended()
			}
			setOutcome(group, nil)
			return
		}
		base, st = fresh, stateOf(fresh, values, flags)
		if err := replay(group, &st); err != nil {
			setOutcome(group, fmt.Errorf("session: save: %w", err))
			return
		}
		m.retried()
	}
}

// replay applies the changes of every save of group, in order, to st. It
// fails when an Update's function gives a value the Codec cannot encode.
func replay(group []*pendingSave, st *state) error {
	for _, p := range group {
		for _, o := range p.s.ops {
			if _, err := o.applyTo(st); err != nil {
				return err
			}
		}
	}
	return nil
}

// setOutcome sets the outcome of every save of group.
func setOutcome(group []*pendingSave, err error) {
	for _, p := range group {
		p.done, p.err = true, err
	}
}
