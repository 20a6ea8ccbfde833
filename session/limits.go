package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// DefaultMaxDataBytes is the default bound on a session's encoded values:
// 64 KiB, as much as one request's body may carry. Every request that uses
// the session loads and decodes all of it, so the bound is also a bound on
// the work and memory one cookie costs the server per request.
const DefaultMaxDataBytes = 64 << 10

// ErrTooLarge reports a session whose encoded values would exceed
// Options.MaxDataBytes. [Put] returns it (wrapped) and leaves the session as
// it was; a save that would cross the limit fails with it (wrapped) and the
// request answers through Options.ErrorHandler, which can test it with
// errors.Is. Nothing is ever truncated.
var ErrTooLarge = errors.New("session: data too large")

// maxDataBytes is the effective limit, or -1 for none.
func (m *Manager) maxDataBytes() int {
	if m.opts.MaxDataBytes < 0 {
		return -1
	}
	return m.opts.MaxDataBytes
}

// checkSize refuses encoded data of size bytes when it is over the limit
// and larger than was, the size the session had: a session stored before
// the limit was lowered may still change, as long as it does not grow.
func (m *Manager) checkSize(size, was int) error {
	if limit := m.maxDataBytes(); limit >= 0 && size > limit && size > was {
		return fmt.Errorf("%w: %d bytes encoded, the limit is %d", ErrTooLarge, size, limit)
	}
	return nil
}

// sizeWith returns the encoded size of values, with flags, once key holds
// v (the size encode would produce), without encoding anything.
func sizeWith(values map[string]any, key string, v any, flags byte) int {
	count := len(values)
	if _, ok := values[key]; !ok {
		count++
	}
	_, isEncoded := v.(encoded)
	v2 := flags != 0 || isEncoded
	n := 1 + uvarintLen(uint64(count)) + entrySize(key, v)
	for k, old := range values {
		if k != key {
			n += entrySize(k, old)
			if _, ok := old.(encoded); ok {
				v2 = true
			}
		}
	}
	if v2 {
		n++ // the flags byte of version 2
	}
	return n
}

// encodedSize returns len(encode(nil, values, flags)).
func encodedSize(values map[string]any, flags byte) int {
	n := 1 + uvarintLen(uint64(len(values)))
	v2 := flags != 0
	for k, v := range values {
		n += entrySize(k, v)
		if _, ok := v.(encoded); ok {
			v2 = true
		}
	}
	if v2 {
		n++
	}
	return n
}

// entrySize is the encoded size of one entry: key length, key, kind byte
// and value, as encode writes them.
func entrySize(k string, v any) int {
	n := uvarintLen(uint64(len(k))) + len(k) + 1
	switch v := v.(type) {
	case string:
		n += uvarintLen(uint64(len(v))) + len(v)
	case []byte:
		n += uvarintLen(uint64(len(v))) + len(v)
	case encoded:
		n += uvarintLen(uint64(len(v))) + len(v)
	case int64:
		n += varintLen(v)
	case bool:
		n++
	case float64:
		n += 8
	case time.Time:
		n += varintLen(v.UnixNano())
	}
	return n
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

func varintLen(x int64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutVarint(b[:], x)
}

// settingUser reports whether the changes since the last save set the
// session's user: a login (or a switch of user).
func (s *Session) settingUser() bool {
	for _, o := range s.ops {
		if o.kind == opSetUser {
			return true
		}
	}
	return false
}

// limitSessions deletes the oldest sessions of user beyond
// Options.MaxSessionsPerUser, never the one named keep (the session that
// just logged in). Only records this manager can decode count: a refresh
// family or another package's record kept in the same store is neither
// counted nor deleted. It runs after a login's save succeeded; a store that
// fails here is logged and leaves the user over the limit until the next
// login, as the login itself is already stored.
func (m *Manager) limitSessions(ctx context.Context, user string, keep store.SessionID) {
	limit := m.opts.MaxSessionsPerUser
	if limit <= 0 || user == "" {
		return
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	recs, err := m.store.UserSessions(ctx, user)
	if err != nil {
		m.opts.Logger.WarnContext(ctx, "listing a user's sessions to enforce MaxSessionsPerUser failed", "err", err)
		return
	}
	var others []store.Record
	for _, rec := range recs {
		if rec.ID == keep {
			continue
		}
		if !isSession(rec) {
			continue // another kind of login: not ours to count
		}
		others = append(others, rec)
	}
	oldest := store.OldestBeyond(others, limit-1)
	if len(oldest) == 0 {
		return
	}
	evicted := 0
	for _, rec := range oldest {
		if err := m.store.DeleteSession(ctx, rec.ID); err != nil {
			m.opts.Logger.WarnContext(ctx, "deleting a session beyond MaxSessionsPerUser failed", "err", err)
			break
		}
		evicted++
	}
	m.opts.Logger.InfoContext(ctx, "oldest sessions of the user ended: over MaxSessionsPerUser",
		"user", user, "ended", evicted, "limit", limit)
}
