package redisstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/store"
)

// Session returns the record named id, or store.ErrNotFound when there is
// none or it has expired. It costs one command (HGETALL). Any other error
// means Redis did not answer (or ctx ended first), never that the record is
// missing.
func (s *Store) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	m, err := s.client.HGetAll(ctx, s.sessionKey(id.String())).Result()
	if err != nil {
		return store.Record{}, fmt.Errorf("redisstore: get session: %w", err)
	}
	if len(m) == 0 {
		return store.Record{}, store.ErrNotFound
	}
	r, err := decodeRecord(id, m)
	if err != nil {
		return store.Record{}, fmt.Errorf("redisstore: get session %s: %w", id, err)
	}
	if !s.now().Before(r.Expires) {
		return store.Record{}, store.ErrNotFound
	}
	return r, nil
}

// SaveSession stores r if the stored record still has version r.Version (0:
// no live record named r.ID exists) and returns the new version,
// r.Version+1. Otherwise it changes nothing and returns store.ErrConflict.
//
// The compare-and-swap is one Lua script, so of concurrent saves naming the
// same version exactly one succeeds, across processes. It is sent in one
// pipeline with the update of the owner's index: one round trip, or two
// when the save moves the record from one named user to another (the old
// owner's index entry is removed next). A retried save that Redis had
// already applied (go-redis retries when a reply is lost) is recognised and
// succeeds.
//
// Any other error means Redis did not answer (or ctx ended first); the
// record may then be saved or not, and reading it tells which.
func (s *Store) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	if r.Version == math.MaxUint64 {
		return 0, store.ErrConflict // no stored record reaches it
	}
	next := r.Version + 1
	cmds, err := s.run(ctx, s.saveCalls(r, s.now(), nonce())...)
	if err != nil {
		return 0, fmt.Errorf("redisstore: save session: %w", err)
	}
	res, err := cmds[0].Slice()
	if err != nil || len(res) == 0 {
		return 0, fmt.Errorf("redisstore: save session: unexpected reply %v: %v", cmds[0].Val(), err)
	}
	if ok, _ := res[0].(int64); ok != 1 {
		return 0, store.ErrConflict
	}
	if len(res) == 3 {
		// The record left another user: remove that user's entry for it,
		// if the entry is still the one the record's last save wrote. If
		// this fails, the next listing of that user prunes it.
		oldOwner, _ := res[1].(string)
		oldNonce, _ := res[2].(string)
		_, _ = s.run(ctx, call{pruneScript, []string{s.indexKey(oldOwner)}, []any{r.ID.String(), oldNonce}})
	}
	return next, nil
}

// saveCalls returns the scripts that save r at time now, tagged tag: the
// compare-and-swap of the record and, when r has an owner, the update of the
// owner's index. r.Version must be below math.MaxUint64.
func (s *Store) saveCalls(r store.Record, now time.Time, tag string) []call {
	hexID := r.ID.String()
	folded := store.FoldName(r.User)
	expNs := expiryNanos(r.Expires)
	expMs := strconv.FormatInt(ceilMillis(expNs), 10)
	data := r.Data
	if data == nil {
		data = []byte{}
	}
	authTime := "" // none
	if !r.AuthTime.IsZero() {
		authTime = nanos(r.AuthTime)
	}
	calls := []call{{saveScript, []string{s.sessionKey(hexID)}, []any{
		strconv.FormatUint(r.Version, 10), strconv.FormatUint(r.Version+1, 10),
		strconv.FormatInt(expiryNanos(now), 10), tag,
		r.User, folded, data, nanos(r.Created), nanos(r.LastSeen),
		strconv.FormatInt(expNs, 10), expMs, r.UserAgent, indexGrace.Milliseconds(),
		string(r.Kind), r.AccountID, authTime,
	}}}
	if r.User != "" {
		// Sent whether or not the save wins: a losing save's entry is
		// harmless (listings check the record) and is pruned later.
		sweep := "0"
		if r.Version == 0 {
			sweep = "1"
		}
		calls = append(calls, call{indexScript, []string{s.indexKey(folded)}, []any{
			hexID, expMs, now.UnixMilli(), tag, sweep,
		}})
	}
	return calls
}

