package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testUsers checks the life of accounts: creation, lookup by name in any
// case, password changes, listing and deletion.
func testUsers(t *testing.T, s store.Users) {
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	alice := store.User{Name: "Alice", PasswordHash: "$argon2id$hash-a", Created: created, Updated: created}

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
		if got.Name != "Alice" || got.PasswordHash != alice.PasswordHash ||
			!got.Created.Equal(created) || !got.Updated.Equal(created) {
			t.Errorf("User(%q) = %+v, want %+v", name, got, alice)
		}
	}
	dup := alice
	dup.Name = "aLiCe"
	if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser of a name taken in another case: err = %v, want ErrExists", err)
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
	if err := s.SetPasswordHash(ctx, "nobody", "x", later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPasswordHash of a missing account: err = %v, want ErrNotFound", err)
	}

	for _, name := range []string{"carol", "Bob"} {
		if err := s.CreateUser(ctx, store.User{Name: name, PasswordHash: "h", Created: created, Updated: created}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
	}
	if want := []string{"Alice", "Bob", "carol"}; !equal(names, want) {
		t.Errorf("ListUsers names = %q, want %q", names, want)
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
