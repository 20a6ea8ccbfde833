package server

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
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
	opKeyAddFirst
	opKeyRotate
	opKeyReplace
	opStoreTime
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
	opPasskeyAdd
	opPasskeyGet
	opPasskeyList
	opPasskeyUse
	opPasskeyRename
	opPasskeyDelete
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
	case opPasskeyAdd:
		return "passkey_add"
	case opPasskeyGet:
		return "passkey_get"
	case opPasskeyList:
		return "passkey_list"
	case opPasskeyUse:
		return "passkey_use"
	case opPasskeyRename:
		return "passkey_rename"
	case opPasskeyDelete:
		return "passkey_delete"
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
	case opKeyAddFirst:
		return "key_add_first"
	case opKeyRotate:
		return "key_rotate"
	case opKeyReplace:
		return "key_replace"
	case opStoreTime:
		return "store_time"
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
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrSignCount):
		// A passkey whose counter did not move is refused like a lost
		// compare-and-swap: the store answered, and said no.
		return resultConflict
	case errors.Is(err, store.ErrExists):
		return resultExists
	}
	return resultError
}

// instrumentedBackend is a Backend that counts and times every call to the
// one it wraps, and counts lost compare-and-swaps by kind of record. Its
// series are resolved once, so a call costs two clock reads and three
// atomic additions. Under a recording span (a traced request), each call
// is also a child span, "store.session_get" and so on (tracing.go): the
// one span of a call to SQLite or memory, the parent of the Redis or
// PostgreSQL client's spans. Outside one it costs a context lookup.
type instrumentedBackend struct {
	next     Backend
	ops      [numStoreOps]opSeries
	sessionC prometheus.Counter // conflicts saving session records
	familyC  prometheus.Counter // conflicts saving refresh families
	backend  attribute.KeyValue // the backend's type, for spans
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
		backend:  backendName(b),
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

// span starts the span of a call of op, if ctx holds a recording span.
func (b *instrumentedBackend) span(ctx context.Context, op storeOp) (context.Context, trace.Span) {
	ctx, span := scope.Start(ctx, storeSpanNames[op])
	if span.IsRecording() {
		span.SetAttributes(attrStoreOp.String(op.String()), b.backend)
	}
	return ctx, span
}

// done records a call of op that began at start and ended with err, and
// ends its span.
func (b *instrumentedBackend) done(span trace.Span, op storeOp, start time.Time, err error) {
	s := &b.ops[op]
	s.duration.Observe(time.Since(start).Seconds())
	result := resultOf(err)
	s.results[result].Inc()
	if span.IsRecording() {
		span.SetAttributes(attrStoreResult.String(result.String()))
		if result == resultError {
			tracing.Fail(span, storeFailure(err))
		}
		span.End()
	}
}

func (b *instrumentedBackend) CreateUser(ctx context.Context, u store.User) error {
	ctx, span := b.span(ctx, opUserCreate)
	start := time.Now()
	err := b.next.CreateUser(ctx, u)
	b.done(span, opUserCreate, start, err)
	return err
}

func (b *instrumentedBackend) User(ctx context.Context, name string) (store.User, error) {
	ctx, span := b.span(ctx, opUserGet)
	start := time.Now()
	u, err := b.next.User(ctx, name)
	b.done(span, opUserGet, start, err)
	return u, err
}

func (b *instrumentedBackend) SetPasswordHash(ctx context.Context, name, hash string, updated time.Time) error {
	ctx, span := b.span(ctx, opUserSetPassword)
	start := time.Now()
	err := b.next.SetPasswordHash(ctx, name, hash, updated)
	b.done(span, opUserSetPassword, start, err)
	return err
}

func (b *instrumentedBackend) DeleteUser(ctx context.Context, name string) error {
	ctx, span := b.span(ctx, opUserDelete)
	start := time.Now()
	err := b.next.DeleteUser(ctx, name)
	b.done(span, opUserDelete, start, err)
	return err
}

func (b *instrumentedBackend) ListUsers(ctx context.Context) ([]store.User, error) {
	ctx, span := b.span(ctx, opUserList)
	start := time.Now()
	us, err := b.next.ListUsers(ctx)
	b.done(span, opUserList, start, err)
	return us, err
}

func (b *instrumentedBackend) Keys(ctx context.Context, purpose string) ([]store.Key, error) {
	ctx, span := b.span(ctx, opKeys)
	start := time.Now()
	ks, err := b.next.Keys(ctx, purpose)
	b.done(span, opKeys, start, err)
	return ks, err
}

func (b *instrumentedBackend) AddKey(ctx context.Context, purpose string, k store.Key) error {
	ctx, span := b.span(ctx, opKeyAdd)
	start := time.Now()
	err := b.next.AddKey(ctx, purpose, k)
	b.done(span, opKeyAdd, start, err)
	return err
}

func (b *instrumentedBackend) AddFirstKey(ctx context.Context, purpose string, k store.Key) error {
	ctx, span := b.span(ctx, opKeyAddFirst)
	start := time.Now()
	err := b.next.AddFirstKey(ctx, purpose, k)
	b.done(span, opKeyAddFirst, start, err)
	return err
}

func (b *instrumentedBackend) RotateKey(ctx context.Context, purpose string, k store.Key, retire time.Time) error {
	ctx, span := b.span(ctx, opKeyRotate)
	start := time.Now()
	err := b.next.RotateKey(ctx, purpose, k, retire)
	b.done(span, opKeyRotate, start, err)
	return err
}

func (b *instrumentedBackend) ReplaceKeySecret(ctx context.Context, purpose, id string, old, secret []byte) error {
	ctx, span := b.span(ctx, opKeyReplace)
	start := time.Now()
	err := b.next.ReplaceKeySecret(ctx, purpose, id, old, secret)
	b.done(span, opKeyReplace, start, err)
	return err
}

func (b *instrumentedBackend) StoreTime(ctx context.Context) (time.Time, error) {
	ctx, span := b.span(ctx, opStoreTime)
	start := time.Now()
	t, err := b.next.StoreTime(ctx)
	b.done(span, opStoreTime, start, err)
	return t, err
}

func (b *instrumentedBackend) DeleteKey(ctx context.Context, purpose, id string) error {
	ctx, span := b.span(ctx, opKeyDelete)
	start := time.Now()
	err := b.next.DeleteKey(ctx, purpose, id)
	b.done(span, opKeyDelete, start, err)
	return err
}

func (b *instrumentedBackend) Deny(ctx context.Context, id string, until time.Time) error {
	ctx, span := b.span(ctx, opDeny)
	start := time.Now()
	err := b.next.Deny(ctx, id, until)
	b.done(span, opDeny, start, err)
	return err
}

func (b *instrumentedBackend) Denied(ctx context.Context, id string) (bool, error) {
	ctx, span := b.span(ctx, opDenied)
	start := time.Now()
	denied, err := b.next.Denied(ctx, id)
	b.done(span, opDenied, start, err)
	return denied, err
}

func (b *instrumentedBackend) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	ctx, span := b.span(ctx, opSessionGet)
	start := time.Now()
	rec, err := b.next.Session(ctx, id)
	b.done(span, opSessionGet, start, err)
	return rec, err
}

