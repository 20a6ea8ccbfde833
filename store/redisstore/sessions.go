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

// loginPruneLimit is how many expired entries of the owner's index a login
// (a save that creates an owned record) checks and removes at most: what a
// login costs does not grow with the user's number of logins.
const loginPruneLimit = 8

// States saveScript reports.
const (
	saveConflict   = 0
	saved          = 1
	saveNeedsIndex = 2
)

// SaveSession stores r if the stored record still has version r.Version (0:
// no live record named r.ID exists) and returns the new version,
// r.Version+1. Otherwise it changes nothing and returns store.ErrConflict.
//
// The compare-and-swap is one Lua script, so of concurrent saves naming the
// same version exactly one succeeds, across processes. What it costs, and
// what its answer means, depends on what the save does to the record's
// owner (see the package documentation):
//
//   - A save of a record without an owner, or an update that keeps the
//     owner (a view), is one round trip: the compare-and-swap sent in one
//     pipeline with the write of the owner's index entry. Its answer is
//     the compare-and-swap's: a failed index write does not fail a save
//     that was applied.
//   - A save that creates an owned record (a login) writes the owner's
//     index entry first, in a round trip of its own, and fails with
//     nothing applied if that fails; then the compare-and-swap, in a
//     pipeline with reads of the records of a few of the owner's expired
//     index entries. A third round trip, only when there are such
//     entries, removes the stale ones and repairs those whose record
//     lives.
//   - An update that gives the record a new owner is refused by the first
//     round trip unless its index entry, sent in the same pipeline, was
//     written; if it was, the compare-and-swap is sent again. When the
//     record leaves a named user, that user's entry is removed next.
//
// A retried save that Redis had already applied (go-redis retries when a
// reply is lost) is recognised and succeeds.
//
// Any other error means Redis did not answer the compare-and-swap (or ctx
// ended first), or, for a save that gives the record an owner, that the
// owner's index could not be written, and then nothing was saved. In the
// first case the record may be saved or not, and reading it tells which.
func (s *Store) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	if r.Version == math.MaxUint64 {
		return 0, store.ErrConflict // no stored record reaches it
	}
	now := s.now()
	sv := s.newSave(r, now, nonce())
	var (
		res        saveReply
		candidates []indexEntry
		reads      []*redis.SliceCmd
		err        error
	)
	switch {
	case r.User == "":
		res, err = s.casOnly(ctx, sv.record(false))
	case r.Version == 0:
		res, candidates, reads, err = s.saveLogin(ctx, sv)
	default:
		res, err = s.saveUpdate(ctx, sv)
	}
	if err != nil {
		return 0, fmt.Errorf("redisstore: save session: %w", err)
	}
	// Index hygiene, best effort: what this leaves, later listings and
	// logins remove.
	var after []call
	if res.oldOwner != "" {
		// The record left another user: remove that user's entry for it,
		// if the entry is still the one the record's last save wrote.
		after = append(after, s.unindexCalls(res.oldOwner, r.ID.String(), res.oldNonce)...)
	}
	if ops := loginFixes(candidates, reads, sv.folded, now); len(ops) > 0 {
		after = append(after, call{indexFixScript, s.indexKeys(sv.folded), append([]any{now.UnixMilli()}, ops...)})
	}
	if len(after) > 0 {
		s.runWith(ctx, after, nil)
	}
	switch res.state {
	case saved:
		return r.Version + 1, nil
	case saveConflict:
		return 0, store.ErrConflict
	}
	return 0, fmt.Errorf("redisstore: save session: refused although the index was written")
}

// saveUpdate saves an owned record whose version is not 0: the
// compare-and-swap and the index write in one pipeline, and, if the
// compare-and-swap was refused because the save gives the record a new
// owner, the compare-and-swap again once the index write is known to have
// succeeded.
func (s *Store) saveUpdate(ctx context.Context, sv save) (saveReply, error) {
	cmds := s.runWith(ctx, []call{sv.record(false), sv.index(0)}, nil)
	res, err := parseSave(cmds[0])
	if err != nil || res.state != saveNeedsIndex {
		// Applied or not, the index write's fate changes nothing: the
		// record's owner had the entry already (an index entry whose
		// expiry this save failed to extend is repaired, never pruned,
		// while its record lives).
		return res, err
	}
	if err := cmds[1].Err(); err != nil || cmds[1].Val() == nil {
		return saveReply{}, fmt.Errorf("write the new owner's index (nothing saved): %w", cmdErr(cmds[1]))
	}
	return s.casOnly(ctx, sv.record(true))
}