// DeleteSession removes the record named id and its owner's index entry; a
// missing record is not an error. It costs one round trip for a record
// without an owner, two otherwise. An error means Redis did not answer (or
// ctx ended first); the record may then be removed or not.
func (s *Store) DeleteSession(ctx context.Context, id store.SessionID) error {
	hexID := id.String()
	cmds, err := s.run(ctx, call{deleteScript, []string{s.sessionKey(hexID)}, []any{
		strconv.FormatInt(expiryNanos(s.now()), 10), "any", "",
	}})
	if err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	res, err := deleteResult(cmds[0])
	if err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	if res.state != deletedLive && res.state != deletedExpired || res.owner == "" {
		return nil
	}
	// The record is gone; its index entry is hygiene. If removing it fails,
	// the next listing of the owner prunes it.
	_, _ = s.run(ctx, call{pruneScript, []string{s.indexKey(res.owner)}, []any{hexID, res.nonce}})
	return nil
}

// UserSessions returns the live records whose owner is user (compared
// case-insensitively in ASCII), most recently created first; the empty user
// has none. It reads the user's index and then every record it names, in
// one pipeline: two round trips, and a third when it prunes entries whose
// record is gone (see the package documentation). An error means Redis did
// not answer (or ctx ended first).
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	if user == "" {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("redisstore: list sessions: %w", err)
		}
		return []store.Record{}, nil
	}
	folded := store.FoldName(user)
	entries, err := s.indexEntries(ctx, folded)
	if err != nil {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	out := []store.Record{}
	if len(entries) == 0 {
		return out, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(entries))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			cmds[i] = p.HGetAll(ctx, s.sessionKey(e.hexID))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	now := s.now()
	var stale []any
	for i, e := range entries {
		st := recordState{}
		if m := cmds[i].Val(); len(m) > 0 {
			id, idErr := parseHexID(e.hexID)
			r, err := decodeRecord(id, m)
			if idErr != nil || err != nil {
				return nil, fmt.Errorf("redisstore: list sessions: record %s: %w", e.hexID, errors.Join(idErr, err))
			}
			st = recordState{exists: true, live: now.Before(r.Expires), owned: store.FoldName(r.User) == folded, nonce: m["n"]}
			if st.live && st.owned {
				out = append(out, r)
			}
		}
		if e.stale(st, now) {
			stale = append(stale, e.hexID, e.nonce)
		}
	}
	if len(stale) > 0 {
		// Best effort: the listing is right either way, and the next one
		// prunes what this one could not.
		_, _ = s.run(ctx, call{pruneScript, []string{s.indexKey(folded)}, stale})
	}
	slices.SortFunc(out, func(a, b store.Record) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// DeleteUserSessions removes every record whose owner is user (compared
// case-insensitively), expired ones included, and returns how many live
// records it removed. The empty user matches nothing: anonymous sessions are
// never removed this way. It reads the user's index, removes each record it
// names that the user still owns (each by a script that checks the owner:
// one pipeline), and removes the index entries: three round trips.
//
// A record created for the user while it runs may survive it. An error
// means Redis did not answer (or ctx ended first); some records may then be
// removed and others not.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int, error) {
	if user == "" {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
		}
		return 0, nil
	}
	folded := store.FoldName(user)
	entries, err := s.indexEntries(ctx, folded)
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	if len(entries) == 0 {
		return 0, nil
	}
	now := s.now()
	nowNs := strconv.FormatInt(expiryNanos(now), 10)
	calls := make([]call, len(entries))
	for i, e := range entries {
		calls[i] = call{deleteScript, []string{s.sessionKey(e.hexID)}, []any{nowNs, "owner", folded}}
	}
	cmds, err := s.run(ctx, calls...)
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	n := 0
	var stale []any
	for i, e := range entries {
		res, err := deleteResult(cmds[i])
		if err != nil {
			return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
		}
		st := recordState{}
		switch res.state {
		case deletedNone:
			// Missing: gone already, or not created yet by a save on its way.
		case deletedLive:
			n++
			st.nonce = res.nonce // gone now, and this was its last save
		case deletedExpired:
			st.nonce = res.nonce
		case keptOther:
			st = recordState{exists: true, live: true, nonce: res.nonce}
		}
		if e.stale(st, now) {
			stale = append(stale, e.hexID, e.nonce)
		}
	}
	if len(stale) > 0 {
		// The records are gone; what remains is index hygiene, which the
		// next listing retries if this fails.
		_, _ = s.run(ctx, call{pruneScript, []string{s.indexKey(folded)}, stale})
	}
	return n, nil
}