// SaveSession also counts a lost compare-and-swap by the kind of record:
// a refresh family (JWT and API logins) or a session.
func (b *instrumentedBackend) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	ctx, span := b.span(ctx, opSessionSave)
	start := time.Now()
	v, err := b.next.SaveSession(ctx, r)
	b.done(span, opSessionSave, start, err)
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
	ctx, span := b.span(ctx, opSessionDelete)
	start := time.Now()
	err := b.next.DeleteSession(ctx, id)
	b.done(span, opSessionDelete, start, err)
	return err
}

func (b *instrumentedBackend) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	ctx, span := b.span(ctx, opUserSessions)
	start := time.Now()
	recs, err := b.next.UserSessions(ctx, user)
	b.done(span, opUserSessions, start, err)
	return recs, err
}

func (b *instrumentedBackend) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	ctx, span := b.span(ctx, opUserSessionsDelete)
	start := time.Now()
	n, err := b.next.DeleteUserSessions(ctx, user)
	b.done(span, opUserSessionsDelete, start, err)
	return n, err
}

func (b *instrumentedBackend) AddCount(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Time, error) {
	ctx, span := b.span(ctx, opCountAdd)
	start := time.Now()
	n, exp, err := b.next.AddCount(ctx, key, delta, window)
	b.done(span, opCountAdd, start, err)
	return n, exp, err
}

func (b *instrumentedBackend) Count(ctx context.Context, key string) (int64, time.Time, error) {
	ctx, span := b.span(ctx, opCount)
	start := time.Now()
	n, exp, err := b.next.Count(ctx, key)
	b.done(span, opCount, start, err)
	return n, exp, err
}

func (b *instrumentedBackend) DeleteCount(ctx context.Context, key string) error {
	ctx, span := b.span(ctx, opCountDelete)
	start := time.Now()
	err := b.next.DeleteCount(ctx, key)
	b.done(span, opCountDelete, start, err)
	return err
}

func (b *instrumentedBackend) Ping(ctx context.Context) error {
	ctx, span := b.span(ctx, opPing)
	start := time.Now()
	err := b.next.Ping(ctx)
	b.done(span, opPing, start, err)
	return err
}

func (b *instrumentedBackend) AddPasskey(ctx context.Context, p store.Passkey) error {
	ctx, span := b.span(ctx, opPasskeyAdd)
	start := time.Now()
	err := b.next.AddPasskey(ctx, p)
	b.done(span, opPasskeyAdd, start, err)
	return err
}

func (b *instrumentedBackend) Passkey(ctx context.Context, id []byte) (store.Passkey, error) {
	ctx, span := b.span(ctx, opPasskeyGet)
	start := time.Now()
	p, err := b.next.Passkey(ctx, id)
	b.done(span, opPasskeyGet, start, err)
	return p, err
}

func (b *instrumentedBackend) AccountPasskeys(ctx context.Context, accountID string) ([]store.Passkey, error) {
	ctx, span := b.span(ctx, opPasskeyList)
	start := time.Now()
	ps, err := b.next.AccountPasskeys(ctx, accountID)
	b.done(span, opPasskeyList, start, err)
	return ps, err
}

func (b *instrumentedBackend) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, used time.Time) error {
	ctx, span := b.span(ctx, opPasskeyUse)
	start := time.Now()
	err := b.next.UsePasskey(ctx, id, signCount, backupState, used)
	b.done(span, opPasskeyUse, start, err)
	return err
}

func (b *instrumentedBackend) RenamePasskey(ctx context.Context, accountID string, id []byte, name string) error {
	ctx, span := b.span(ctx, opPasskeyRename)
	start := time.Now()
	err := b.next.RenamePasskey(ctx, accountID, id, name)
	b.done(span, opPasskeyRename, start, err)
	return err
}

func (b *instrumentedBackend) DeletePasskey(ctx context.Context, accountID string, id []byte) error {
	ctx, span := b.span(ctx, opPasskeyDelete)
	start := time.Now()
	err := b.next.DeletePasskey(ctx, accountID, id)
	b.done(span, opPasskeyDelete, start, err)
	return err
}
