package storetest_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// Each of these types has the methods of one interface of the store package
// and no others: a backend that keeps one kind of state.
type (
	sessionsOnly struct{ store.Sessions }
	usersOnly    struct{ store.Users }
	keysOnly     struct{ keys }
	denyListOnly struct{ store.DenyList }
	countersOnly struct{ store.Counters }
	// passkeysOnly keeps store.Users too: the passkeys part checks that
	// DeleteUser deletes the account's passkeys.
	passkeysOnly struct{ storetest.PasskeyStore }
)

// keys is store.Keys under another name: a field embedded as store.Keys
// would be named Keys, and hide the method Keys it should promote.
type keys = store.Keys

// openMem returns a new memstore, closed when t ends.
func openMem(t *testing.T) *memstore.Store {
	s := memstore.New(memstore.Options{})
	t.Cleanup(func() { s.Close() })
	return s
}

// A backend that keeps only sessions can run the sessions part, and it
// passes.
func TestRunSessions(t *testing.T) {
	if _, ok := any(sessionsOnly{}).(store.Users); ok {
		t.Fatal("sessionsOnly implements store.Users; the test would prove nothing")
	}
	storetest.RunSessions(t, func(t *testing.T) store.Sessions { return sessionsOnly{openMem(t)} })
}

func TestRunUsers(t *testing.T) {
	storetest.RunUsers(t, func(t *testing.T) store.Users { return usersOnly{openMem(t)} })
}

func TestRunKeys(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) store.Keys { return keysOnly{openMem(t)} })
}

func TestRunDenyList(t *testing.T) {
	storetest.RunDenyList(t, func(t *testing.T) store.DenyList { return denyListOnly{openMem(t)} })
}

func TestRunCounters(t *testing.T) {
	if _, ok := any(countersOnly{}).(store.DenyList); ok {
		t.Fatal("countersOnly implements store.DenyList; the test would prove nothing")
	}
	storetest.RunCounters(t, func(t *testing.T) store.Counters { return countersOnly{openMem(t)} })
}

func TestRunPasskeys(t *testing.T) {
	if _, ok := any(passkeysOnly{}).(store.Sessions); ok {
		t.Fatal("passkeysOnly implements store.Sessions; the test would prove nothing")
	}
	storetest.RunPasskeys(t, func(t *testing.T) storetest.PasskeyStore { return passkeysOnly{openMem(t)} })
}