// indexEntry is one entry of a user's session index.
type indexEntry struct {
	hexID   string
	expires int64 // Unix ms: the latest expiry any save wrote
	written int64 // Unix ms: when the entry was last written
	nonce   string
}

// recordState is what a listing learned of the record an entry names.
type recordState struct {
	exists bool   // the record is stored (live or an expired tombstone)
	live   bool   // it has not expired
	owned  bool   // by the user whose index holds the entry
	nonce  string // of the record's last save; "" if unknown
}

// stale reports whether e may be removed from its index, given the state of
// its record: the record is not a live one of the index's user, and no save
// still on its way can make it one without writing the entry again. That
// holds when the entry's own expiry has passed (a save that makes the record
// live writes a later one), when the record's last save wrote the entry (so
// that save has run), or when the entry is older than any save takes.
func (e indexEntry) stale(st recordState, now time.Time) bool {
	switch {
	case st.exists && st.live && st.owned:
		return false
	case e.expires <= now.UnixMilli():
		return true
	case st.nonce != "" && st.nonce == e.nonce:
		return true
	default:
		return e.written <= now.Add(-indexGrace).UnixMilli()
	}
}

// indexEntries reads the index of the folded user. An entry it cannot parse
// is returned with zero times, so that it counts as expired and is pruned.
func (s *Store) indexEntries(ctx context.Context, folded string) ([]indexEntry, error) {
	m, err := s.client.HGetAll(ctx, s.indexKey(folded)).Result()
	if err != nil {
		return nil, err
	}
	entries := make([]indexEntry, 0, len(m))
	for id, v := range m {
		e := indexEntry{hexID: id}
		exp, rest, _ := strings.Cut(v, ":")
		written, tag, _ := strings.Cut(rest, ":")
		e.expires, _ = strconv.ParseInt(exp, 10, 64)
		e.written, _ = strconv.ParseInt(written, 10, 64)
		e.nonce = tag
		entries = append(entries, e)
	}
	return entries, nil
}

// States deleteScript reports.
const (
	deletedNone    = 0
	deletedLive    = 1
	deletedExpired = 2
	keptOther      = 3
)

type deleted struct {
	state        int64
	owner, nonce string
}

func deleteResult(cmd *redis.Cmd) (deleted, error) {
	res, err := cmd.Slice()
	if err != nil || len(res) == 0 {
		return deleted{}, fmt.Errorf("unexpected reply %v: %v", cmd.Val(), err)
	}
	var d deleted
	d.state, _ = res[0].(int64)
	if len(res) == 3 {
		d.owner, _ = res[1].(string)
		d.nonce, _ = res[2].(string)
	}
	return d, nil
}

// decodeRecord reads a record hash written by saveScript. A record saved
// before records had kinds, account ids and auth times lacks their fields
// (k, i, t) and reads as having none.
func decodeRecord(id store.SessionID, m map[string]string) (store.Record, error) {
	r := store.Record{ID: id, Kind: store.Kind(m["k"]), User: m["u"], AccountID: m["i"], UserAgent: m["a"]}
	var err error
	for _, f := range [...]string{"v", "c", "l", "e", "d", "n"} {
		if _, ok := m[f]; !ok {
			return store.Record{}, fmt.Errorf("malformed record: no field %q", f)
		}
	}
	if r.Version, err = strconv.ParseUint(m["v"], 10, 64); err != nil {
		return store.Record{}, fmt.Errorf("malformed record: version: %w", err)
	}
	if r.Created, err = parseNanos(m["c"]); err != nil {
		return store.Record{}, fmt.Errorf("malformed record: created: %w", err)
	}
	if r.LastSeen, err = parseNanos(m["l"]); err != nil {
		return store.Record{}, fmt.Errorf("malformed record: last seen: %w", err)
	}
	if r.Expires, err = parseNanos(m["e"]); err != nil {
		return store.Record{}, fmt.Errorf("malformed record: expires: %w", err)
	}
	if t := m["t"]; t != "" {
		if r.AuthTime, err = parseNanos(t); err != nil {
			return store.Record{}, fmt.Errorf("malformed record: auth time: %w", err)
		}
	}
	r.Data = []byte(m["d"])
	return r, nil
}

func parseHexID(h string) (store.SessionID, error) {
	var id store.SessionID
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("malformed session id %q in index", h)
	}
	copy(id[:], b)
	return id, nil
}
