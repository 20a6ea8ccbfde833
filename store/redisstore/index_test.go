package redisstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
)

// indexTest is a store with a fake clock and helpers to look at the
// per-user index directly.
type indexTest struct {
	t     *testing.T
	ctx   context.Context
	s     *Store
	c     *redis.Client
	clock *fakeclock.Clock
}

func newIndexTest(t *testing.T) *indexTest {
	clock := newFakeClock()
	s, c := openTest(t, Options{Now: clock.Now})
	return &indexTest{t: t, ctx: context.Background(), s: s, c: c, clock: clock}
}

// save saves r and returns it at its new version.
func (x *indexTest) save(r store.Record) store.Record {
	x.t.Helper()
	v, err := x.s.SaveSession(x.ctx, r)
	if err != nil {
		x.t.Fatalf("SaveSession(%s, version %d): %v", r.User, r.Version, err)
	}
	r.Version = v
	return r
}

// record returns a new record of user that expires in an hour.
func (x *indexTest) record(token, user string) store.Record {
	now := x.clock.Now()
	return store.Record{ID: store.HashToken(token), User: user, Data: []byte(token),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
}

// indexed returns the ids in user's index, in either layout, whatever
// their records. It reports an error unless the index's two keys name the
// same ids.
func (x *indexTest) indexed(user string) []store.SessionID {
	x.t.Helper()
	folded := store.FoldName(user)
	keys := x.s.indexKeys(folded)
	hexIDs, err := x.c.HKeys(x.ctx, keys[1]).Result()
	if err != nil {
		x.t.Fatal(err)
	}
	byExpiry, err := x.c.ZRange(x.ctx, keys[0], 0, -1).Result()
	if err != nil {
		x.t.Fatal(err)
	}
	slices.Sort(hexIDs)
	slices.Sort(byExpiry)
	if !slices.Equal(hexIDs, byExpiry) {
		x.t.Errorf("%s's index: the hash names %v, the sorted set %v", user, hexIDs, byExpiry)
	}
	legacy, err := x.c.HKeys(x.ctx, x.s.legacyIndexKey(folded)).Result()
	if err != nil {
		x.t.Fatal(err)
	}
	for _, h := range legacy {
		if !slices.Contains(hexIDs, h) {
			hexIDs = append(hexIDs, h)
		}
	}
	ids := make([]store.SessionID, 0, len(hexIDs))
	for _, h := range hexIDs {
		id, err := parseHexID(h)
		if err != nil {
			x.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// listed returns the ids UserSessions returns for user.
func (x *indexTest) listed(user string) []store.SessionID {
	x.t.Helper()
	list, err := x.s.UserSessions(x.ctx, user)
	if err != nil {
		x.t.Fatalf("UserSessions(%s): %v", user, err)
	}
	ids := make([]store.SessionID, len(list))
	for i, r := range list {
		ids[i] = r.ID
	}
	return ids
}

// check reports an error unless user's index holds exactly want, in any
// order.
func (x *indexTest) check(what, user string, want ...store.SessionID) {
	x.t.Helper()
	got := x.indexed(user)
	less := func(a, b store.SessionID) int { return slices.Compare(a[:], b[:]) }
	slices.SortFunc(got, less)
	slices.SortFunc(want, less)
	if !slices.Equal(got, want) {
		x.t.Errorf("%s: %s's index holds %d entries %v, want %d %v", what, user, len(got), got, len(want), want)
	}
}

// TestIndexConsistency checks that the per-user index follows its records:
// an entry whose record was deleted, expired or moved to another user is
// gone at once or after the next listing, or, when the store cannot tell
// whether a save is still on its way, once the grace period has passed. It
// also checks that a listing never removes an entry a save still needs.
func TestIndexConsistency(t *testing.T) {
	testenv.Redis(t) // once, rather than slowly for every case when absent
	cases := []struct {
		name string
		run  func(x *indexTest)
	}{
		{"deleted: gone at once", func(x *indexTest) {
			r := x.save(x.record("a", "Alice"))
			x.check("after saving", "alice", r.ID)
			if err := x.s.DeleteSession(x.ctx, r.ID); err != nil {
				x.t.Fatal(err)
			}
			x.check("after DeleteSession, before any listing", "alice")
		}},
		{"expired by a save: gone after the next listing", func(x *indexTest) {
			r := x.save(x.record("a", "alice"))
			r.Expires = x.clock.Now().Add(-time.Second)
			x.save(r)
			if got := x.listed("alice"); len(got) != 0 {
				x.t.Errorf("listed %v, want nothing", got)
			}
			x.check("after the listing", "alice")
		}},
		{"expired by time: gone after the next listing", func(x *indexTest) {
			live := x.save(x.record("live", "alice"))
			r := x.record("short", "alice")
			r.Expires = x.clock.Now().Add(time.Minute)
			r = x.save(r)
			x.clock.Advance(2 * time.Minute) // Redis still holds it: its TTL runs on the real clock
			if got := x.listed("alice"); !slices.Equal(got, []store.SessionID{live.ID}) {
				x.t.Errorf("listed %v, want only the live record", got)
			}
			x.check("after the listing", "alice", live.ID)
		}},
		{"removed by Redis at its expiry: gone after the next listing", func(x *indexTest) {
			r := x.record("a", "alice")
			r.Expires = x.clock.Now().Add(10 * time.Second)
			r = x.save(r)
			x.clock.Advance(20 * time.Second) // less than the grace period
			// What Redis does at the record's TTL.
			if err := x.c.Unlink(x.ctx, x.s.sessionKey(r.ID.String())).Err(); err != nil {
				x.t.Fatal(err)
			}
			x.listed("alice")
			x.check("after the listing", "alice")
		}},
		{"missing record, fresh entry: kept for the grace period", func(x *indexTest) {
			r := x.save(x.record("a", "alice"))
			// A record removed by other means, or not written yet by a
			// save on its way: no record, and an entry that has not
			// expired.
			if err := x.c.Unlink(x.ctx, x.s.sessionKey(r.ID.String())).Err(); err != nil {
				x.t.Fatal(err)
			}
			x.listed("alice")
			x.check("listed within the grace period", "alice", r.ID)
			x.clock.Advance(indexGrace + time.Second)
			x.listed("alice")
			x.check("listed after the grace period", "alice")
		}},
		{"moved to another user: listed under the new owner only", func(x *indexTest) {
			r := x.save(x.record("a", "alice"))
			r.User = "Bob"
			r = x.save(r)
			x.check("after the move, before any listing", "alice")
			x.check("after the move", "bob", r.ID)
			if got := x.listed("alice"); len(got) != 0 {
				x.t.Errorf("alice lists %v, want nothing", got)
			}
			if got := x.listed("bob"); !slices.Equal(got, []store.SessionID{r.ID}) {
				x.t.Errorf("bob lists %v, want the moved record", got)
			}
			r.User = ""
			x.save(r)
			x.check("after the record became anonymous", "bob")
		}},
		{"a losing save's entry: gone once the grace period has passed", func(x *indexTest) {
			r := x.save(x.record("a", "alice"))
			lost := r
			lost.Version, lost.User = 7, "mallory"
			if _, err := x.s.SaveSession(x.ctx, lost); !errors.Is(err, store.ErrConflict) {
				x.t.Fatalf("err = %v, want ErrConflict", err)
			}
			if got := x.listed("mallory"); len(got) != 0 {
				x.t.Errorf("mallory lists %v, want nothing", got)
			}
			x.check("listed within the grace period", "mallory", r.ID)
			x.clock.Advance(indexGrace + time.Second)
			x.listed("mallory")
			x.check("listed after the grace period", "mallory")
			x.check("the owner's index", "alice", r.ID)
		}},
		{"a save on its way is not undone by a listing", func(x *indexTest) {
			// On a Cluster the index script of a save may run before its
			// record script: the entry exists, the record not yet.
			r := x.record("a", "alice")
			sv := x.s.newSave(r, x.clock.Now(), "00000000000000aa")
			if _, err := x.s.run(x.ctx, sv.index(0)); err != nil {
				x.t.Fatal(err)
			}
			x.listed("alice")
			x.check("listed before the record script ran", "alice", r.ID)
			if _, err := x.s.run(x.ctx, sv.record(true)); err != nil {
				x.t.Fatal(err)
			}
			if got := x.listed("alice"); !slices.Equal(got, []store.SessionID{r.ID}) {
				x.t.Errorf("lists %v once the save completed, want the record", got)
			}
		}},
		{"an entry written again after it was read stays", func(x *indexTest) {
			r := x.save(x.record("a", "alice"))
			idx, err := x.s.readIndex(x.ctx, "alice")
			if err != nil || len(idx.cur) != 1 {
				x.t.Fatalf("index entries = %v, %v", idx.cur, err)
			}
			first := idx.cur[r.ID.String()]
			r = x.save(r) // writes the entry again, with a new nonce
			// A prune decided on the entry as first read must not remove it.
			if _, err := x.s.run(x.ctx, x.s.unindexCalls("alice", first.hexID, first.nonce)...); err != nil {
				x.t.Fatal(err)
			}
			x.check("after a prune of the entry as first read", "alice", r.ID)
		}},
		{"a login drops the user's expired entries", func(x *indexTest) {
			old := x.record("old", "alice")
			old.Expires = x.clock.Now().Add(time.Minute)
			x.save(old)
			x.clock.Advance(2 * time.Minute)
			fresh := x.save(x.record("fresh", "ALICE"))
			x.check("after the login, before any listing", "alice", fresh.ID)
		}},
		{"a losing save with an earlier expiry does not drop a live entry", func(x *indexTest) {
			r := x.save(x.record("a", "alice"))
			lost := r
			lost.Version, lost.Expires = 7, x.clock.Now().Add(time.Second)
			if _, err := x.s.SaveSession(x.ctx, lost); !errors.Is(err, store.ErrConflict) {
				x.t.Fatalf("err = %v, want ErrConflict", err)
			}
			x.clock.Advance(time.Minute)
			fresh := x.save(x.record("fresh", "alice")) // a login: drops expired entries
			x.check("after the login", "alice", r.ID, fresh.ID)
		}},
		{"DeleteUserSessions leaves no index", func(x *indexTest) {
			x.save(x.record("a", "alice"))
			x.save(x.record("b", "alice"))
			expired := x.record("c", "alice")
			expired.Expires = x.clock.Now().Add(-time.Second)
			x.save(expired)
			if n, err := x.s.DeleteUserSessions(x.ctx, "Alice"); err != nil || n != 2 {
				x.t.Errorf("DeleteUserSessions = %d, %v; want 2", n, err)
			}
			if n, err := x.c.Exists(x.ctx, x.s.indexKeys("alice")...).Result(); err != nil || n != 0 {
				x.t.Errorf("%d index keys still exist (%v)", n, err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(newIndexTest(t)) })
	}
}

// TestIndexExpiry checks that an index's keys expire no earlier than their
// latest entry and as long again (counted from when it was written), and
// that an earlier entry does not shorten them.
func TestIndexExpiry(t *testing.T) {
	x := newIndexTest(t)
	long := x.record("long", "alice")
	long.Expires = x.clock.Now().Add(3 * time.Hour)
	x.save(long)
	short := x.record("short", "alice")
	short.Expires = x.clock.Now().Add(time.Hour)
	x.save(short)
	for _, key := range x.s.indexKeys("alice") {
		ttl, err := x.c.PTTL(x.ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < 6*time.Hour-time.Minute || ttl > 6*time.Hour+time.Minute {
			t.Errorf("TTL of %s = %v, want about 6h, twice the latest entry's expiry", key, ttl)
		}
	}
	rttl, err := x.c.PTTL(x.ctx, x.s.sessionKey(short.ID.String())).Result()
	if err != nil {
		t.Fatal(err)
	}
	if rttl < time.Hour-time.Minute || rttl > time.Hour+time.Minute {
		t.Errorf("record TTL = %v, want about 1h, its expiry", rttl)
	}
}

// TestSaveRetry checks that a save sent twice (go-redis retries a command
// whose reply was lost) succeeds twice and saves once, while another save of
// the same version still conflicts.
func TestSaveRetry(t *testing.T) {
	for _, expired := range []bool{false, true} {
		x := newIndexTest(t)
		r := x.save(x.record("a", "alice"))
		if expired {
			r.Expires = x.clock.Now().Add(-time.Second)
		}
		sv := x.s.newSave(r, x.clock.Now(), "0123456789abcdef")
		calls := []call{sv.record(false), sv.index(0)}
		for i := range 2 {
			cmds, err := x.s.run(x.ctx, calls...)
			if err != nil {
				t.Fatal(err)
			}
			if res, _ := cmds[0].Slice(); len(res) == 0 || res[0] != int64(1) {
				t.Errorf("expired=%v: attempt %d of one save = %v, want success", expired, i+1, res)
			}
		}
		other := x.s.newSave(r, x.clock.Now(), "fedcba9876543210")
		cmds, err := x.s.run(x.ctx, other.record(false), other.index(0))
		if err != nil {
			t.Fatal(err)
		}
		if res, _ := cmds[0].Slice(); len(res) == 0 || res[0] != int64(0) {
			t.Errorf("expired=%v: another save of the same version = %v, want a conflict", expired, res)
		}
		if v, err := x.c.HGet(x.ctx, x.s.sessionKey(r.ID.String()), "v").Result(); err != nil || v != "2" {
			t.Errorf("expired=%v: stored version = %q, %v; want 2", expired, v, err)
		}
	}
}

// TestLegacyIndex checks that sessions indexed by a version of the store
// that kept a user's index in one hash (an upgrade in place) are listed
// and ended as before, that listings move their entries to the index and
// then drain the old hash, and that deletions and moves remove their old
// entries.
func TestLegacyIndex(t *testing.T) {
	testenv.Redis(t)
	// legacyLen returns how many entries user's old hash holds.
	legacyLen := func(x *indexTest, user string) int64 {
		x.t.Helper()
		n, err := x.c.HLen(x.ctx, x.s.legacyIndexKey(user)).Result()
		if err != nil {
			x.t.Fatal(err)
		}
		return n
	}
	cases := []struct {
		name string
		run  func(x *indexTest)
	}{
		{"listed, moved to the index, then drained", func(x *indexTest) {
			old := x.record("old", "alice")
			x.writeLegacy(old, "000000000000000a")
			fresh := x.save(x.record("fresh", "alice"))
			if got := x.listed("alice"); len(got) != 2 {
				x.t.Errorf("listed %v, want the old record and the new", got)
			}
			if _, ok := x.entryOf("alice", old.ID); !ok {
				x.t.Error("the first listing did not move the old entry to the index")
			}
			if got := x.listed("ALICE"); len(got) != 2 {
				x.t.Errorf("listed %v, want the old record and the new", got)
			}
			if n := legacyLen(x, "alice"); n != 0 {
				x.t.Errorf("the old hash holds %d entries after two listings, want none", n)
			}
			x.check("after two listings", "alice", old.ID, fresh.ID)
		}},
		{"ended by DeleteUserSessions", func(x *indexTest) {
			old := x.record("old", "alice")
			x.writeLegacy(old, "000000000000000a")
			x.save(x.record("fresh", "alice"))
			if n, err := x.s.DeleteUserSessions(x.ctx, "alice"); err != nil || n != 2 {
				x.t.Errorf("DeleteUserSessions = %d, %v; want 2", n, err)
			}
			if _, err := x.s.Session(x.ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
				x.t.Errorf("Session of the old record: err = %v, want ErrNotFound", err)
			}
			x.check("after DeleteUserSessions", "alice")
		}},
		{"DeleteSession removes the old entry", func(x *indexTest) {
			old := x.record("old", "alice")
			x.writeLegacy(old, "000000000000000a")
			if err := x.s.DeleteSession(x.ctx, old.ID); err != nil {
				x.t.Fatal(err)
			}
			x.check("after DeleteSession, before any listing", "alice")
		}},
		{"a move removes the old entry", func(x *indexTest) {
			old := x.record("old", "alice")
			x.writeLegacy(old, "000000000000000a")
			old.Version, old.User = 1, "bob"
			old = x.save(old)
			x.check("alice's, after the move", "alice")
			x.check("bob's, after the move", "bob", old.ID)
		}},
		{"a save writes the index; a listing then drops the old entry", func(x *indexTest) {
			old := x.record("old", "alice")
			x.writeLegacy(old, "000000000000000a")
			old.Version = 1
			old = x.save(old)
			if _, ok := x.entryOf("alice", old.ID); !ok {
				x.t.Error("the save did not write the index")
			}
			x.listed("alice")
			if n := legacyLen(x, "alice"); n != 0 {
				x.t.Errorf("the old hash holds %d entries after a listing, want none", n)
			}
		}},
		{"an expired old entry is pruned by a listing", func(x *indexTest) {
			old := x.record("old", "alice")
			old.Expires = x.clock.Now().Add(time.Minute)
			x.writeLegacy(old, "000000000000000a")
			x.clock.Advance(2 * time.Minute)
			if got := x.listed("alice"); len(got) != 0 {
				x.t.Errorf("listed %v, want nothing", got)
			}
			x.check("after the listing", "alice")
		}},
		{"a fresh old entry without its record is kept for the grace period", func(x *indexTest) {
			// A save by a process of the earlier version still on its way.
			old := x.record("old", "alice")
			x.writeLegacy(old, "000000000000000a")
			if err := x.c.Unlink(x.ctx, x.s.sessionKey(old.ID.String())).Err(); err != nil {
				x.t.Fatal(err)
			}
			x.listed("alice")
			x.check("listed within the grace period", "alice", old.ID)
			x.clock.Advance(indexGrace + time.Second)
			x.listed("alice")
			x.check("listed after the grace period", "alice")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(newIndexTest(t)) })
	}
}
