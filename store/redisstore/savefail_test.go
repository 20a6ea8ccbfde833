package redisstore

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
)

// errIndexDown is what failIndex answers for the commands it fails.
var errIndexDown = errors.New("injected failure: the index's node is down")

// failIndex is a go-redis hook that, while on, fails every command that
// touches a key it names, without sending it: what a save sees on a Redis
// Cluster when the node that holds a user's index is down and the node
// that holds the record is not. Other commands, in a pipeline too, go
// through.
type failIndex struct {
	on   atomic.Bool
	keys []string
}

func (f *failIndex) hits(cmd redis.Cmder) bool {
	if !f.on.Load() {
		return false
	}
	keys, _ := commandKeys(cmd)
	for _, k := range keys {
		if slices.Contains(f.keys, k) {
			return true
		}
	}
	return false
}

func (f *failIndex) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failIndex) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.hits(cmd) {
			cmd.SetErr(errIndexDown)
			return errIndexDown
		}
		return next(ctx, cmd)
	}
}

func (f *failIndex) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var pass []redis.Cmder
		failed := false
		for _, cmd := range cmds {
			if f.hits(cmd) {
				cmd.SetErr(errIndexDown)
				failed = true
			} else {
				pass = append(pass, cmd)
			}
		}
		var err error
		if len(pass) > 0 {
			err = next(ctx, pass)
		}
		if err == nil && failed {
			err = errIndexDown
		}
		return err
	}
}

// failIndexOf adds to x's client a hook that fails the commands on the
// session index of user (both layouts) while it is on.
func (x *indexTest) failIndexOf(user string) *failIndex {
	folded := store.FoldName(user)
	f := &failIndex{keys: append(x.s.indexKeys(folded), x.s.legacyIndexKey(folded))}
	x.c.AddHook(f)
	return f
}

// entryOf returns user's index entry for id, and whether there is one.
func (x *indexTest) entryOf(user string, id store.SessionID) (indexEntry, bool) {
	x.t.Helper()
	idx, err := x.s.readIndex(x.ctx, store.FoldName(user))
	if err != nil {
		x.t.Fatal(err)
	}
	e, ok := idx.cur[id.String()]
	return e, ok
}

