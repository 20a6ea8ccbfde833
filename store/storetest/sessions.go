package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testSessions checks the life of one record: created at version 1, each
// save adding one and changing what it says (a login naming the account
// and when the user proved who they are, a step-up moving that time
// later), a save that names the wrong version changing nothing, and
// deletion.
func testSessions(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	now := time.Now()
	id := store.HashToken("token-1")

	if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Session of a missing record: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, id); err != nil {
		t.Errorf("DeleteSession of a missing record: %v", err)
	}
	ghost := store.Record{ID: id, Version: 1, Data: []byte("ghost"), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if _, err := s.SaveSession(ctx, ghost); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveSession naming version 1 of a missing record: err = %v, want ErrConflict", err)
	}
	if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a conflicting save of a missing record: Session err = %v, want ErrNotFound", err)
	}

	// A neighbour that no save or delete below may touch.
	other := store.Record{ID: store.HashToken("token-2"), User: "bob", Data: []byte("bob's"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "curl"}
	other.Version = mustSave(t, s, other)

	want := store.Record{ID: id, User: "alice", Created: now, Expires: now.Add(time.Hour), UserAgent: "Firefox"}
	for i, v := range []struct {
		data      string
		kind      store.Kind
		accountID string
		authTime  time.Time
	}{
		{"v1", "", "", time.Time{}},
		{"v2", store.KindSession, "acct-alice", now.Add(-time.Minute)},
		{"v3", store.KindSession, "acct-alice", now.Add(time.Second)},
		{"v4", store.KindCookieLogin, "acct-alice-2", now.Add(2 * time.Second)},
		{"v5", "", "", time.Time{}},
	} {
		want.Data = []byte(v.data)
		want.Kind, want.AccountID, want.AuthTime = v.kind, v.accountID, v.authTime
		want.LastSeen = now.Add(time.Duration(i) * time.Second)
		v, err := s.SaveSession(ctx, want)
		if err != nil {
			t.Fatalf("SaveSession of version %d: %v", want.Version, err)
		}
		if v != uint64(i+1) {
			t.Errorf("SaveSession of version %d returned version %d, want %d", want.Version, v, i+1)
		}
		want.Version = uint64(i + 1)
		checkSession(t, s, want)
	}

	// A save that loses changes nothing, whichever way it is wrong.
	for _, c := range []struct {
		name    string
		version uint64
	}{
		{"an older version", want.Version - 1},
		{"a version not reached yet", want.Version + 1},
		{"version 0 (create) over a live record", 0},
	} {
		lost := want
		lost.Version = c.version
		lost.User, lost.Data, lost.UserAgent = "mallory", []byte("lost"), "lost"
		lost.Kind, lost.AccountID, lost.AuthTime = store.KindRefreshFamily, "acct-mallory", now.Add(time.Hour)
		lost.Expires = now.Add(-time.Hour)
		if _, err := s.SaveSession(ctx, lost); !errors.Is(err, store.ErrConflict) {
			t.Errorf("SaveSession naming %s: err = %v, want ErrConflict", c.name, err)
		}
		checkSession(t, s, want)
	}

	if err := s.DeleteSession(ctx, id); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session after DeleteSession: err = %v, want ErrNotFound", err)
	}
	if _, err := s.SaveSession(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveSession naming the version of a deleted record: err = %v, want ErrConflict", err)
	}
	if err := s.DeleteSession(ctx, id); err != nil {
		t.Errorf("second DeleteSession: %v", err)
	}
	// The id can be used again, and its versions start over.
	want.Version = 0
	if v, err := s.SaveSession(ctx, want); err != nil || v != 1 {
		t.Errorf("SaveSession creating a deleted id again = %d, %v; want version 1", v, err)
	}
	checkSession(t, s, other)
}