// saveLogin saves an owned record of version 0: the index entry first,
// then the compare-and-swap with reads of the records of the expired index
// entries the first step returned, which it returns too.
func (s *Store) saveLogin(ctx context.Context, sv save) (saveReply, []indexEntry, []*redis.SliceCmd, error) {
	idx, err := s.run(ctx, sv.index(loginPruneLimit))
	if err != nil {
		return saveReply{}, nil, nil, fmt.Errorf("write the owner's index (nothing saved): %w", err)
	}
	flat, _ := idx[0].StringSlice()
	candidates := make([]indexEntry, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		candidates = append(candidates, parseEntry(flat[i], flat[i+1]))
	}
	reads := make([]*redis.SliceCmd, len(candidates))
	cmds := s.runWith(ctx, []call{sv.record(true)}, func(p redis.Pipeliner) {
		for i, e := range candidates {
			reads[i] = p.HMGet(ctx, s.sessionKey(e.hexID), "f", "e", "n")
		}
	})
	res, err := parseSave(cmds[0])
	if err != nil {
		return saveReply{}, nil, nil, err
	}
	return res, candidates, reads, nil
}

// casOnly runs a compare-and-swap alone.
func (s *Store) casOnly(ctx context.Context, c call) (saveReply, error) {
	cmds, _ := s.run(ctx, c)
	return parseSave(cmds[0])
}

// save is one save of a record: its compare-and-swap and its index write,
// tagged with the same nonce.
type save struct {
	s      *Store
	r      store.Record
	folded string
	now    time.Time
	tag    string
}

func (s *Store) newSave(r store.Record, now time.Time, tag string) save {
	return save{s: s, r: r, folded: store.FoldName(r.User), now: now, tag: tag}
}

// record returns the compare-and-swap; indexed tells it that the owner's
// index entry was written first. r.Version must be below math.MaxUint64.
func (sv save) record(indexed bool) call {
	r := sv.r
	expNs := expiryNanos(r.Expires)
	data := r.Data
	if data == nil {
		data = []byte{}
	}
	authTime := "" // none
	if !r.AuthTime.IsZero() {
		authTime = nanos(r.AuthTime)
	}
	flag := "0"
	if indexed {
		flag = "1"
	}
	return call{saveScript, []string{sv.s.sessionKey(r.ID.String())}, []any{
		strconv.FormatUint(r.Version, 10), strconv.FormatUint(r.Version+1, 10),
		strconv.FormatInt(expiryNanos(sv.now), 10), sv.tag,
		r.User, sv.folded, data, nanos(r.Created), nanos(r.LastSeen),
		strconv.FormatInt(expNs, 10), ceilMillis(expNs), r.UserAgent, indexGrace.Milliseconds(),
		string(r.Kind), r.AccountID, authTime, flag,
	}}
}

// index returns the write of the owner's index entry, which returns up to
// limit of the index's expired entries. It is sent whether or not the save
// wins: a losing save's entry is harmless (listings check the record) and
// is pruned later. r must have an owner.
func (sv save) index(limit int) call {
	return call{indexScript, sv.s.indexKeys(sv.folded), []any{
		sv.r.ID.String(), ceilMillis(expiryNanos(sv.r.Expires)), sv.now.UnixMilli(), sv.tag, limit,
	}}
}

// saveReply is what saveScript answered.
type saveReply struct {
	state              int64
	oldOwner, oldNonce string // of the named user the record left
}

func parseSave(cmd *redis.Cmd) (saveReply, error) {
	if err := cmd.Err(); err != nil {
		return saveReply{}, err
	}
	res, err := cmd.Slice()
	if err != nil || len(res) == 0 {
		return saveReply{}, fmt.Errorf("unexpected reply %v: %v", cmd.Val(), err)
	}
	var rep saveReply
	rep.state, _ = res[0].(int64)
	if rep.state < saveConflict || rep.state > saveNeedsIndex {
		return saveReply{}, fmt.Errorf("unexpected reply %v", res)
	}
	if len(res) == 3 {
		rep.oldOwner, _ = res[1].(string)
		rep.oldNonce, _ = res[2].(string)
	}
	return rep, nil
}

