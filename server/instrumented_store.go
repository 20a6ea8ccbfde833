package server

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionkit/sessionkit/store"
)

// storeOp names a Backend method in the store metrics.
type storeOp int

const (
	opUserCreate storeOp = iota
	opUserGet
	opUserSetPassword
	opUserDelete
	opUserList
	opKeys
	opKeyAdd
	opKeyDelete
	opDeny
	opDenied
	opSessionGet
	opSessionSave
	opSessionDelete
	opUserSessions
	opUserSessionsDelete
	opPing
	opCountAdd
	opCount
	opCountDelete
	numStoreOps
)

// String is the operation's label value.
func (op storeOp) String() string {
	switch op {
	case opCountAdd:
		return "count_add"
	case opCount:
		return "count"
	case opCountDelete:
		return "count_delete"
	case opUserCreate:
		return "user_create"
	case opUserGet:
		return "user_get"
	case opUserSetPassword:
		return "user_set_password"
	case opUserDelete:
		return "user_delete"
	case opUserList:
		return "user_list"
	case opKeys:
		return "keys"
	case opKeyAdd:
		return "key_add"
	case opKeyDelete:
		return "key_delete"
	case opDeny:
		return "deny"
	case opDenied:
		return "denied"
	case opSessionGet:
		return "session_get"
	case opSessionSave:
		return "session_save"
	case opSessionDelete:
		return "session_delete"
	case opUserSessions:
		return "user_sessions"
	case opUserSessionsDelete:
		return "user_sessions_delete"
	case opPing:
		return "ping"
	}
	return "unknown"
}

// storeResult is how a store call ended, in the store metrics.
type storeResult int

const (
	resultOK storeResult = iota
	resultNotFound
	resultConflict
	resultExists
	resultError
	numStoreResults
)

func (r storeResult) String() string {
	switch r {
	case resultOK:
		return "ok"
	case resultNotFound:
		return "not_found"
	case resultConflict:
		return "conflict"
	case resultExists:
		return "exists"
	}
	return "error"
}

// resultOf classifies a store call's error.
func resultOf(err error) storeResult {
	switch {
	case err == nil:
		return resultOK
	case errors.Is(err, store.ErrNotFound):
		return resultNotFound
	case errors.Is(err, store.ErrConflict):
		return resultConflict
	case errors.Is(err, store.ErrExists):
		return resultExists
	}
	return resultError
}

// instrumentedBackend is a Backend that counts and times every call to the
// one it wraps, and counts lost compare-and-swaps by kind of record. Its
// series are resolved once, so a call costs two clock reads and three
// atomic additions.
type instrumentedBackend struct {
	next     Backend
	ops      [numStoreOps]opSeries
	sessionC prometheus.Counter // conflicts saving session records
	familyC  prometheus.Counter // conflicts saving refresh families
}

type opSeries struct {
	duration prometheus.Observer
	results  [numStoreResults]prometheus.Counter
}

// instrument wraps b so that its calls show in m's store metrics.
func (m *metrics) instrument(b Backend) *instrumentedBackend {
	ib := &instrumentedBackend{
		next:     b,
		sessionC: m.conflicts.WithLabelValues(casSession),
		familyC:  m.conflicts.WithLabelValues(casFamily),
	}
	for op := range numStoreOps {
		s := &ib.ops[op]
		s.duration = m.storeDuration.WithLabelValues(op.String())
		for r := range numStoreResults {
			s.results[r] = m.storeOps.WithLabelValues(op.String(), r.String())
		}
	}
	return ib
}

// done records a call of op that began at start and ended with err.
func (b *instrumentedBackend) done(op storeOp, start time.Time, err error) {
	s := &b.ops[op]
	s.duration.Observe(time.Since(start).Seconds())
	s.results[resultOf(err)].Inc()
}

func (b *instrumentedBackend) CreateUser(ctx context.Context, u store.User) error {
	start := time.Now()
	err := b.next.CreateUser(ctx, u)
	b.done(opUserCreate, start, err)
	return err
}

