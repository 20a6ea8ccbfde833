package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// passkeyTime is the registration time of the test passkeys: whole
// milliseconds, so that a backend that keeps times to the millisecond
// gives it back Equal.
var passkeyTime = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// newPasskey returns a passkey of the account accountID, named name, with
// every field set, registered at passkeyTime plus offset.
func newPasskey(id []byte, accountID, user, name string, offset time.Duration) store.Passkey {
	return store.Passkey{
		ID:             id,
		AccountID:      accountID,
		User:           user,
		Name:           name,
		PublicKey:      []byte("\xa5\x01\x02\x03\x26\x20\x01\x21\x58\x20public key of " + name),
		AAGUID:         []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\xff"),
		Transports:     []string{"internal", "hybrid"},
		SignCount:      1,
		BackupEligible: true,
		BackupState:    false,
		Created:        passkeyTime.Add(offset),
	}
}

// testPasskeys checks the life of a passkey: added, found by its ID,
// listed with its account's others oldest first, its ID unique across
// accounts, and deleted.
func testPasskeys(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	id := []byte("credential-1")
	if _, err := s.Passkey(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Passkey of a missing passkey: err = %v, want ErrNotFound", err)
	}
	if list, err := s.AccountPasskeys(ctx, "acct-alice"); err != nil || len(list) != 0 {
		t.Fatalf("AccountPasskeys of an account with none = %d passkeys, %v; want none, nil", len(list), err)
	}

	// Alice's passkeys, added oldest first with IDs that sort otherwise,
	// and between them Bob's, which her list must not show.
	alice := []store.Passkey{
		newPasskey([]byte("m-laptop"), "acct-alice", "alice", "laptop", 0),
		newPasskey([]byte("z-phone"), "acct-alice", "alice", "phone", time.Minute),
		newPasskey([]byte("a-key"), "acct-alice", "alice", "security key", 2*time.Minute),
	}
	bob := newPasskey([]byte("b-bob"), "acct-bob", "bob", "bob's laptop", 90*time.Second)
	for i, p := range alice {
		if err := s.AddPasskey(ctx, p); err != nil {
			t.Fatalf("AddPasskey(%q): %v", p.ID, err)
		}
		if i == 0 {
			if err := s.AddPasskey(ctx, bob); err != nil {
				t.Fatalf("AddPasskey(%q): %v", bob.ID, err)
			}
		}
	}
	for _, p := range append(slices.Clone(alice), bob) {
		checkPasskey(t, s, p, "after AddPasskey")
	}
	checkAccountPasskeys(t, s, "acct-alice", alice, "")
	checkAccountPasskeys(t, s, "acct-bob", []store.Passkey{bob}, "")
	checkAccountPasskeys(t, s, "acct-carol", nil, "for an account with none")

	// A credential ID is unique in the store, whichever account adds it
	// again; the passkey that has it stays as it was.
	for _, c := range []struct {
		name string
		p    store.Passkey
	}{
		{"of the same account", newPasskey([]byte("z-phone"), "acct-alice", "alice", "again", time.Hour)},
		{"of another account", newPasskey([]byte("z-phone"), "acct-mallory", "mallory", "stolen", time.Hour)},
	} {
		if err := s.AddPasskey(ctx, c.p); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddPasskey of a taken ID %s: err = %v, want ErrExists", c.name, err)
		}
		checkPasskey(t, s, alice[1], "after AddPasskey of its ID "+c.name)
	}
	checkAccountPasskeys(t, s, "acct-mallory", nil, "after its AddPasskey of a taken ID")
	checkAccountPasskeys(t, s, "acct-alice", alice, "after AddPasskey of a taken ID")

	if err := s.DeletePasskey(ctx, "acct-alice", alice[1].ID); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	if _, err := s.Passkey(ctx, alice[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Passkey after DeletePasskey: err = %v, want ErrNotFound", err)
	}
	checkAccountPasskeys(t, s, "acct-alice", []store.Passkey{alice[0], alice[2]}, "after DeletePasskey")
	if err := s.DeletePasskey(ctx, "acct-alice", alice[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeletePasskey: err = %v, want ErrNotFound", err)
	}
	if err := s.RenamePasskey(ctx, "acct-alice", alice[1].ID, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RenamePasskey of a deleted passkey: err = %v, want ErrNotFound", err)
	}
	if err := s.UsePasskey(ctx, alice[1].ID, 100, false, passkeyTime.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UsePasskey of a deleted passkey: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Passkey(ctx, alice[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Passkey after UsePasskey of a deleted passkey: err = %v, want ErrNotFound", err)
	}

	// The ID is free again: registered anew, the passkey is the newest.
	again := newPasskey(alice[1].ID, "acct-alice", "alice", "phone again", time.Hour)
	if err := s.AddPasskey(ctx, again); err != nil {
		t.Fatalf("AddPasskey of a deleted passkey's ID: %v", err)
	}
	checkPasskey(t, s, again, "after it was added again")
	checkAccountPasskeys(t, s, "acct-alice", []store.Passkey{alice[0], alice[2], again}, "after a deleted ID was added again")
	checkPasskey(t, s, bob, "after changes to another account's passkeys")
}

// testPasskeyFields checks that every field of a passkey comes back as it
// was added, and that neither the passkey added nor one returned shares
// memory with what the store keeps.
func testPasskeyFields(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	zone := time.FixedZone("UTC-3", -3*3600)
	for _, p := range []store.Passkey{
		{
			ID: []byte{0x01, 0x02, 0x03, 0x04}, AccountID: "acct-alice", User: "Alice", Name: "laptop",
			PublicKey:  []byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x00, 0xff},
			AAGUID:     []byte{0xad, 0xce, 0x00, 0x02, 0x35, 0xbc, 0xc6, 0x0a, 0x64, 0x8b, 0x0b, 0x25, 0xf1, 0xf0, 0x55, 0x03},
			Transports: []string{"internal", "hybrid", "usb"},
			SignCount:  4_000_000_000, BackupEligible: true, BackupState: true,
			Created: passkeyTime.In(zone), LastUsed: passkeyTime.Add(36 * time.Hour).In(zone),
		},
		{
			// Nothing said but what is required: no name, no transports,
			// an authenticator that keeps no counter and names no model,
			// never used.
			ID: []byte{0xff}, AccountID: "acct-bob", User: "bob",
			PublicKey: []byte{0xa4}, AAGUID: make([]byte, 16),
			Created: passkeyTime,
		},
		{
			ID: []byte("eligible, not backed up"), AccountID: "acct-bob", User: "bob", Name: "Ünïcödé ✓",
			PublicKey: []byte{0xa5}, AAGUID: make([]byte, 16), Transports: []string{"nfc"},
			SignCount: 1, BackupEligible: true, BackupState: false, Created: passkeyTime.Add(time.Millisecond),
		},
		{
			ID: []byte("not eligible, backed up"), AccountID: "acct-bob", User: "bob", Name: "odd flags",
			PublicKey: []byte{0xa5}, AAGUID: make([]byte, 16), Transports: []string{"ble", "smart-card"},
			SignCount: 7, BackupEligible: false, BackupState: true, Created: passkeyTime.Add(2 * time.Millisecond),
			LastUsed: passkeyTime.Add(3 * time.Millisecond),
		},
	} {
		want := clonePasskey(p)
		if err := s.AddPasskey(ctx, p); err != nil {
			t.Fatalf("AddPasskey(%x): %v", p.ID, err)
		}
		// The caller may reuse what it added.
		p.ID[0] ^= 0xff
		p.PublicKey[0] ^= 0xff
		p.AAGUID[0] ^= 0xff
		if len(p.Transports) > 0 {
			p.Transports[0] = "changed"
		}
		checkPasskey(t, s, want, "after the caller changed what it added")

		got, err := s.Passkey(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.ID[0] ^= 0xff
		got.PublicKey[0] ^= 0xff
		got.AAGUID[0] ^= 0xff
		if len(got.Transports) > 0 {
			got.Transports[0] = "changed"
		}
		checkPasskey(t, s, want, "after the caller changed what Passkey returned")

		list, err := s.AccountPasskeys(ctx, want.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range list {
			got.ID[0] ^= 0xff
			got.PublicKey[0] ^= 0xff
			got.AAGUID[0] ^= 0xff
			if len(got.Transports) > 0 {
				got.Transports[0] = "changed"
			}
		}
		checkPasskey(t, s, want, "after the caller changed what AccountPasskeys returned")
	}
}

// A passkeyUse is one call to UsePasskey, and what it must do.
type passkeyUse struct {
	name    string
	count   uint32
	backup  bool
	wantErr error // nil, or store.ErrSignCount: nothing changes
}

// testPasskeyUse checks UsePasskey: a counter that increases is recorded,
// with the backup state and the time; one that does not (equal, lower,
// or zero after a nonzero count) is refused and changes nothing; two
// authenticators that keep no counter may both report zero, again and
// again.
func testPasskeyUse(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		start uint32
		uses  []passkeyUse
	}{
		{"counting", 5, []passkeyUse{
			{"a higher count", 6, true, nil},
			{"the same count", 6, false, store.ErrSignCount},
			{"a lower count", 3, false, store.ErrSignCount},
			{"zero after a nonzero count", 0, false, store.ErrSignCount},
			{"a count far ahead", 1000, false, nil},
			{"one less", 999, true, store.ErrSignCount},
			{"one more", 1001, true, nil},
			{"the highest count but one", 1<<32 - 2, false, nil},
			{"the highest count", 1<<32 - 1, true, nil},
			{"the highest count again", 1<<32 - 1, false, store.ErrSignCount},
			{"zero after the highest count", 0, false, store.ErrSignCount},
		}},
		{"no counter", 0, []passkeyUse{
			{"zero", 0, true, nil},
			{"zero again", 0, false, nil},
			{"zero a third time", 0, true, nil},
			{"a first nonzero count", 1, true, nil},
			{"zero after it", 0, true, store.ErrSignCount},
			{"the same count", 1, true, store.ErrSignCount},
			{"a higher count", 2, false, nil},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := newPasskey([]byte("use "+c.name), "acct-alice", "alice", c.name, 0)
			want.SignCount = c.start
			if err := s.AddPasskey(ctx, want); err != nil {
				t.Fatalf("AddPasskey: %v", err)
			}
			// A neighbour that no use below may touch.
			other := newPasskey([]byte("use "+c.name+" (other)"), "acct-alice", "alice", "other", time.Second)
			other.SignCount = c.start
			if err := s.AddPasskey(ctx, other); err != nil {
				t.Fatalf("AddPasskey: %v", err)
			}
			for i, u := range c.uses {
				used := passkeyTime.Add(time.Duration(i+1) * time.Hour)
				err := s.UsePasskey(ctx, want.ID, u.count, u.backup, used)
				if u.wantErr == nil {
					if err != nil {
						t.Fatalf("UsePasskey with %s (%d after %d): %v", u.name, u.count, want.SignCount, err)
					}
					want.SignCount, want.BackupState, want.LastUsed = u.count, u.backup, used
				} else if !errors.Is(err, u.wantErr) {
					t.Errorf("UsePasskey with %s (%d after %d): err = %v, want %v",
						u.name, u.count, want.SignCount, err, u.wantErr)
				}
				checkPasskey(t, s, want, "after UsePasskey with "+u.name)
			}
			checkPasskey(t, s, other, "after uses of another passkey")
		})
	}
	if err := s.UsePasskey(ctx, []byte("missing"), 1, false, passkeyTime); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UsePasskey of a missing passkey: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Passkey(ctx, []byte("missing")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after UsePasskey of a missing passkey: Passkey err = %v, want ErrNotFound", err)
	}
}

// testPasskeyUseConcurrent has many goroutines report the same counter at
// once, as clones of one authenticator would, round after round: in each,
// exactly one login is recorded, and every other is refused with
// ErrSignCount.
func testPasskeyUseConcurrent(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	const (
		n      = 8
		rounds = 30
	)
	want := newPasskey([]byte("raced"), "acct-alice", "alice", "raced", 0)
	want.SignCount = 1
	if err := s.AddPasskey(ctx, want); err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	for round := range rounds {
		count := uint32(10 + round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		used := make([]time.Time, n)
		for i := range n {
			used[i] = passkeyTime.Add(time.Duration(round+1)*time.Hour + time.Duration(i)*time.Second)
			wg.Go(func() {
				<-start // all at once, as near as may be
				errs[i] = s.UsePasskey(ctx, want.ID, count, i%2 == 0, used[i])
			})
		}
		close(start)
		wg.Wait()
		won, winner := 0, -1
		for i, err := range errs {
			switch {
			case err == nil:
				won, winner = won+1, i
			case errors.Is(err, store.ErrSignCount):
			default:
				t.Errorf("count %d, goroutine %d: %v", count, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d goroutines reporting count %d at once succeeded, want exactly 1", won, n, count)
		}
		want.SignCount, want.BackupState, want.LastUsed = count, winner%2 == 0, used[winner]
		checkPasskey(t, s, want, fmt.Sprintf("after %d goroutines reported count %d (goroutine %d won)", n, count, winner))
	}
}

// testPasskeyOwner checks that only the account a passkey belongs to
// renames or deletes it: any other account is told there is no such
// passkey, and changes nothing.
func testPasskeyOwner(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	mine := newPasskey([]byte("alice's"), "acct-alice", "alice", "laptop", 0)
	theirs := newPasskey([]byte("bob's"), "acct-bob", "bob", "phone", time.Second)
	for _, p := range []store.Passkey{mine, theirs} {
		if err := s.AddPasskey(ctx, p); err != nil {
			t.Fatalf("AddPasskey(%q): %v", p.ID, err)
		}
	}
	for _, c := range []struct {
		name      string
		accountID string
		id        []byte
	}{
		{"another account", "acct-bob", mine.ID},
		{"an account with none", "acct-mallory", mine.ID},
		{"the empty account ID", "", mine.ID},
		{"an account ID in another case", "ACCT-ALICE", mine.ID},
		{"a missing ID", "acct-alice", []byte("missing")},
	} {
		if err := s.RenamePasskey(ctx, c.accountID, c.id, "renamed by "+c.name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RenamePasskey by %s: err = %v, want ErrNotFound", c.name, err)
		}
		if err := s.DeletePasskey(ctx, c.accountID, c.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeletePasskey by %s: err = %v, want ErrNotFound", c.name, err)
		}
		checkPasskey(t, s, mine, "after RenamePasskey and DeletePasskey by "+c.name)
		checkPasskey(t, s, theirs, "after RenamePasskey and DeletePasskey by "+c.name)
	}
	if _, err := s.Passkey(ctx, []byte("missing")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after RenamePasskey of a missing passkey: Passkey err = %v, want ErrNotFound", err)
	}

	// The owner renames it, as often as it likes; nothing else changes.
	for _, name := range []string{"work laptop", "", "laptop ✓"} {
		if err := s.RenamePasskey(ctx, "acct-alice", mine.ID, name); err != nil {
			t.Fatalf("RenamePasskey(%q): %v", name, err)
		}
		mine.Name = name
		checkPasskey(t, s, mine, fmt.Sprintf("after RenamePasskey(%q)", name))
	}
	checkAccountPasskeys(t, s, "acct-alice", []store.Passkey{mine}, "after RenamePasskey")
	checkPasskey(t, s, theirs, "after another account's passkey was renamed")

	if err := s.DeletePasskey(ctx, "acct-alice", mine.ID); err != nil {
		t.Fatalf("DeletePasskey by its account: %v", err)
	}
	if _, err := s.Passkey(ctx, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Passkey after DeletePasskey: err = %v, want ErrNotFound", err)
	}
	checkAccountPasskeys(t, s, "acct-alice", nil, "after DeletePasskey of its only passkey")
	checkPasskey(t, s, theirs, "after another account's passkey was deleted")
}

// testPasskeyAccountDeleted checks that deleting an account deletes its
// passkeys, and no one else's: not another account's, and not those of an
// earlier account of the same name.
func testPasskeyAccountDeleted(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	for _, u := range []store.User{
		{ID: "acct-alice", Name: "Alice"},
		{ID: "acct-bob", Name: "bob"},
	} {
		u.PasswordHash, u.Created, u.Updated = "h", passkeyTime, passkeyTime
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Name, err)
		}
	}
	alice := []store.Passkey{
		newPasskey([]byte("alice 1"), "acct-alice", "Alice", "laptop", 0),
		newPasskey([]byte("alice 2"), "acct-alice", "Alice", "phone", time.Second),
	}
	kept := []store.Passkey{
		newPasskey([]byte("bob 1"), "acct-bob", "bob", "laptop", 0),
		// A passkey of an earlier account named alice, which the store
		// has kept: it belongs to that account, not the one deleted.
		newPasskey([]byte("old alice"), "acct-old-alice", "alice", "old", 0),
	}
	for _, p := range append(slices.Clone(alice), kept...) {
		if err := s.AddPasskey(ctx, p); err != nil {
			t.Fatalf("AddPasskey(%q): %v", p.ID, err)
		}
	}

	if err := s.DeleteUser(ctx, "ALICE"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkAccountPasskeys(t, s, "acct-alice", nil, "after DeleteUser of the account")
	for _, p := range alice {
		if got, err := s.Passkey(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Passkey(%q) after DeleteUser of its account = %+v, %v; want ErrNotFound", p.ID, got, err)
		}
	}
	for _, p := range kept {
		checkPasskey(t, s, p, "after DeleteUser of another account")
	}
	checkAccountPasskeys(t, s, "acct-bob", kept[:1], "after DeleteUser of another account")

	// The deleted passkeys' IDs are free again, for the new account of
	// the same name.
	if err := s.CreateUser(ctx, store.User{ID: "acct-alice-2", Name: "alice", PasswordHash: "h",
		Created: passkeyTime, Updated: passkeyTime}); err != nil {
		t.Fatalf("CreateUser of a deleted account's name: %v", err)
	}
	again := newPasskey(alice[0].ID, "acct-alice-2", "alice", "new laptop", time.Hour)
	if err := s.AddPasskey(ctx, again); err != nil {
		t.Fatalf("AddPasskey of a deleted account's passkey's ID: %v", err)
	}
	checkAccountPasskeys(t, s, "acct-alice-2", []store.Passkey{again}, "")
	checkAccountPasskeys(t, s, "acct-alice", nil, "after its name was registered again")
}

// testPasskeyIDs checks that a credential ID is any bytes: every byte
// value, NUL and 0xff included, at either end and alone, up to 1023 bytes,
// each ID a passkey of its own, however little it differs from another.
func testPasskeyIDs(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	long := make([]byte, 1023)
	for i := range long {
		long[i] = byte(255 - i%256)
	}
	longOther := slices.Clone(long)
	longOther[len(longOther)-1] ^= 1
	reversed := slices.Clone(allBytes)
	slices.Reverse(reversed)
	ids := [][]byte{
		{0x00}, {0x00, 0x00}, {0xff}, {0xff, 0xff}, {0x00, 0xff}, {0xff, 0x00},
		[]byte("id"), []byte("ID"), []byte("id\x00"), []byte("id\x00x"), []byte("id\x00y"),
		[]byte("\xc3\x28 invalid UTF-8"), []byte("%_*' \"\\"),
		allBytes, reversed, long, longOther,
	}
	want := make([]store.Passkey, len(ids))
	for i, id := range ids {
		want[i] = newPasskey(slices.Clone(id), "acct-ids", "ids", fmt.Sprintf("passkey %d", i), time.Duration(i)*time.Second)
		if err := s.AddPasskey(ctx, want[i]); err != nil {
			t.Fatalf("AddPasskey(%x): %v", abbrev(id), err)
		}
	}
	for _, p := range want {
		checkPasskey(t, s, p, "after AddPasskey of every ID")
	}
	checkAccountPasskeys(t, s, "acct-ids", want, "")
	for _, id := range [][]byte{{0x00, 0x00, 0x00}, {0xfe}, []byte("Id"), []byte("id\x00z"), allBytes[:255], long[:1022]} {
		if _, err := s.Passkey(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Passkey(%x), an ID that differs from those added: err = %v, want ErrNotFound", abbrev(id), err)
		}
	}

	// Each ID is used, renamed and deleted alone.
	for i := range want {
		used := passkeyTime.Add(time.Hour + time.Duration(i)*time.Second)
		if err := s.UsePasskey(ctx, want[i].ID, 2, true, used); err != nil {
			t.Fatalf("UsePasskey(%x): %v", abbrev(want[i].ID), err)
		}
		want[i].SignCount, want[i].BackupState, want[i].LastUsed = 2, true, used
		name := fmt.Sprintf("renamed %d", i)
		if err := s.RenamePasskey(ctx, "acct-ids", want[i].ID, name); err != nil {
			t.Fatalf("RenamePasskey(%x): %v", abbrev(want[i].ID), err)
		}
		want[i].Name = name
	}
	var kept []store.Passkey
	for i, p := range want {
		if i%2 == 0 {
			kept = append(kept, p)
			continue
		}
		if err := s.DeletePasskey(ctx, "acct-ids", p.ID); err != nil {
			t.Fatalf("DeletePasskey(%x): %v", abbrev(p.ID), err)
		}
		if _, err := s.Passkey(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Passkey(%x) after DeletePasskey: err = %v, want ErrNotFound", abbrev(p.ID), err)
		}
	}
	for _, p := range kept {
		checkPasskey(t, s, p, "after uses, renames and deletions of the other IDs")
	}
	checkAccountPasskeys(t, s, "acct-ids", kept, "after every other passkey was deleted")
}

// checkPasskey checks that the store holds want under want.ID, every field
// as it is in want.
func checkPasskey(t *testing.T, s store.Passkeys, want store.Passkey, when string) {
	t.Helper()
	got, err := s.Passkey(context.Background(), want.ID)
	if err != nil {
		t.Errorf("%s: Passkey(%x): %v", when, abbrev(want.ID), err)
		return
	}
	if !samePasskey(got, want) {
		t.Errorf("%s: Passkey(%x) =\n\t%s\nwant\n\t%s", when, abbrev(want.ID), formatPasskey(got), formatPasskey(want))
	}
}

// checkAccountPasskeys checks that AccountPasskeys of accountID returns
// want, in its order, every field as it is in want; an empty want means
// an empty slice, not an error.
func checkAccountPasskeys(t *testing.T, s store.Passkeys, accountID string, want []store.Passkey, when string) {
	t.Helper()
	if when != "" {
		when += ": "
	}
	got, err := s.AccountPasskeys(context.Background(), accountID)
	if err != nil {
		t.Errorf("%sAccountPasskeys(%q): %v", when, accountID, err)
		return
	}
	if len(got) != len(want) {
		t.Errorf("%sAccountPasskeys(%q) = %d passkeys %q, want %d %q",
			when, accountID, len(got), passkeyIDs(got), len(want), passkeyIDs(want))
		return
	}
	for i := range want {
		if !samePasskey(got[i], want[i]) {
			t.Errorf("%sAccountPasskeys(%q)[%d] =\n\t%s\nwant\n\t%s (oldest first: %q)",
				when, accountID, i, formatPasskey(got[i]), formatPasskey(want[i]), passkeyIDs(want))
		}
	}
}

// samePasskey reports whether a and b are the same passkey, field for
// field. Times compare with Equal (a zero time only to a zero time);
// transports, nil and empty alike.
func samePasskey(a, b store.Passkey) bool {
	return bytes.Equal(a.ID, b.ID) && a.AccountID == b.AccountID && a.User == b.User && a.Name == b.Name &&
		bytes.Equal(a.PublicKey, b.PublicKey) && bytes.Equal(a.AAGUID, b.AAGUID) &&
		slices.Equal(a.Transports, b.Transports) && a.SignCount == b.SignCount &&
		a.BackupEligible == b.BackupEligible && a.BackupState == b.BackupState &&
		a.Created.Equal(b.Created) && a.LastUsed.IsZero() == b.LastUsed.IsZero() && a.LastUsed.Equal(b.LastUsed)
}

// formatPasskey shows p for an error message, long byte strings shortened.
func formatPasskey(p store.Passkey) string {
	return fmt.Sprintf("{ID:%x AccountID:%q User:%q Name:%q PublicKey:%x AAGUID:%x Transports:%q SignCount:%d "+
		"BackupEligible:%t BackupState:%t Created:%v LastUsed:%v}",
		abbrev(p.ID), p.AccountID, p.User, p.Name, abbrev(p.PublicKey), p.AAGUID, p.Transports, p.SignCount,
		p.BackupEligible, p.BackupState, p.Created, p.LastUsed)
}

// passkeyIDs returns the IDs of list, for an error message.
func passkeyIDs(list []store.Passkey) []string {
	ids := make([]string, len(list))
	for i, p := range list {
		ids[i] = string(abbrev(p.ID))
	}
	return ids
}

// clonePasskey returns a copy of p that shares no memory with it.
func clonePasskey(p store.Passkey) store.Passkey {
	p.ID = slices.Clone(p.ID)
	p.PublicKey = slices.Clone(p.PublicKey)
	p.AAGUID = slices.Clone(p.AAGUID)
	p.Transports = slices.Clone(p.Transports)
	return p
}

// testPasskeysCanceled checks the methods of store.Passkeys with an ended
// context: each fails, and none changes a passkey.
func testPasskeysCanceled(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	// A passkey the canceled calls below must leave alone.
	kept := newPasskey([]byte("kept"), "acct-canceled", "canceled", "kept", 0)
	if err := s.AddPasskey(ctx, kept); err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	created := newPasskey([]byte("created"), "acct-canceled", "canceled", "created", time.Second)
	checkCanceled(t, []canceledCall{
		{"AddPasskey", func(ctx context.Context) error { return s.AddPasskey(ctx, created) }},
		{"Passkey", func(ctx context.Context) error { _, err := s.Passkey(ctx, kept.ID); return err }},
		{"AccountPasskeys", func(ctx context.Context) error {
			_, err := s.AccountPasskeys(ctx, kept.AccountID)
			return err
		}},
		{"UsePasskey", func(ctx context.Context) error {
			return s.UsePasskey(ctx, kept.ID, kept.SignCount+1, true, passkeyTime.Add(time.Hour))
		}},
		{"RenamePasskey", func(ctx context.Context) error {
			return s.RenamePasskey(ctx, kept.AccountID, kept.ID, "renamed")
		}},
		{"DeletePasskey", func(ctx context.Context) error { return s.DeletePasskey(ctx, kept.AccountID, kept.ID) }},
	})
	if _, err := s.Passkey(ctx, created.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after AddPasskey with a canceled context: Passkey err = %v, want ErrNotFound", err)
	}
	checkPasskey(t, s, kept, "after calls with a canceled context")
}
