package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// deletionRounds is how many times each store runs the deletion race.
	deletionRounds = 5
	// racers is how many goroutines log in while the account is deleted.
	racers = 4
	// warmLogins is how many logins each racer makes before the deletion
	// starts: enough to have made one of each kind between them.
	warmLogins = 3
	// maxRaceLogins bounds each racer's loop.
	maxRaceLogins = 2000
)

// raceKinds is the cycle of logins each racer makes, starting at its own
// offset: mostly API logins, with the three browser modes among them.
var raceKinds = []string{"api", "session", "api", "cookie", "api", "jwt"}

// TestDeletedAccountStaysDeleted races logins against the deletion of
// their account. On each store (SQLite, Redis, PostgreSQL), one server; in
// each of five rounds:
//
//   - mallory registers; four goroutines log in as mallory over and over
//     (API logins, and session, cookie and JWT mode logins among them),
//     keeping every credential they get;
//   - while they run, "sessionkit users delete mallory", a separate
//     process on the same store, deletes the account;
//   - once each goroutine has been refused (the account is gone), every
//     credential any of them got, including those of logins recorded
//     while the deletion ran, is refused: /api/me and /api/refresh answer
//     401, the browser modes' profiles go to the login page;
//   - Mallory (another case of the same name, a new account) registers and
//     logs in, and still none of the old credentials works, nor does
//     /api/me ever name mallory or Mallory for one;
//   - the next round registers mallory again: the credentials of every
//     earlier round stay refused.
//
// Each round's client comes from a loopback address of its own, so that
// the failed logins of one round (the racers' last attempts) do not
// throttle the next.
func TestDeletedAccountStaysDeleted(t *testing.T) {
	for _, kind := range allStores {
		t.Run(kind.name, func(t *testing.T) {
			spec := kind.open(t)
			addr := freeAddr(t)
			base := "http://" + addr
			// No per-user cap (it would end older logins by itself, and the
			// deletion is what must end them) and no cap on concurrent
			// logins from one address (the racers share one).
			flags := append([]string{"--store", spec, "--max-sessions-per-user", "-1", "--max-concurrent-logins", "-1"}, loadFlags()...)
			srv := startProcess(t, addr, flags...)
			logs := func() string { return srv.log.String() }
			var earlier []*heldLogins
			for round := range deletionRounds {
				ip := fmt.Sprintf("127.0.0.%d", 11+round)
				earlier = append(earlier, deletionRound(t, base, spec, ip, round+1, logs, earlier))
				if t.Failed() {
					return
				}
			}
		})
	}
}

// deletionRound runs one round of TestDeletedAccountStaysDeleted from the
// client address ip, and returns the credentials its racers got.
func deletionRound(t *testing.T, base, spec, ip string, round int, logs func() string, earlier []*heldLogins) *heldLogins {
	t.Helper()
	const pass = "correct horse battery"
	b := newReplayer(t, logs).from(ip)

	b.register(base, "mallory", pass)
	for i, h := range earlier {
		h.refused(t, b, base, fmt.Sprintf("round %d: the credentials of round %d after mallory registered again", round, i+1))
	}

	held := &heldLogins{}
	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		stopOnce sync.Once
		deleting atomic.Bool
		done     atomic.Int64
		made     [racers]atomic.Int64
	)
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt() // also when the CLI fails the test
	for g := range racers {
		wg.Go(func() {
			defer done.Add(1)
			held.race(b, base, g, pass, stop, &deleting, &made[g])
		})
	}

	// Let every racer log in a few times, so that the deletion meets logins
	// of every kind in flight.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		warm := true
		for g := range racers {
			warm = warm && made[g].Load() >= warmLogins
		}
		if warm {
			break
		}
		if done.Load() > 0 || time.Now().After(deadline) {
			halt()
			t.Fatalf("round %d: the racers did not each log in %d times before the deletion (made %v); unexpected answers:\n%s\nserver log:\n%s",
				round, warmLogins, loads(made[:]), strings.Join(held.samples(), "\n"), tail(logs(), 4000))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The credentials work until the deletion: one of each kind is used
	// (so that their refusal later is the deletion's doing, and the checks
	// that follow can tell a refusal from a working login).
	held.work(t, b, base, round)

	deleting.Store(true)
	before := held.count()
	out := sessionkit(t, "users", "delete", "mallory", "--store", spec)
	if !strings.Contains(out, "deleted user mallory") {
		t.Errorf("round %d: users delete said %q, want it to delete mallory", round, out)
	}
	// Each racer stops at its first refused login; with the account gone
	// the next one is refused.
	wg.Wait()
	halt()
	if bad := held.samples(); len(bad) > 0 {
		t.Fatalf("round %d: unexpected answers to the racers' logins:\n%s\nserver log:\n%s", round, strings.Join(bad, "\n"), tail(logs(), 4000))
	}
	// Logins the command did not end were recorded after it listed them:
	// the interleaving this test is about. How many there are is up to the
	// scheduler; it is reported, not checked.
	outlived := "?"
	if m := endedRE.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		outlived = strconv.Itoa(held.count() - n)
	}
	t.Logf("round %d: %d logins held (%s), %d answered after the deletion began, %s outlived users delete (%q)",
		round, held.count(), held.summary(), held.count()-before, outlived, strings.TrimSpace(out))
	held.refused(t, b, base, fmt.Sprintf("round %d: after users delete mallory", round))

	// The same name, another case, a new account: its login works, and the
	// old credentials still do not.
	b.register(base, "Mallory", pass)
	fresh := b.decodePair("API login as Mallory", b.api(http.MethodPost, base+"/api/login", map[string]string{"username": "Mallory", "password": pass}, ""))
	b.me(base, fresh.AccessToken, "Mallory")
	held.refused(t, b, base, fmt.Sprintf("round %d: after Mallory registered", round))
	if out := sessionkit(t, "users", "delete", "Mallory", "--store", spec); !strings.Contains(out, "deleted user Mallory") {
		t.Errorf("round %d: users delete Mallory said %q", round, out)
	}
	return held
}