func (b *instrumentedBackend) User(ctx context.Context, name string) (store.User, error) {
	start := time.Now()
	u, err := b.next.User(ctx, name)
	b.done(opUserGet, start, err)
	return u, err
}

func (b *instrumentedBackend) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	start := time.Now()
	err := b.next.SetPasswordHash(ctx, name, hash, updated)
	b.done(opUserSetPassword, start, err)
	return err
}

func (b *instrumentedBackend) DeleteUser(ctx context.Context, name string) error {
	start := time.Now()
	err := b.next.DeleteUser(ctx, name)
	b.done(opUserDelete, start, err)
	return err
}

func (b *instrumentedBackend) ListUsers(ctx context.Context) ([]store.User, error) {
	start := time.Now()
	us, err := b.next.ListUsers(ctx)
	b.done(opUserList, start, err)
	return us, err
}

func (b *instrumentedBackend) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	start := time.Now()
	ks, err := b.next.Keys(ctx, purpose)
	b.done(opKeys, start, err)
	return ks, err
}

func (b *instrumentedBackend) AddKey(ctx context.Context, purpose string, k store.Key) error {
	start := time.Now()
	err := b.next.AddKey(ctx, purpose, k)
	b.done(opKeyAdd, start, err)
	return err
}

func (b *instrumentedBackend) DeleteKey(ctx context.Context, purpose, id string) error {
	start := time.Now()
	err := b.next.DeleteKey(ctx, purpose, id)
	b.done(opKeyDelete, start, err)
	return err
}

func (b *instrumentedBackend) Deny(ctx context.Context, id string, until time.Time) error {
	start := time.Now()
	err := b.next.Deny(ctx, id, until)
	b.done(opDeny, start, err)
	return err
}

func (b *instrumentedBackend) Denied(ctx context.Context, id string) (bool, error) {
	start := time.Now()
	denied, err := b.next.Denied(ctx, id)
	b.done(opDenied, start, err)
	return denied, err
}

func (b *instrumentedBackend) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	start := time.Now()
	rec, err := b.next.Session(ctx, id)
	b.done(opSessionGet, start, err)
	return rec, err
}

// SaveSession also counts a lost compare-and-swap by the kind of record:
// a refresh family (JWT and API logins) or a session.
func (b *instrumentedBackend) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	start := time.Now()
	v, err := b.next.SaveSession(ctx, r)
	b.done(opSessionSave, start, err)
	if err != nil && errors.Is(err, store.ErrConflict) {
		if r.Kind == store.KindRefreshFamily {
			b.familyC.Inc()
		} else {
			b.sessionC.Inc()
		}
	}
	return v, err
}

func (b *instrumentedBackend) DeleteSession(ctx context.Context, id store.SessionID) error {
	start := time.Now()
	err := b.next.DeleteSession(ctx, id)
	b.done(opSessionDelete, start, err)
	return err
}

func (b *instrumentedBackend) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	start := time.Now()
	recs, err := b.next.UserSessions(ctx, user)
	b.done(opUserSessions, start, err)
	return recs, err
}

func (b *instrumentedBackend) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	start := time.Now()
	n, err := b.next.DeleteUserSessions(ctx, user)
	b.done(opUserSessionsDelete, start, err)
	return n, err
}

func (b *instrumentedBackend) AddCount(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Time, error) {
	start := time.Now()
	n, exp, err := b.next.AddCount(ctx, key, delta, window)
	b.done(opCountAdd, start, err)
	return n, exp, err
}

func (b *instrumentedBackend) Count(ctx context.Context, key string) (int64, time.Time, error) {
	start := time.Now()
	n, exp, err := b.next.Count(ctx, key)
	b.done(opCount, start, err)
	return n, exp, err
}

func (b *instrumentedBackend) DeleteCount(ctx context.Context, key string) error {
	start := time.Now()
	err := b.next.DeleteCount(ctx, key)
	b.done(opCountDelete, start, err)
	return err
}

func (b *instrumentedBackend) Ping(ctx context.Context) error {
	start := time.Now()
	err := b.next.Ping(ctx)
	b.done(opPing, start, err)
	return err
}