// TestSaveIndexFailure checks that a save is one decision even when the
// write of the owner's index fails (its node is down): the answer of
// SaveSession is the compare-and-swap's, and a record whose save was
// applied stays listed and ended by DeleteUserSessions.
//
//   - A save that creates an owned record, or gives a record a new owner,
//     fails and changes nothing: the index entry is written first.
//   - An update (a view) succeeds and is applied; the entry whose expiry it
//     failed to extend is kept (and repaired) by logins and listings while
//     its record lives, and its index outlives the record.
func TestSaveIndexFailure(t *testing.T) {
	testenv.Redis(t)

	t.Run("create fails, nothing stored", func(t *testing.T) {
		x := newIndexTest(t)
		down := x.failIndexOf("alice")
		down.on.Store(true)
		r := x.record("a", "Alice")
		_, err := x.s.SaveSession(x.ctx, r)
		if err == nil || errors.Is(err, store.ErrConflict) || !errors.Is(err, errIndexDown) {
			t.Fatalf("SaveSession with the index down: err = %v, want the index's error", err)
		}
		down.on.Store(false)
		if n, err := x.c.Exists(x.ctx, x.s.sessionKey(r.ID.String())).Result(); err != nil || n != 0 {
			t.Errorf("the record's key exists (%d, %v) after a create that failed", n, err)
		}
		if _, err := x.s.Session(x.ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Session after a create that failed: err = %v, want ErrNotFound", err)
		}
		if got := x.listed("alice"); len(got) != 0 {
			t.Errorf("listed %v after a create that failed, want nothing", got)
		}
		// Nothing was applied: the same create goes through now.
		x.save(r)
		if got := x.listed("alice"); !slices.Equal(got, []store.SessionID{r.ID}) {
			t.Errorf("listed %v after the create was repeated, want it", got)
		}
	})

	// An update whose index write fails: the record is changed and its
	// entry keeps the expiry it had. Then the entry's own expiry passes
	// while the record lives, and after must sees it kept.
	for _, after := range []struct {
		name string
		run  func(x *indexTest)
	}{
		{"a login", func(x *indexTest) { x.save(x.record("login", "alice")) }},
		{"a listing", func(x *indexTest) { x.listed("alice") }},
		{"nothing", func(x *indexTest) {}},
	} {
		t.Run("update succeeds, then "+after.name, func(t *testing.T) {
			x := newIndexTest(t)
			down := x.failIndexOf("alice")
			r := x.save(x.record("a", "alice"))
			before, _ := x.entryOf("alice", r.ID)

			down.on.Store(true)
			r.Data = []byte("changed")
			r.LastSeen = x.clock.Now()
			r.Expires = x.clock.Now().Add(90 * time.Minute)
			v, err := x.s.SaveSession(x.ctx, r)
			down.on.Store(false)
			if err != nil || v != 2 {
				t.Fatalf("update with the index down = %d, %v; want 2, nil: the record's save decides", v, err)
			}
			r.Version = v
			got, err := x.s.Session(x.ctx, r.ID)
			if err != nil || string(got.Data) != "changed" || got.Version != 2 || !got.Expires.Equal(r.Expires) {
				t.Fatalf("Session after the update = %+v, %v; want the update applied", got, err)
			}
			if e, ok := x.entryOf("alice", r.ID); !ok || e != before {
				t.Fatalf("index entry after the failed index write = %+v (%v), want it unchanged %+v: the hook did not fail it", e, ok, before)
			}
			// The index outlives the record, though the entry's expiry
			// was not extended.
			rttl, err := x.c.PTTL(x.ctx, x.s.sessionKey(r.ID.String())).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range x.s.indexKeys("alice") {
				if ttl, err := x.c.PTTL(x.ctx, key).Result(); err != nil || ttl < rttl {
					t.Errorf("TTL of %s = %v, %v; want at least the record's, %v", key, ttl, err, rttl)
				}
			}

			x.clock.Advance(70 * time.Minute) // past the entry's expiry, not the record's
			after.run(x)
			if e, ok := x.entryOf("alice", r.ID); !ok {
				t.Errorf("after %s, the entry of a live record is gone", after.name)
			} else if after.name != "nothing" && e.expires < r.Expires.UnixMilli() {
				t.Errorf("after %s, the entry's expiry is %v, want raised to the record's %v",
					after.name, time.UnixMilli(e.expires), r.Expires)
			}
			if got := x.listed("alice"); !slices.Contains(got, r.ID) {
				t.Errorf("listed %v, want the updated record among them", got)
			}
			n, err := x.s.DeleteUserSessions(x.ctx, "alice")
			if err != nil || n < 1 {
				t.Errorf("DeleteUserSessions = %d, %v; want the updated record ended", n, err)
			}
			if _, err := x.s.Session(x.ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Session after DeleteUserSessions: err = %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("an update that loses is a conflict", func(t *testing.T) {
		x := newIndexTest(t)
		down := x.failIndexOf("alice")
		r := x.save(x.record("a", "alice"))
		down.on.Store(true)
		defer down.on.Store(false)
		stale := r
		stale.Version = 7
		if _, err := x.s.SaveSession(x.ctx, stale); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a losing update with the index down: err = %v, want ErrConflict", err)
		}
	})

	for _, from := range []string{"", "bob"} {
		name := "a change of owner from bob fails, nothing changed"
		if from == "" {
			name = "a login of an anonymous record fails, nothing changed"
		}
		t.Run(name, func(t *testing.T) {
			x := newIndexTest(t)
			down := x.failIndexOf("carol")
			r := x.save(x.record("a", from))
			down.on.Store(true)
			moved := r
			moved.User = "Carol"
			_, err := x.s.SaveSession(x.ctx, moved)
			down.on.Store(false)
			if err == nil || errors.Is(err, store.ErrConflict) || !errors.Is(err, errIndexDown) {
				t.Fatalf("moving the record with the new owner's index down: err = %v, want the index's error", err)
			}
			got, err := x.s.Session(x.ctx, r.ID)
			if err != nil || got.User != from || got.Version != 1 {
				t.Errorf("Session after the failed move = %q version %d, %v; want %q version 1", got.User, got.Version, err, from)
			}
			if got := x.listed("carol"); len(got) != 0 {
				t.Errorf("carol lists %v, want nothing", got)
			}
			if from != "" {
				if got := x.listed(from); !slices.Equal(got, []store.SessionID{r.ID}) {
					t.Errorf("%s lists %v, want the record", from, got)
				}
			}
			// Nothing was applied: the same save goes through now.
			x.save(moved)
			if got := x.listed("carol"); !slices.Equal(got, []store.SessionID{r.ID}) {
				t.Errorf("carol lists %v once the move went through, want the record", got)
			}
		})
	}
}

// stampPipelineErr is a go-redis hook that, while on, lets a pipeline run
// and then gives each of its commands an error, replies read included, as
// go-redis's Cluster pipeline does when its context ends while it waits to
// retry a command on a node that is down.
type stampPipelineErr struct{ on atomic.Bool }

func (h *stampPipelineErr) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *stampPipelineErr) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *stampPipelineErr) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if !h.on.Load() {
			return err
		}
		for _, cmd := range cmds {
			cmd.SetErr(context.DeadlineExceeded)
		}
		return context.DeadlineExceeded
	}
}

// TestSaveKeepsReadReply checks that a save whose compare-and-swap reply
// was read answers with it, though the pipeline it rode in then failed: a
// view that was applied does not report an error.
func TestSaveKeepsReadReply(t *testing.T) {
	x := newIndexTest(t)
	r := x.save(x.record("a", "alice"))
	stamp := &stampPipelineErr{}
	x.c.AddHook(stamp)
	stamp.on.Store(true)
	r.Data = []byte("changed")
	v, err := x.s.SaveSession(x.ctx, r)
	stamp.on.Store(false)
	if err != nil || v != 2 {
		t.Fatalf("update whose pipeline failed after its reply was read = %d, %v; want 2, nil", v, err)
	}
	if got, err := x.s.Session(x.ctx, r.ID); err != nil || string(got.Data) != "changed" {
		t.Errorf("Session = %q, %v; want the update applied", got.Data, err)
	}
}
