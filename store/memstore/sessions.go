package memstore

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// Session returns the record named id, or store.ErrNotFound when there is
// none or it has expired. The returned Data is the caller's own copy. It
// returns ctx's error if ctx has ended.
func (s *Store) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	now := s.now()
	s.smu.RLock()
	defer s.smu.RUnlock()
	r, ok := s.sessions[id]
	if !ok || !live(r, now) {
		return store.Record{}, store.ErrNotFound
	}
	r.Data = slices.Clone(r.Data)
	return r, nil
}

// SaveSession stores r if the stored record still has version r.Version (0:
// no live record named r.ID exists) and returns the new version, r.Version+1.
// Otherwise it changes nothing and returns store.ErrConflict. The store keeps
// its own copy of r.Data. It returns ctx's error, saving nothing, if ctx has
// ended.
func (s *Store) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.now()
	r.Data = slices.Clone(r.Data)
	s.smu.Lock()
	defer s.smu.Unlock()
	cur, ok := s.sessions[r.ID]
	var have uint64 // the version of the live record; 0 when there is none
	if ok && live(cur, now) {
		have = cur.Version
	}
	if have != r.Version {
		return 0, store.ErrConflict
	}
	r.Version++
	s.sessions[r.ID] = r
	if !ok || cur.User != r.User {
		if ok {
			s.unindex(cur)
		}
		s.index(r)
	}
	return r.Version, nil
}

// DeleteSession removes the record named id; a missing record is not an
// error. It returns ctx's error, removing nothing, if ctx has ended.
func (s *Store) DeleteSession(ctx context.Context, id store.SessionID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if r, ok := s.sessions[id]; ok {
		s.unindex(r)
		delete(s.sessions, id)
	}
	return nil
}

// UserSessions returns the live records of user (compared
// case-insensitively), most recently created first. An empty user has no
// sessions: records without a User are never listed. It returns ctx's error
// if ctx has ended.
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	out := []store.Record{}
	s.smu.RLock()
	for id := range s.byUser[store.FoldName(user)] {
		if r := s.sessions[id]; live(r, now) {
			r.Data = slices.Clone(r.Data)
			out = append(out, r)
		}
	}
	s.smu.RUnlock()
	slices.SortFunc(out, func(a, b store.Record) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// DeleteUserSessions removes every record of user (compared
// case-insensitively), expired ones included, and returns how many live
// records it removed. An empty user matches nothing, so anonymous sessions
// are never removed this way. It returns ctx's error, removing nothing, if
// ctx has ended.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.now()
	k := store.FoldName(user)
	s.smu.Lock()
	defer s.smu.Unlock()
	n := 0
	for id := range s.byUser[k] {
		if live(s.sessions[id], now) {
			n++
		}
		delete(s.sessions, id)
	}
	delete(s.byUser, k)
	return n, nil
}

// removeExpiredSessions forgets the records that have expired by now.
func (s *Store) removeExpiredSessions(now time.Time) {
	s.smu.Lock()
	defer s.smu.Unlock()
	for id, r := range s.sessions {
		if !live(r, now) {
			s.unindex(r)
			delete(s.sessions, id)
		}
	}
}

// index adds r to the per-user index, unless it belongs to nobody. The
// caller holds smu.
func (s *Store) index(r store.Record) {
	if r.User == "" {
		return
	}
	k := store.FoldName(r.User)
	if s.byUser[k] == nil {
		s.byUser[k] = make(map[store.SessionID]struct{})
	}
	s.byUser[k][r.ID] = struct{}{}
}

// unindex removes r from the per-user index. The caller holds smu.
func (s *Store) unindex(r store.Record) {
	if r.User == "" {
		return
	}
	k := store.FoldName(r.User)
	ids := s.byUser[k]
	delete(ids, r.ID)
	if len(ids) == 0 {
		delete(s.byUser, k)
	}
}

// live reports whether r has not expired at now.
func live(r store.Record, now time.Time) bool {
	return now.Before(r.Expires)
}
