package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

const (
	// perPairLimit is how many failed logins one username may have from
	// one address (DESIGN.md: 10 per 15 minutes).
	perPairLimit = 10
	// perAddressLimit is how many failed logins and registrations one
	// address may make (DESIGN.md: 50 per 15 minutes).
	perAddressLimit = 50
	// throttleWindow is the window in seconds: a Retry-After is never
	// longer.
	throttleWindow = 15 * 60
)

// TestThrottleSharedByInstances checks that the login throttle counts in
// the store, so that three instances allow what one does, and a restart
// forgets nothing. On Redis and on PostgreSQL, three "sessionkit serve"
// processes share one store:
//
//   - wrong passwords for alice from 127.0.0.1, sent round-robin to the
//     three instances (API and session-mode logins in turn), are judged
//     (401) exactly 10 times; the 11th attempt answers 429 with
//     Retry-After, and so does every instance afterwards, for a wrong
//     password and for the right one alike;
//   - alice's right password from 127.0.0.2 logs her in on every instance:
//     a guesser's address does not lock the owner out;
//   - one instance is killed and started again: it still answers 429 to
//     127.0.0.1 for alice, and still lets 127.0.0.2 in;
//   - 100 registrations from one address (127.0.0.3) spread over the
//     instances: the first 50 create accounts, the 51st and every one after
//     it answer 429 with Retry-After; another address (127.0.0.4) still
//     registers.
func TestThrottleSharedByInstances(t *testing.T) {
	for _, kind := range sharedStores {
		t.Run(kind.name, func(t *testing.T) {
			st := kind.open(t)
			c := startCluster(t, st.spec)
			const user, pass, wrong = "alice", "correct horse battery", "wrong horse battery"
			guesser := newReplayer(t, c.logs).from("127.0.0.1")
			owner := newReplayer(t, c.logs).from("127.0.0.2")
			owner.register(c.base(0), user, pass)

			// attempt logs in as alice with password on instance i%3, by
			// the API on even i and by the session-mode form on odd i.
			attempt := func(b *agent, i int, password string) response {
				t.Helper()
				base := c.base(i % instances)
				if i%2 == 0 {
					return b.api(http.MethodPost, base+"/api/login", map[string]string{"username": user, "password": password}, "")
				}
				return b.post(base+"/session/login", credentials(user, password))
			}

			judged := 0
			var first response
			for i := 0; ; i++ {
				if i > 3*perPairLimit {
					t.Fatalf("%d wrong passwords from one address over %d instances were all judged (401): no 429\n%s", i, instances, tail(c.logs(), 4000))
				}
				r := attempt(guesser, i, wrong)
				if r.StatusCode == http.StatusUnauthorized {
					judged++
					continue
				}
				if r.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("wrong password #%d on #%d: %v, want 401 or 429", i+1, i%instances+1, r)
				}
				first = r
				break
			}
			if judged != perPairLimit {
				t.Errorf("%d wrong passwords were judged (401) over %d instances before the first 429, want exactly %d: the instances do not count together",
					judged, instances, perPairLimit)
			}
			retryAfter(t, "the first 429", first)
			t.Logf("%d wrong passwords judged over %d instances, then %v", judged, instances, first.Response.Status)

			// Every instance refuses 127.0.0.1 now, whatever the password.
			lockedOut := func(when string) {
				t.Helper()
				for i := range instances {
					for _, p := range []struct{ name, password string }{{"a wrong password", wrong}, {"the right password", pass}} {
						for _, via := range []int{i, i + instances} { // the API, then the form (or the other way round)
							r := attempt(guesser, via, p.password)
							if r.StatusCode != http.StatusTooManyRequests {
								t.Errorf("%s: %s for alice from 127.0.0.1 on #%d: %v, want 429", when, p.name, i+1, r)
								continue
							}
							retryAfter(t, fmt.Sprintf("%s: the 429 of #%d", when, i+1), r)
						}
					}
				}
			}
			lockedOut("after the first 429")

			// The owner, from another address, logs in on every instance.
			ownerLogsIn := func(when string, i int) {
				t.Helper()
				if r := attempt(owner, i, pass); (i%2 == 0 && r.StatusCode != http.StatusOK) || (i%2 == 1 && r.StatusCode != http.StatusSeeOther) {
					t.Errorf("%s: alice's password from 127.0.0.2 on #%d: %v, want 200 (API) or 303 (form)", when, i%instances+1, r)
				}
			}
			for i := range 2 * instances {
				ownerLogsIn("while 127.0.0.1 is throttled", i)
			}
			browser := newAgent(t, c.logs).from("127.0.0.2")
			browser.login(c.base(2), "cookie", user, pass)
			browser.profile(c.base(2), "cookie", user, 1)

			// A restarted instance has forgotten nothing: the count is in
			// the store.
			c.procs[1].kill()
			c.procs[1] = startProcess(t, c.addrs[1], append([]string{"--store", c.spec}, loadFlags()...)...)
			for _, via := range []int{1, 4} {
				for _, password := range []string{wrong, pass} {
					r := attempt(guesser, via, password)
					if r.StatusCode != http.StatusTooManyRequests {
						t.Errorf("after restarting #2: alice from 127.0.0.1 on #2: %v, want 429", r)
						continue
					}
					retryAfter(t, "after restarting #2: the 429 of #2", r)
				}
				ownerLogsIn("after restarting #2", via)
			}

			// Registrations count per address too: 100 from one address
			// over the three instances, one after the other.
			registrar := newReplayer(t, c.logs).from("127.0.0.3")
			created, firstRefused := 0, 0
			for i := range 100 {
				r := registrar.post(c.base(i%instances)+"/register", credentials(randomName("reg_"), pass))
				switch r.StatusCode {
				case http.StatusSeeOther:
					if firstRefused != 0 {
						t.Errorf("registration #%d on #%d created an account after #%d was refused: %v", i+1, i%instances+1, firstRefused, r)
					}
					created++
				case http.StatusTooManyRequests:
					if firstRefused == 0 {
						firstRefused = i + 1
					}
					retryAfter(t, fmt.Sprintf("registration #%d on #%d", i+1, i%instances+1), r)
				default:
					t.Fatalf("registration #%d on #%d: %v, want 303 or 429", i+1, i%instances+1, r)
				}
			}
			if created != perAddressLimit || firstRefused != perAddressLimit+1 {
				t.Errorf("100 registrations from one address over %d instances: %d created, the first 429 at #%d; want %d created and the first 429 at #%d",
					instances, created, firstRefused, perAddressLimit, perAddressLimit+1)
			}
			t.Logf("100 registrations from 127.0.0.3: %d created, the first 429 at #%d", created, firstRefused)
			newReplayer(t, c.logs).from("127.0.0.4").register(c.base(0), randomName("reg_"), pass)
		})
	}
}

// retryAfter checks that a 429 says when to come back: Retry-After in
// whole seconds, at least 1 and at most the throttle's window.
func retryAfter(t *testing.T, what string, r response) {
	t.Helper()
	v := r.Header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > throttleWindow {
		t.Errorf("%s: Retry-After %q, want whole seconds from 1 to %d (%v)", what, v, throttleWindow, r)
	}
}
