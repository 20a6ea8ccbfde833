package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testUsers checks the life of accounts: creation, lookup by name in any
// case, password changes, listing and deletion, each account keeping the
// ID it was created with.
func testUsers(t *testing.T, s store.Users) {
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	alice := store.User{ID: "3f2a9c0e4b5d6a7f8e9d0c1b2a3f4e5d", Name: "Alice", PasswordHash: "$argon2id$hash-a",
		Created: created, Updated: created}

	if _, err := s.User(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User of a missing account: err = %v, want ErrNotFound", err)
	}
	if err := s.CreateUser(ctx, alice); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, err := s.User(ctx, name)
		if err != nil {
			t.Fatalf("User(%q): %v", name, err)
		}
		if got.ID != alice.ID || got.Name != "Alice" || got.PasswordHash != alice.PasswordHash ||
			!got.Created.Equal(created) || !got.Updated.Equal(created) {
			t.Errorf("User(%q) = %+v, want %+v", name, got, alice)
		}
	}
	dup := alice
	dup.ID, dup.Name, dup.PasswordHash = "id-of-the-duplicate", "aLiCe", "$argon2id$hash-dup"
	if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser of a name taken in another case: err = %v, want ErrExists", err)
	}
	if got, err := s.User(ctx, "alice"); err != nil || got.ID != alice.ID || got.PasswordHash != alice.PasswordHash {
		t.Errorf("after CreateUser of a taken name: User = %+v, %v; want %+v", got, err, alice)
	}

	later := created.Add(time.Hour)
	if err := s.SetPasswordHash(ctx, "ALICE", "$argon2id$hash-b", later); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	got, err := s.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != "$argon2id$hash-b" || !got.Updated.Equal(later) || !got.Created.Equal(created) {
		t.Errorf("after SetPasswordHash: %+v", got)
	}
	if got.ID != alice.ID {
		t.Errorf("after SetPasswordHash: ID = %q, want %q: the account keeps its ID", got.ID, alice.ID)
	}
	if err := s.SetPasswordHash(ctx, "nobody", "x", later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPasswordHash of a missing account: err = %v, want ErrNotFound", err)
	}

	ids := map[string]string{"Alice": alice.ID} // by name
	for _, u := range []store.User{
		{ID: "c0ffee00-0000-4000-8000-000000000001", Name: "carol"},
		{ID: "b0b", Name: "Bob"},
	} {
		u.PasswordHash, u.Created, u.Updated = "h", created, created
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		ids[u.Name] = u.ID
	}
	list, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
		if u.ID != ids[u.Name] {
			t.Errorf("ListUsers lists %s with ID %q, want %q", u.Name, u.ID, ids[u.Name])
		}
	}
	if want := []string{"Alice", "Bob", "carol"}; !equal(names, want) {
		t.Errorf("ListUsers names = %q, want %q", names, want)
	}
	for name, id := range ids {
		if got, err := s.User(ctx, name); err != nil || got.ID != id {
			t.Errorf("User(%s) = ID %q, %v; want ID %q", name, got.ID, err, id)
		}
	}

	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.User(ctx, "Bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("User after DeleteUser: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteUser: err = %v, want ErrNotFound", err)
	}

	// The name can be registered again, by a new account with an ID of
	// its own.
	again := store.User{ID: "b0b-2", Name: "BOB", PasswordHash: "h2", Created: later, Updated: later}
	if err := s.CreateUser(ctx, again); err != nil {
		t.Fatalf("CreateUser of a deleted account's name: %v", err)
	}
	if got, err := s.User(ctx, "bob"); err != nil || got.ID != again.ID || got.Name != "BOB" {
		t.Errorf("User(bob) after the name was registered again = %+v, %v; want %+v", got, err, again)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
