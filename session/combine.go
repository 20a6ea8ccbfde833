package session

import (
	"errors"
	"fmt"
	"time"

	"sessionkit/store"
)

// Saves of one session are combined. One request at a time saves the
// sessions of a save lock; the saves that arrive meanwhile queue, and when
// the save in progress is done, the first of them saves them all at once:
// the changes of every queued request of a session are applied, in the
// order they queued, to the newest record, which is stored by one
// compare-and-swap. Each request still answers only once its changes are
// stored, and a burst of requests on one session (a user's tabs, a
// benchmark) costs the store a write per batch instead of a write per
// request, without one request waiting for each of the others' writes in
// turn.

// pendingSave is one request's save, waiting or in progress.
type pendingSave struct {
	s    *Session
	now  time.Time           // when the save was asked for
	err  error               // its outcome, set by whoever saved it
	turn chan []*pendingSave // for a queued save: nil when it was saved; else the batch it must save
}

// save makes p's save: at once if no save of the lock is in progress,
// otherwise after queueing, by whoever saves the queue (p's own goroutine
// when it comes first). It returns p's outcome.
func (l *saveLock) save(m *Manager, p *pendingSave) error {
	l.mu.Lock()
	if !l.saving {
		l.saving = true
		l.mu.Unlock()
		l.lead(m, []*pendingSave{p})
		return p.err
	}
	p.turn = make(chan []*pendingSave, 1)
	l.waiting = append(l.waiting, p)
	l.mu.Unlock()
	if batch := <-p.turn; batch != nil {
		l.lead(m, batch)
	}
	return p.err
}

// lead saves batch, then passes the saves queued meanwhile to the first of
// them, or ends the lock's saving if none queued, and finally tells the
// others of batch that their save is done.
func (l *saveLock) lead(m *Manager, batch []*pendingSave) {
	for rest := batch; len(rest) > 0; {
		var same, other []*pendingSave
		for _, p := range rest {
			if p.s.rec.ID == rest[0].s.rec.ID {
				same = append(same, p)
			} else {
				other = append(other, p)
			}
		}
		l.saveTogether(m, same)
		rest = other
	}
	l.mu.Lock()
	next := l.waiting
	l.waiting = nil
	if len(next) == 0 {
		l.saving = false
	}
	l.mu.Unlock()
	if len(next) > 0 {
		next[0].turn <- next
	}
	for _, p := range batch[1:] {
		p.turn <- nil
	}
}

// forget drops the remembered record of the session named id.
func (l *saveLock) forget(id store.SessionID) {
	l.mu.Lock()
	if l.last.ID == id {
		l.last = store.Record{}
	}
	l.mu.Unlock()
}

// saveTogether saves the changes of group, saves of one session, in one
// compare-and-swap, starting from the newest record known, and sets each
// save's outcome. It is the one save in progress on its lock.
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
	l.mu.Lock()
	if l.last.ID == base.ID && l.last.Version > base.Version && m.live(l.last, now) {
		// Another request of this process saved since these loaded.
		base = l.last
	}
	l.mu.Unlock()
	values, err := decode(base.Data)
	if err != nil {
		setOutcome(group, fmt.Errorf("session: save: %w", err))
		return
	}
	user := base.User
	replay := func() {
		for _, p := range group {
			for _, o := range p.s.ops {
				o.applyTo(values, &user)
			}
		}
	}
	replay()

	ctx, cancel := m.storeContext(first.r.Context())
	defer cancel()
	for attempt := 0; ; attempt++ {
		rec := base
		rec.User = user
		rec.Data = encode(nil, values)
		rec.LastSeen = now
		rec.Expires = m.expires(rec.Created, now)
		v, err := m.store.SaveSession(ctx, rec)
		if err == nil {
			rec.Version = v
			l.mu.Lock()
			l.last = rec
			l.mu.Unlock()
			for i, p := range group {
				p.s.rec, p.s.user = rec, rec.User
				if i > 0 {
					// Each request keeps a map of its own.
					values, _ = decode(rec.Data)
				}
				p.s.values = values
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
		if err == nil {
			values, err = decode(fresh.Data)
		}
		if err != nil || !m.live(fresh, now) {
			// Destroyed or expired meanwhile (logout, "log out everywhere").
			for _, p := range group {
				p.s.ended()
			}
			setOutcome(group, nil)
			return
		}
		base, user = fresh, fresh.User
		replay()
	}
}

// setOutcome sets the outcome of every save of group.
func setOutcome(group []*pendingSave, err error) {
	for _, p := range group {
		p.err = err
	}
}
