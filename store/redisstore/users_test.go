package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// legacyUser returns u as a version that gave accounts no id wrote it.
func legacyUser(u store.User) string {
	return nanos(u.Created) + ":" + nanos(u.Updated) + ":" + strconv.Itoa(len(u.Name)) + ":" + u.Name + u.PasswordHash
}

// TestLegacyUserGetsID checks that an account written before accounts had
// ids gets one on its first read, durably, and that readers racing to
// read it first all get the same one.
func TestLegacyUserGetsID(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	created := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	old := store.User{Name: "Old:Timer", PasswordHash: "$argon2id$old:hash", Created: created, Updated: created}
	if err := c.HSet(ctx, s.usersKey(), store.FoldName(old.Name), legacyUser(old)).Err(); err != nil {
		t.Fatal(err)
	}

	const readers = 16
	ids := make([]string, readers)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range readers {
		wg.Go(func() {
			<-start
			var u store.User
			if i%2 == 0 {
				u, errs[i] = s.User(ctx, "old:timer")
			} else {
				var list []store.User
				list, errs[i] = s.ListUsers(ctx)
				if errs[i] == nil && len(list) == 1 {
					u = list[0]
				}
			}
			ids[i] = u.ID
			if errs[i] == nil && (u.Name != old.Name || u.PasswordHash != old.PasswordHash ||
				!u.Created.Equal(created) || !u.Updated.Equal(created)) {
				t.Errorf("reader %d read %+v, want %+v with an id", i, u, old)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range readers {
		if errs[i] != nil {
			t.Fatalf("reader %d: %v", i, errs[i])
		}
		if ids[i] == "" || ids[i] != ids[0] {
			t.Errorf("reader %d got the id %q, reader 0 %q: want one non-empty id for all", i, ids[i], ids[0])
		}
	}

	// It is stored: a store reading it later, and a password change, keep it.
	v, err := c.HGet(ctx, s.usersKey(), "old:timer").Result()
	if err != nil || !strings.HasPrefix(v, "@"+strconv.Itoa(len(ids[0]))+":"+ids[0]) {
		t.Errorf("stored account = %q, %v; want it to hold the id %q", v, err, ids[0])
	}
	other := New(c, Options{Prefix: s.prefix})
	if u, err := other.User(ctx, "OLD:TIMER"); err != nil || u.ID != ids[0] {
		t.Errorf("another store reads %+v, %v; want the id %q", u, err, ids[0])
	}
	later := created.Add(time.Hour)
	if err := s.SetPasswordHash(ctx, "old:timer", "new:hash", later); err != nil {
		t.Fatal(err)
	}
	if u, err := s.User(ctx, "old:timer"); err != nil || u.ID != ids[0] || u.PasswordHash != "new:hash" ||
		!u.Updated.Equal(later) || !u.Created.Equal(created) || u.Name != old.Name {
		t.Errorf("after SetPasswordHash: %+v, %v; want the id %q kept", u, err, ids[0])
	}

	// A password change before the first read keeps the account without
	// an id, and the read then gives it one.
	second := store.User{Name: "second", PasswordHash: "h", Created: created, Updated: created}
	if err := c.HSet(ctx, s.usersKey(), "second", legacyUser(second)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "second", "h2", later); err != nil {
		t.Fatal(err)
	}
	u, err := s.User(ctx, "second")
	if err != nil || u.ID == "" || u.ID == ids[0] || u.PasswordHash != "h2" || !u.Updated.Equal(later) {
		t.Errorf("account changed before its first read = %+v, %v; want a new id and the new hash", u, err)
	}
	list, err := s.ListUsers(ctx)
	if err != nil || len(list) != 2 || list[0].ID != ids[0] || list[1].ID != u.ID {
		t.Errorf("ListUsers = %+v, %v; want both accounts with their ids", list, err)
	}
}

// TestUserIDs checks what CreateUser does with ids: it refuses an empty
// one, and keeps one of any bytes.
func TestUserIDs(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	now := time.Now()
	err := s.CreateUser(ctx, store.User{Name: "alice", PasswordHash: "h", Created: now, Updated: now})
	if err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser without an id: err = %v, want an error other than ErrExists", err)
	}
	if _, err := s.User(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateUser without an id created the account: err = %v", err)
	}
	odd := store.User{ID: "@3:x:\x00\xff 12:", Name: "bob", PasswordHash: "@1:h", Created: now, Updated: now}
	if err := s.CreateUser(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "bob", "@2:h", now); err != nil {
		t.Fatal(err)
	}
	if u, err := s.User(ctx, "bob"); err != nil || u.ID != odd.ID || u.PasswordHash != "@2:h" || u.Name != "bob" {
		t.Errorf("User = %+v, %v; want the id %q kept", u, err, odd.ID)
	}
}
