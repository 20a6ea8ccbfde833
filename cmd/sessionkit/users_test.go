package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// TestUsersCommand manages accounts the way an administrator would, one
// command after another on one store, and checks what each prints and
// its exit status. No password ever appears in the output.
func TestUsersCommand(t *testing.T) {
	spec := sqliteStore(t)
	onStore := map[string]string{"SESSIONKIT_STORE": spec}
	steps := []struct {
		name   string
		args   []string
		env    map[string]string
		stdin  string
		code   int
		stdout string // in the output (status 0) or the error line (status 1)
	}{
		{"list an empty store", []string{"users", "list", "--store", spec}, nil, "", 0, "no users yet"},
		{"add", []string{"users", "add", "Alice", "--store", spec}, nil, "password one\n", 0, "created user Alice"},
		{"add the same name in another case", []string{"users", "add", "alice", "--store", spec}, nil, "password one\n", 1, `user "alice" exists`},
		{"add without a password", []string{"users", "add", "bob", "--store", spec}, nil, "", 1, "no password given"},
		{"add a short password", []string{"users", "add", "bob", "--store", spec}, nil, "short\n", 1, "passwords are 8 to 1024 bytes long"},
		{"add an empty line", []string{"users", "add", "bob", "--store", spec}, nil, "\n", 1, "passwords are 8 to 1024 bytes long"},
		{"add a password too long", []string{"users", "add", "bob", "--store", spec}, nil, strings.Repeat("p", 1025) + "\n", 1, "passwords are 8 to 1024 bytes long"},
		{"add with the store from the environment, flags first, CRLF", []string{"users", "add", "--", "bob"}, onStore, "password two\r\n", 0, "created user bob"},
		{"list", []string{"users", "list"}, onStore, "", 0, "Alice"},
		{"passwd", []string{"users", "passwd", "ALICE", "--store", spec}, nil, "password three\nignored\n", 0, "changed the password of Alice"},
		{"passwd a short password", []string{"users", "passwd", "alice", "--store", spec}, nil, "short\n", 1, "passwords are 8 to 1024 bytes long"},
		{"passwd nobody", []string{"users", "passwd", "nobody", "--store", spec}, nil, "password four\n", 1, `no user "nobody"`},
		{"delete nobody", []string{"users", "delete", "nobody", "--store", spec}, nil, "", 1, `no user "nobody"`},
		{"delete", []string{"users", "delete", "BOB", "--store", spec}, nil, "", 0, "deleted user BOB and ended 0 logins"},
		{"delete again", []string{"users", "delete", "bob", "--store", spec}, nil, "", 1, `no user "bob"`},
		{"a store that cannot be opened", []string{"users", "list", "--store", "sqlite:" + t.TempDir() + "/no/such/dir/x.db"}, nil, "", 1, "opening the store"},
	}
	for _, s := range steps {
		r := cli(t, s.env, s.stdin, s.args...)
		if r.code != s.code {
			t.Fatalf("%s: exit status %d, want %d; stdout %q, stderr %q", s.name, r.code, s.code, r.stdout, r.stderr)
		}
		where := r.stdout
		if s.code != 0 {
			where = lastLine(r.stderr)
			if !strings.HasPrefix(where, "sessionkit: ") {
				t.Errorf("%s: the error line is %q", s.name, where)
			}
		}
		if !strings.Contains(where, s.stdout) {
			t.Errorf("%s: %q does not say %q", s.name, where, s.stdout)
		}
		if pw := strings.TrimSpace(s.stdin); pw != "" && strings.Contains(r.stdout+r.stderr, pw) {
			t.Errorf("%s: the password is in the output: %q %q", s.name, r.stdout, r.stderr)
		}
	}

	// The store holds what the commands said, hashed as the server hashes:
	// Alice logs in with the password passwd set, not the first one, and
	// bob is gone.
	ctx := context.Background()
	st := openSpec(t, spec)
	accounts, err := auth.NewAccounts(st, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Login(ctx, "alice", "password three", ""); err != nil {
		t.Errorf("alice with the new password: %v", err)
	}
	if _, err := accounts.Login(ctx, "alice", "password one", ""); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("alice with the old password: %v, want bad credentials", err)
	}
	u, err := st.User(ctx, "alice")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") || !u.Updated.After(u.Created) {
		t.Errorf("alice's account: %+v, %v; want an argon2id hash updated after creation", u, err)
	}
	if _, err := st.User(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob after delete: %v, want not found", err)
	}
}