// cmdErr returns cmd's error, or one saying it has no result.
func cmdErr(cmd *redis.Cmd) error {
	if err := cmd.Err(); err != nil {
		return err
	}
	return errors.New("no reply")
}

// loginFixes decides, for the expired index entries a login returned, from
// what reads found of their records (f, e, n), which to remove and which to
// repair: an entry whose record is a live one of the folded user had its
// expiry left behind by a save whose index write failed, and gets the
// record's. It returns operations for indexFixScript. A record that could
// not be read leaves its entry as it is.
func loginFixes(candidates []indexEntry, reads []*redis.SliceCmd, folded string, now time.Time) []any {
	var ops []any
	nowNs := expiryNanos(now)
	for i, e := range candidates {
		if reads[i] == nil || reads[i].Err() != nil {
			continue
		}
		v := reads[i].Val()
		if len(v) != 3 {
			continue
		}
		st := recordState{}
		if n, ok := v[2].(string); ok {
			f, _ := v[0].(string)
			exp, _ := v[1].(string)
			expNs, err := strconv.ParseInt(exp, 10, 64)
			if err != nil {
				continue // malformed: leave it to a listing, which reports it
			}
			st = recordState{exists: true, live: nowNs < expNs, owned: f == folded, nonce: n}
			if st.live && st.owned {
				if ms := ceilMillis(expNs); ms > e.expires {
					ops = append(ops, "r", e.hexID, ms)
				}
				continue
			}
		}
		if e.stale(st, now) {
			ops = append(ops, "d", e.hexID, e.nonce)
		}
	}
	return ops
}

// unindexCalls returns the removal of the entry for hexID, if last written
// with nonce, from the index of the folded user, in both layouts.
func (s *Store) unindexCalls(folded, hexID, nonce string) []call {
	return []call{
		{indexFixScript, s.indexKeys(folded), []any{s.now().UnixMilli(), "d", hexID, nonce}},
		{legacyPruneScript, []string{s.legacyIndexKey(folded)}, []any{hexID, nonce}},
	}
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
	s.runWith(ctx, s.unindexCalls(res.owner, hexID, res.nonce), nil)
	return nil
}