// endedRE reads how many logins "users delete" ended.
var endedRE = regexp.MustCompile(`ended (\d+) logins?`)

// loads reads counters, for messages.
func loads(cs []atomic.Int64) []int64 {
	out := make([]int64, len(cs))
	for i := range cs {
		out[i] = cs[i].Load()
	}
	return out
}

// heldLogins are the credentials the racers got: what a client holds
// after logging in.
type heldLogins struct {
	mu       sync.Mutex
	pairs    []tokenPair    // API logins
	sessions []*http.Cookie // sk_session of session-mode logins
	cookies  []*http.Cookie // sk_cookie of cookie-mode logins
	jwts     [][2]*http.Cookie
	bad      []string // unexpected answers
}

// race is one racer: it logs in as mallory, kind after kind, keeping what
// each login gives, until a login is refused (which must not happen before
// the deletion began), stop is closed, or maxRaceLogins.
func (h *heldLogins) race(b *agent, base string, g int, pass string, stop <-chan struct{}, deleting *atomic.Bool, made *atomic.Int64) {
	for i := range maxRaceLogins {
		select {
		case <-stop:
			return
		default:
		}
		kind := raceKinds[(g+i)%len(raceKinds)]
		r, err := tryLogin(b, base, kind, "mallory", pass)
		switch {
		case err != nil:
			h.unexpected("racer %d: %s login: %v", g, kind, err)
			return
		case r.StatusCode == http.StatusUnauthorized || r.StatusCode == http.StatusTooManyRequests:
			if !deleting.Load() {
				h.unexpected("racer %d: %s login refused before the deletion began: %v", g, kind, r)
			}
			return
		}
		if !h.keep(g, kind, r) {
			return
		}
		made.Add(1)
	}
}

// tryLogin logs in as user through kind ("api" or a browser mode) without
// failing the test: racers run outside the test's goroutine.
func tryLogin(b *agent, base, kind, user, pass string) (response, error) {
	var (
		req *http.Request
		err error
	)
	if kind == "api" {
		body, _ := json.Marshal(map[string]string{"username": user, "password": pass})
		req, err = http.NewRequest(http.MethodPost, base+"/api/login", strings.NewReader(string(body)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		req, err = http.NewRequest(http.MethodPost, base+"/"+kind+"/login", strings.NewReader(credentials(user, pass).Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return response{}, err
	}
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return response{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return response{}, err
	}
	return response{Response: resp, body: string(body), latency: time.Since(start)}, nil
}

// keep records what a successful login of kind gave, or an unexpected
// answer (and reports false).
func (h *heldLogins) keep(g int, kind string, r response) bool {
	if kind == "api" {
		var p tokenPair
		if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.body), &p) != nil || p.AccessToken == "" || p.RefreshToken == "" {
			h.unexpected("racer %d: API login: %v, want 200 with a token pair", g, r)
			return false
		}
		h.mu.Lock()
		h.pairs = append(h.pairs, p)
		h.mu.Unlock()
		return true
	}
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/"+kind+"/profile" {
		h.unexpected("racer %d: %s login: %v, want 303 to /%s/profile", g, kind, r, kind)
		return false
	}
	set := map[string]*http.Cookie{}
	for _, c := range r.Cookies() {
		set[c.Name] = c
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case kind == "session" && set["sk_session"] != nil:
		h.sessions = append(h.sessions, set["sk_session"])
	case kind == "cookie" && set["sk_cookie"] != nil:
		h.cookies = append(h.cookies, set["sk_cookie"])
	case kind == "jwt" && set["sk_access"] != nil && set["sk_refresh"] != nil:
		h.jwts = append(h.jwts, [2]*http.Cookie{set["sk_access"], set["sk_refresh"]})
	default:
		h.bad = append(h.bad, fmt.Sprintf("racer %d: %s login set cookies %v", g, kind, keys(set)))
		return false
	}
	return true
}

func (h *heldLogins) unexpected(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bad = append(h.bad, fmt.Sprintf(format, args...))
}

func (h *heldLogins) samples() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bad[:min(len(h.bad), 10)]...)
}