// testSessionFields checks that every field of a record comes back as it
// was saved: an empty Kind stays empty and a zero AuthTime stays zero.
func testSessionFields(t *testing.T, s store.Sessions) {
	now := time.Now()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	cases := []struct {
		name string
		r    store.Record
	}{
		{"anonymous with nil data, no kind and no auth time", store.Record{
			Created: now, LastSeen: now, Expires: now.Add(time.Hour)}},
		{"a session login", store.Record{
			Kind: store.KindSession, User: "alice", AccountID: "9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d", AuthTime: now,
			Data: []byte("values"), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}},
		{"a cookie login, proved before it was created", store.Record{
			Kind: store.KindCookieLogin, User: "bob", AccountID: "acct-bob", AuthTime: now.Add(-time.Hour),
			Created: now, LastSeen: now, Expires: now.Add(time.Hour)}},
		{"a refresh family, auth time in another zone to the nanosecond", store.Record{
			Kind: store.KindRefreshFamily, User: "carol", AccountID: "acct-carol",
			AuthTime: time.Date(2001, 2, 3, 4, 5, 6, 123456789, zone),
			Created:  now, LastSeen: now, Expires: now.Add(time.Hour)}},
		{"an application's own kind, with an account id of odd bytes", store.Record{
			Kind: "app:device-grant ☃", User: "dave", AccountID: "acct:\x00-ünï ",
			AuthTime: now.Add(-time.Second), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}},
		{"a kind and an account id without a user or an auth time", store.Record{
			Kind: store.KindSession, AccountID: "acct-nobody", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}},
		{"empty data", store.Record{
			User: "alice", Data: []byte{}, Created: now, LastSeen: now, Expires: now.Add(time.Hour)}},
		{"every byte value and a long agent", store.Record{
			User: "Alice.B-2_x", Data: allBytes, Created: now, LastSeen: now, Expires: now.Add(time.Hour),
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0 — ünïcödé ☃ " + strings.Repeat("x", 1000)}},
		{"times in another zone, to the nanosecond, far apart", store.Record{
			User:     "carol",
			Data:     []byte(`{"cart":[1,2,3]}`),
			Created:  time.Date(2001, 2, 3, 4, 5, 6, 123456789, zone),
			LastSeen: now.Add(-time.Minute).Round(0).In(zone),
			Expires:  time.Date(now.Year()+30, 12, 31, 23, 59, 59, 999999999, time.UTC),
		}},
	}
	for i, c := range cases {
		c.r.ID = store.HashToken(fmt.Sprintf("fields-%d", i))
		v, err := s.SaveSession(context.Background(), c.r)
		if err != nil {
			t.Errorf("%s: SaveSession: %v", c.name, err)
			continue
		}
		c.r.Version = v
		if d := diffRecord(mustSession(t, s, c.r.ID), c.r); d != "" {
			t.Errorf("%s: read back differs: %s", c.name, d)
		}
	}
}

// testSessionCopies checks that the caller and the store never share Data:
// changing a slice after handing it over or getting it back must not change
// what the store holds.
func testSessionCopies(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	now := time.Now()
	r := store.Record{ID: store.HashToken("copies"), User: "alice", Data: []byte("original"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	v := mustSave(t, s, r)
	r.Data[0] = 'X'
	if got := mustSession(t, s, r.ID); string(got.Data) != "original" {
		t.Errorf("changing Data after creating the record changed the stored data to %q", got.Data)
	}

	got := mustSession(t, s, r.ID)
	got.Data[0] = 'X'
	if again := mustSession(t, s, r.ID); string(again.Data) != "original" {
		t.Errorf("changing the Data Session returned changed the stored data to %q", again.Data)
	}

	r.Version, r.Data = v, []byte("second")
	mustSave(t, s, r)
	r.Data[0] = 'X'
	if got := mustSession(t, s, r.ID); string(got.Data) != "second" {
		t.Errorf("changing Data after saving the record changed the stored data to %q", got.Data)
	}

	list, err := s.UserSessions(ctx, "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("UserSessions = %d records, %v; want 1", len(list), err)
	}
	list[0].Data[0] = 'X'
	if got := mustSession(t, s, r.ID); string(got.Data) != "second" {
		t.Errorf("changing the Data UserSessions returned changed the stored data to %q", got.Data)
	}
}

// testLargeSession checks that a record with a large value keeps every
// byte of it.
func testLargeSession(t *testing.T, s store.Sessions) {
	now := time.Now()
	r := store.Record{ID: store.HashToken("large"), Data: make([]byte, 1<<20),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	rand.Read(r.Data)
	r.Version = mustSave(t, s, r)
	if got := mustSession(t, s, r.ID); !bytes.Equal(got.Data, r.Data) {
		t.Errorf("a 1 MiB value came back as %d bytes, not the same", len(got.Data))
	}
	r.Data = make([]byte, 1<<20)
	rand.Read(r.Data)
	mustSave(t, s, r)
	if got := mustSession(t, s, r.ID); !bytes.Equal(got.Data, r.Data) {
		t.Errorf("a 1 MiB value saved over another came back as %d bytes, not the same", len(got.Data))
	}
}

// mustSave saves r and returns the new version, stopping the test if the
// save fails.
func mustSave(t *testing.T, s store.Sessions, r store.Record) uint64 {
	t.Helper()
	v, err := s.SaveSession(context.Background(), r)
	if err != nil {
		t.Fatalf("SaveSession(%s, version %d): %v", r.ID, r.Version, err)
	}
	return v
}

// mustSession returns the record named id, stopping the test if it cannot.
func mustSession(t *testing.T, s store.Sessions, id store.SessionID) store.Record {
	t.Helper()
	r, err := s.Session(context.Background(), id)
	if err != nil {
		t.Fatalf("Session(%s): %v", id, err)
	}
	return r
}

// checkSession reports an error unless the store holds want.
func checkSession(t *testing.T, s store.Sessions, want store.Record) {
	t.Helper()
	if d := diffRecord(mustSession(t, s, want.ID), want); d != "" {
		t.Errorf("stored record differs from the one saved: %s", d)
	}
}

// diffRecord describes how got differs from want, or returns "" when they
// are the same as far as a store promises: Data compares by content (nil
// and empty are the same), times to the millisecond, and a zero AuthTime
// only to the zero time.
func diffRecord(got, want store.Record) string {
	var d []string
	if got.ID != want.ID {
		d = append(d, fmt.Sprintf("ID %s, want %s", got.ID, want.ID))
	}
	if got.Kind != want.Kind {
		d = append(d, fmt.Sprintf("Kind %q, want %q", got.Kind, want.Kind))
	}
	if got.User != want.User {
		d = append(d, fmt.Sprintf("User %q, want %q", got.User, want.User))
	}
	if got.AccountID != want.AccountID {
		d = append(d, fmt.Sprintf("AccountID %q, want %q", got.AccountID, want.AccountID))
	}
	switch {
	case want.AuthTime.IsZero() && !got.AuthTime.IsZero():
		d = append(d, fmt.Sprintf("AuthTime %v, want the zero time", got.AuthTime))
	case !want.AuthTime.IsZero() && (got.AuthTime.IsZero() || !sameTime(got.AuthTime, want.AuthTime)):
		d = append(d, fmt.Sprintf("AuthTime %v, want %v", got.AuthTime, want.AuthTime))
	}
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data %q, want %q", abbrev(got.Data), abbrev(want.Data)))
	}
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("Version %d, want %d", got.Version, want.Version))
	}
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{
		{"Created", got.Created, want.Created},
		{"LastSeen", got.LastSeen, want.LastSeen},
		{"Expires", got.Expires, want.Expires},
	} {
		if !sameTime(tm.got, tm.want) {
			d = append(d, fmt.Sprintf("%s %v, want %v", tm.name, tm.got, tm.want))
		}
	}
	if got.UserAgent != want.UserAgent {
		d = append(d, fmt.Sprintf("UserAgent %q, want %q", abbrev([]byte(got.UserAgent)), abbrev([]byte(want.UserAgent))))
	}
	return strings.Join(d, "; ")
}

// sameTime reports whether a and b are less than a millisecond apart.
func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return -time.Millisecond < d && d < time.Millisecond
}

// abbrev shortens b for an error message.
func abbrev(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "..."...)
	}
	return b
}
