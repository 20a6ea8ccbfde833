package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestInstancesStartTogether starts three "sessionkit serve" processes at
// the same instant on an empty shared store, twenty times per store: each
// makes its keys at start if there are none, and every instance must then
// accept the cookies and tokens of every other (they agreed on one first
// key of each kind, and on one key-encryption key).
func TestInstancesStartTogether(t *testing.T) {
	for _, s := range sharedStores {
		t.Run(s.name, func(t *testing.T) {
			for trial := range 20 {
				st := s.open(t) // a fresh prefix or schema: an empty store
				addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
				procs := startTogether(t, addrs, "--store", st.spec)
				logs := func() string {
					var b strings.Builder
					for i, p := range procs {
						fmt.Fprintf(&b, "--- instance #%d:\n%s", i+1, p.log.String())
					}
					return b.String()
				}
				user, pass := fmt.Sprintf("start%d", trial), "correct horse battery"
				newAgent(t, logs).register("http://"+addrs[0], user, pass)
				for i := range addrs {
					from := "http://" + addrs[i]
					b := newAgent(t, logs)
					if b.login(from, "cookie", user, pass)["sk_cookie"] == nil {
						t.Fatalf("trial %d: cookie login on #%d set no sk_cookie", trial, i+1)
					}
					pair := b.decodePair(fmt.Sprintf("trial %d: API login on #%d", trial, i+1),
						b.api(http.MethodPost, from+"/api/login", map[string]string{"username": user, "password": pass}, ""))
					for j, n := 0, 1; j < len(addrs); j++ {
						if j == i {
							continue
						}
						to := "http://" + addrs[j]
						b.profile(to, "cookie", user, n) // the cookie sealed by #i opens on #j
						n++
						b.me(to, pair.AccessToken, user) // the token signed by #i verifies on #j
					}
				}
				for _, p := range procs {
					p.kill()
				}
			}
		})
	}
}