func (h *heldLogins) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pairs) + len(h.sessions) + len(h.cookies) + len(h.jwts)
}

func (h *heldLogins) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf("%d API, %d session, %d cookie, %d JWT", len(h.pairs), len(h.sessions), len(h.cookies), len(h.jwts))
}

// work checks, before the deletion, that the first credential of each
// kind works: the access token names mallory, the refresh token rotates
// (the rotated pair replaces it among those held), and each browser mode's
// profile greets mallory with its first view.
func (h *heldLogins) work(t *testing.T, b *agent, base string, round int) {
	t.Helper()
	h.mu.Lock()
	if len(h.pairs) == 0 || len(h.sessions) == 0 || len(h.cookies) == 0 || len(h.jwts) == 0 {
		h.mu.Unlock()
		t.Fatalf("round %d: the racers hold %s logins, want one of each kind at least", round, h.summary())
	}
	p, sess, ck, jwt := h.pairs[0], h.sessions[0], h.cookies[0], h.jwts[0]
	h.mu.Unlock()

	b.me(base, p.AccessToken, "mallory")
	next := b.decodePair(fmt.Sprintf("round %d: refreshing a held pair before the deletion", round),
		b.api(http.MethodPost, base+"/api/refresh", map[string]string{"refresh_token": p.RefreshToken}, ""))
	b.me(base, next.AccessToken, "mallory")
	h.mu.Lock()
	h.pairs[0] = next
	h.mu.Unlock()
	b.profile(base, "session", "mallory", 1, sess)
	b.profile(base, "cookie", "mallory", 1, ck)
	b.profile(base, "jwt", "mallory", 1, jwt[0])
}

// refused checks that every credential held is refused: each access token
// by /api/me (401 invalid_token, never naming a user), each refresh token
// by /api/refresh (401), and each browser login by its mode's profile (a
// redirect to the login page); for JWT mode, its refresh cookie too.
func (h *heldLogins) refused(t *testing.T, b *agent, base, when string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var bad []string
	for i, p := range h.pairs {
		r := b.api(http.MethodGet, base+"/api/me", nil, p.AccessToken)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			bad = append(bad, fmt.Sprintf("access token #%d: %v (WWW-Authenticate %q), want 401 invalid_token", i, r, r.Header.Get("WWW-Authenticate")))
		}
		if name := meName(r.body); name != "" {
			bad = append(bad, fmt.Sprintf("access token #%d: /api/me names %q", i, name))
		}
		r = b.api(http.MethodPost, base+"/api/refresh", map[string]string{"refresh_token": p.RefreshToken}, "")
		if r.StatusCode != http.StatusUnauthorized {
			bad = append(bad, fmt.Sprintf("refresh token #%d: %v, want 401", i, r))
		}
	}
	toLogin := func(what string, r response, mode string) {
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/"+mode+"/login") {
			bad = append(bad, fmt.Sprintf("%s: %v, want 303 to /%s/login", what, r, mode))
		}
	}
	for i, c := range h.sessions {
		toLogin(fmt.Sprintf("session #%d", i), b.get(base+"/session/profile", c), "session")
	}
	for i, c := range h.cookies {
		toLogin(fmt.Sprintf("cookie login #%d", i), b.get(base+"/cookie/profile", c), "cookie")
	}
	for i, c := range h.jwts {
		toLogin(fmt.Sprintf("JWT access cookie #%d", i), b.get(base+"/jwt/profile", c[0]), "jwt")
		toLogin(fmt.Sprintf("JWT refresh cookie #%d", i), b.get(base+"/jwt/refresh?next=/jwt/profile", c[1]), "jwt")
	}
	n := len(h.pairs) + len(h.sessions) + len(h.cookies) + len(h.jwts)
	if len(bad) > 0 {
		t.Errorf("%s: %d answers of %d credentials were not refusals:\n%s\nserver log:\n%s",
			when, len(bad), n, strings.Join(bad[:min(len(bad), 10)], "\n"), tail(b.logs(), 3000))
	}
}

// meName returns the username of an /api/me body, "" if it names none.
func meName(body string) string {
	var v struct {
		Username string `json:"username"`
	}
	_ = json.Unmarshal([]byte(body), &v)
	return v.Username
}