// TestUsersDeleteEndsLogins: deleting an account ends every login it has,
// and deleting it again still ends logins that outlived it (a delete
// whose second half failed).
func TestUsersDeleteEndsLogins(t *testing.T) {
	ctx := context.Background()
	spec := sqliteStore(t)
	if r := cli(t, nil, "password one\n", "users", "add", "carol", "--store", spec); r.code != 0 {
		t.Fatalf("users add: %+v", r)
	}
	st := openSpec(t, spec)
	addLogins(t, st, "carol", 3)
	if r := cli(t, nil, "", "users", "delete", "carol", "--store", spec); r.code != 0 || !strings.Contains(r.stdout, "deleted user carol and ended 3 logins") {
		t.Fatalf("users delete: %+v", r)
	}
	if recs, err := st.UserSessions(ctx, "carol"); err != nil || len(recs) != 0 {
		t.Errorf("carol's logins after delete: %d, %v", len(recs), err)
	}
	addLogins(t, st, "carol", 1)
	if r := cli(t, nil, "", "users", "delete", "carol", "--store", spec); r.code != 0 || !strings.Contains(r.stdout, "no user carol; ended 1 login it left") {
		t.Errorf("users delete of a deleted user with a login left: %+v", r)
	}
}

// TestUsersPasswdEndsLogins: a password change ends every login of the
// account and voids one it missed (made before the change); with
// --keep-logins they stay, and still stand.
func TestUsersPasswdEndsLogins(t *testing.T) {
	ctx := context.Background()
	spec := sqliteStore(t)
	if r := cli(t, nil, "password one\n", "users", "add", "dave", "--store", spec); r.code != 0 {
		t.Fatalf("users add: %+v", r)
	}
	st := openSpec(t, spec)
	// StandingCache -1: every check reads the store, so that it sees the
	// change the command (another process) makes at once.
	accounts, err := auth.NewAccounts(st, auth.Options{StandingCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	proof, err := accounts.Login(ctx, "dave", "password one", "")
	if err != nil {
		t.Fatal(err)
	}
	stands := func() error {
		_, err := accounts.CheckLogin(ctx, "dave", proof.User.ID, proof.AuthTime)
		return err
	}

	addLogins(t, st, "dave", 2)
	r := cli(t, nil, "password two\n", "users", "passwd", "dave", "--keep-logins", "--store", spec)
	if r.code != 0 || !strings.Contains(r.stdout, "its logins stay") {
		t.Fatalf("users passwd --keep-logins: %+v", r)
	}
	if recs, err := st.UserSessions(ctx, "dave"); err != nil || len(recs) != 2 {
		t.Errorf("dave's logins after passwd --keep-logins: %d, %v; want 2", len(recs), err)
	}
	if err := stands(); err != nil {
		t.Errorf("a login from before passwd --keep-logins: %v, want it to stand", err)
	}

	time.Sleep(2 * time.Millisecond) // the change must be a later millisecond than the proof
	r = cli(t, nil, "password three\n", "users", "passwd", "dave", "--store", spec)
	if r.code != 0 || !strings.Contains(r.stdout, "changed the password of dave and ended 2 logins") {
		t.Fatalf("users passwd: %+v", r)
	}
	if recs, err := st.UserSessions(ctx, "dave"); err != nil || len(recs) != 0 {
		t.Errorf("dave's logins after passwd: %d, %v; want none", len(recs), err)
	}
	if err := stands(); !errors.Is(err, auth.ErrLoginEnded) {
		t.Errorf("a login from before passwd: %v, want ErrLoginEnded", err)
	}
	if _, err := accounts.Login(ctx, "dave", "password three", ""); err != nil {
		t.Errorf("dave with the new password: %v", err)
	}
}

// openSpec opens the SQLite store a "sqlite:PATH" spec names, closed when
// the test ends.
func openSpec(t *testing.T, spec string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), strings.TrimPrefix(spec, "sqlite:"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// addLogins saves n session records of user in st.
func addLogins(t *testing.T, st store.Sessions, user string, n int) {
	t.Helper()
	now := time.Now()
	for i := range n {
		id := store.HashToken(user + string(rune('a'+i)) + now.String())
		rec := store.Record{ID: id, User: user, Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
		if _, err := st.SaveSession(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
}

// openSpecKeys returns the keys of the SQLite store spec as a server
// reads them: decrypted with the key-encryption key beside the database.
func openSpecKeys(t *testing.T, st store.Keys, spec string) store.Keys {
	t.Helper()
	k, err := kek.Open(context.Background(), "file:"+strings.TrimPrefix(spec, "sqlite:")+".kek")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return kek.Wrap(st, k)
}
