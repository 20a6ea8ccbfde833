package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/redistest"
	"github.com/sessionkit/sessionkit/store"
)

// TestIndexNodeDown kills the Cluster primary that holds a user's index
// while views of one of the user's sessions (its record on another,
// living primary) and new logins go on:
//
//   - a view answers success exactly when it was applied: none answers an
//     error yet changes the record (the issue's "503 that was applied
//     anyway": 12 of 20 before);
//   - a login that fails stores nothing;
//   - after the promotion, every session that was saved is listed and
//     ended by DeleteUserSessions ("log out everywhere" still ends it).
func TestIndexNodeDown(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	s := openDeployment(t, c.URL(), Options{})
	ctx := context.Background()
	user := "alice"
	idxMaster := c.MasterOf(t, s.indexKeys(user)[1])
	var r store.Record
	for i := 0; ; i++ {
		id := store.HashToken(fmt.Sprint("tok", i))
		if c.MasterOf(t, s.sessionKey(id.String())).Addr != idxMaster.Addr {
			now := time.Now()
			r = store.Record{ID: id, User: user, Data: []byte("0"), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
			break
		}
	}
	v, err := s.SaveSession(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	r.Version = v
	f := c.KillMaster(t, idxMaster)
	ok, failed, failedApplied := 0, 0, 0
	logins, loginErrs := 0, 0
	for i := range 20 {
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		r.Data = []byte(fmt.Sprint(i + 1))
		r.Expires = time.Now().Add(2 * time.Hour)
		v, err := s.SaveSession(cctx, r)
		cancel()
		if err == nil {
			ok++
			r.Version = v
		} else {
			failed++
			got, gerr := s.Session(ctx, r.ID)
			if gerr == nil && got.Version != r.Version {
				failedApplied++
				r.Version = got.Version
			}
			t.Logf("view %d: %v", i+1, err)
		}
		lctx, lcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		now := time.Now()
		login := store.Record{ID: store.HashToken(fmt.Sprint("login", i)), User: user, Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
		_, lerr := s.SaveSession(lctx, login)
		lcancel()
		_, gerr := s.Session(ctx, login.ID)
		switch {
		case lerr == nil:
			logins++
		case gerr == nil:
			t.Errorf("login %d failed (%v) yet was stored", i, lerr)
		default:
			loginErrs++
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("logins while the index's primary was down: %d ok, %d failed with nothing stored", logins, loginErrs)
	f.WaitPromotion(t, 20*time.Second)
	t.Logf("views: %d ok, %d errors, of which %d applied anyway", ok, failed, failedApplied)
	if failedApplied != 0 {
		t.Errorf("%d views answered an error yet were applied", failedApplied)
	}
	time.Sleep(2 * time.Second)
	list, err := s.UserSessions(ctx, user)
	if err != nil || len(list) != 1+logins {
		t.Errorf("UserSessions = %d records, %v", len(list), err)
	}
	n, err := s.DeleteUserSessions(ctx, user)
	if err != nil || n != 1+logins {
		t.Errorf("DeleteUserSessions = %d, %v", n, err)
	}
}