// UserSessions returns the live records whose owner is user (compared
// case-insensitively in ASCII), most recently created first; the empty user
// has none. It reads the user's index (both layouts, in one pipeline) and
// then every record it names, in one pipeline: two round trips, and a
// third when it prunes or repairs entries (see the package documentation).
// An error means Redis did not answer (or ctx ended first).
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	if user == "" {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("redisstore: list sessions: %w", err)
		}
		return []store.Record{}, nil
	}
	folded := store.FoldName(user)
	idx, err := s.readIndex(ctx, folded)
	if err != nil {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	out := []store.Record{}
	if len(idx.ids) == 0 {
		return out, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(idx.ids))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range idx.ids {
			cmds[i] = p.HGetAll(ctx, s.sessionKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	now := s.now()
	var fix indexFix
	for i, hexID := range idx.ids {
		st, expMs := recordState{}, int64(0)
		if m := cmds[i].Val(); len(m) > 0 {
			id, idErr := parseHexID(hexID)
			r, err := decodeRecord(id, m)
			if idErr != nil || err != nil {
				return nil, fmt.Errorf("redisstore: list sessions: record %s: %w", hexID, errors.Join(idErr, err))
			}
			st = recordState{exists: true, live: now.Before(r.Expires), owned: store.FoldName(r.User) == folded, nonce: m["n"]}
			if st.live && st.owned {
				out = append(out, r)
				expMs = ceilMillis(expiryNanos(r.Expires))
			}
		}
		fix.decide(idx, hexID, st, expMs, now)
	}
	// Best effort: the listing is right either way, and the next one
	// prunes what this one could not.
	s.runWith(ctx, fix.calls(s, folded, now), nil)
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
// never removed this way. It reads the user's index (both layouts), removes
// each record it names that the user still owns (each by a script that
// checks the owner: one pipeline), and removes the index entries: three
// round trips.
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
	idx, err := s.readIndex(ctx, folded)
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	if len(idx.ids) == 0 {
		return 0, nil
	}
	now := s.now()
	nowNs := strconv.FormatInt(expiryNanos(now), 10)
	calls := make([]call, len(idx.ids))
	for i, id := range idx.ids {
		calls[i] = call{deleteScript, []string{s.sessionKey(id)}, []any{nowNs, "owner", folded}}
	}
	cmds, err := s.run(ctx, calls...)
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	n := 0
	var fix indexFix
	for i, hexID := range idx.ids {
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
		fix.decide(idx, hexID, st, 0, now)
	}
	// The records are gone; what remains is index hygiene, which the next
	// listing retries if this fails.
	s.runWith(ctx, fix.calls(s, folded, now), nil)
	return n, nil
}

// indexEntry is one entry of a user's session index.
type indexEntry struct {
	hexID   string
	expires int64 // Unix ms: the latest expiry any save wrote
	written int64 // Unix ms: when the entry was last written
	nonce   string
}

// parseEntry reads the entry "expires:written:nonce" for hexID. An entry
// it cannot parse gets zero times, so that it counts as expired and is
// pruned.
func parseEntry(hexID, v string) indexEntry {
	e := indexEntry{hexID: hexID}
	exp, rest, _ := strings.Cut(v, ":")
	written, tag, _ := strings.Cut(rest, ":")
	e.expires, _ = strconv.ParseInt(exp, 10, 64)
	e.written, _ = strconv.ParseInt(written, 10, 64)
	e.nonce = tag
	return e
}

// value returns the entry as an index holds it.
func (e indexEntry) value() string {
	return strconv.FormatInt(e.expires, 10) + ":" + strconv.FormatInt(e.written, 10) + ":" + e.nonce
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

// userIndex is a user's session index as read, in both layouts.
type userIndex struct {
	ids    []string              // every record id either layout names, once
	cur    map[string]indexEntry // the index
	legacy map[string]indexEntry // the index of the earlier layout
}

// readIndex reads the index of the folded user, in both layouts, in one
// pipeline.
func (s *Store) readIndex(ctx context.Context, folded string) (userIndex, error) {
	var cur, legacy *redis.MapStringStringCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		cur = p.HGetAll(ctx, s.indexKeys(folded)[1])
		legacy = p.HGetAll(ctx, s.legacyIndexKey(folded))
		return nil
	})
	if err != nil {
		return userIndex{}, err
	}
	idx := userIndex{cur: map[string]indexEntry{}, legacy: map[string]indexEntry{}}
	for id, v := range cur.Val() {
		idx.cur[id] = parseEntry(id, v)
		idx.ids = append(idx.ids, id)
	}
	for id, v := range legacy.Val() {
		idx.legacy[id] = parseEntry(id, v)
		if _, ok := idx.cur[id]; !ok {
			idx.ids = append(idx.ids, id)
		}
	}
	return idx, nil
}

// indexFix collects what a listing decided to change in an index.
type indexFix struct {
	ops    []any // for indexFixScript
	legacy []any // for legacyPruneScript
}

// decide adds what to do with the entries for hexID, given the state of
// its record and, when it is a live one of the index's user, its expiry
// (ms): remove a stale entry; raise the expiry of an entry a save left
// behind; move an entry of the earlier layout to the index, and remove it
// once the index has the record's entry.
func (f *indexFix) decide(idx userIndex, hexID string, st recordState, expMs int64, now time.Time) {
	e, inCur := idx.cur[hexID]
	keptCur := false
	if inCur {
		switch {
		case e.stale(st, now):
			f.ops = append(f.ops, "d", hexID, e.nonce)
		case expMs > e.expires:
			f.ops = append(f.ops, "r", hexID, expMs)
			keptCur = true
		default:
			keptCur = true
		}
	}
	if old, ok := idx.legacy[hexID]; ok {
		switch {
		case old.stale(st, now) || keptCur:
			f.legacy = append(f.legacy, hexID, old.nonce)
		case !inCur && st.live && st.owned:
			old.expires = max(old.expires, expMs)
			f.ops = append(f.ops, "m", hexID, old.value())
		}
	}
}

// calls returns the scripts that apply f to the index of the folded user.
func (f *indexFix) calls(s *Store, folded string, now time.Time) []call {
	var calls []call
	if len(f.ops) > 0 {
		calls = append(calls, call{indexFixScript, s.indexKeys(folded), append([]any{now.UnixMilli()}, f.ops...)})
	}
	if len(f.legacy) > 0 {
		calls = append(calls, call{legacyPruneScript, []string{s.legacyIndexKey(folded)}, f.legacy})
	}
	return calls
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
