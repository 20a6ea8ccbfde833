package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// scrape is one reading of /metrics, parsed by the Prometheus text parser.
type scrape struct {
	raw  string
	fams map[string]*dto.MetricFamily
}

// scrapeMetrics fetches base's /metrics and parses it, failing the test if
// it is not valid Prometheus text.
func scrapeMetrics(t *testing.T, base string) scrape {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v\n%s", err, body)
	}
	return scrape{raw: string(body), fams: fams}
}

// value is the sum of the series of name whose labels include the given
// name=value pairs: a counter's value, a histogram's sample count.
func (s scrape) value(name string, labels ...string) float64 {
	var sum float64
	for _, m := range s.fams[name].GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// seriesKey names one series: the metric and its labels, sorted.
func seriesKey(name string, m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// expectations are the amounts the run should move series by.
type expectations map[string]float64

// add expects the series name{labels} to move by n more.
func (e expectations) add(name string, n float64, labels ...string) {
	var ls []string
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, labels[i]+"="+labels[i+1])
	}
	sort.Strings(ls)
	e[name+"{"+strings.Join(ls, ",")+"}"] += n
}

// conflictingStore is a memory store that, when armed, lets another
// writer save a record just before the next compare-and-swap save of it,
// as a concurrent request on another instance would: that save conflicts
// once.
type conflictingStore struct {
	*memstore.Store
	armed atomic.Bool
}

func (c *conflictingStore) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	if r.Version > 0 && c.armed.CompareAndSwap(true, false) {
		cur, err := c.Store.Session(ctx, r.ID)
		if err != nil {
			return 0, err
		}
		if _, err := c.Store.SaveSession(ctx, cur); err != nil {
			return 0, err
		}
	}
	return c.Store.SaveSession(ctx, r)
}

// secretRecorder remembers every cookie value a server sets, so that the
// test can look for them where they must not be.
type secretRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (s *secretRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil {
		s.mu.Lock()
		for _, c := range resp.Cookies() {
			if c.Value != "" {
				s.seen = append(s.seen, c.Value)
			}
		}
		s.mu.Unlock()
	}
	return resp, err
}

func (s *secretRecorder) add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, v...)
}

// TestMetricsMove scripts a run through every mode and the API, with a
// failed, a throttled and a refused login, a refresh-token reuse, an
// expired session and two forced compare-and-swap conflicts, and checks
// that /metrics, scraped before and after, moved by exactly the expected
// amounts, and that nothing in it names the user or holds a secret.
func TestMetricsMove(t *testing.T) {
	clk := newClock()
	mem := memstore.New(memstore.Options{Now: clk.Now})
	t.Cleanup(func() { mem.Close() })
	st := &conflictingStore{Store: mem}
	ts := newServer(t, st, server.Config{Now: clk.Now, Throttle: auth.ThrottleOptions{PerUserAddress: 2}})

	const user, pass = "Metrics_Walker", "walker's password"
	b := newBrowser(t, ts.URL)
	secrets := &secretRecorder{next: http.DefaultTransport}
	b.c.Transport = secrets
	secrets.add(pass)

	before := scrapeMetrics(t, ts.URL)
	want := expectations{}
	login := func(mode, result string) { want.add("sessionkit_logins_total", 1, "mode", mode, "result", result) }
	req := func(route, code string) {
		method, _, _ := strings.Cut(route, " ")
		want.add("sessionkit_http_requests_total", 1, "route", route, "method", method, "code", code)
	}
	expectStatus := func(what string, r response, status int) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("%s: %d (Location %q), want %d", what, r.Status, r.Location, status)
		}
	}

	b.register(user, pass)
	req("POST /register", "303")

	// Cookie mode.
	b.login("cookie", user, pass)
	login("cookie", "succeeded")
	req("POST /cookie/login", "303")
	want.add("sessionkit_sessions_created_total", 1, "mode", "cookie")
	b.profile("cookie")
	req("GET /cookie/profile", "200")
	expectStatus("cookie logout", b.post("/cookie/logout", nil), http.StatusSeeOther)
	req("POST /cookie/logout", "303")
	want.add("sessionkit_sessions_destroyed_total", 1, "mode", "cookie", "reason", "logout")

	// Session mode: a login, a second login over the stored session (its
	// id renewed), and a view whose save loses a compare-and-swap once.
	b.login("session", user, pass)
	login("session", "succeeded")
	req("POST /session/login", "303")
	want.add("sessionkit_sessions_created_total", 1, "mode", "session")
	b.profile("session")
	req("GET /session/profile", "200")
	b.login("session", user, pass)
	login("session", "succeeded")
	req("POST /session/login", "303")
	want.add("sessionkit_sessions_created_total", 1, "mode", "session")
	want.add("sessionkit_sessions_renewed_total", 1, "mode", "session")
	st.armed.Store(true)
	if got := b.profile("session"); got != "welcome "+user+" with the count: 1" {
		t.Errorf("session profile after a conflict: %q", got)
	}
	req("GET /session/profile", "200")
	want.add("sessionkit_store_cas_conflicts_total", 1, "kind", "session")
	want.add("sessionkit_store_cas_retries_total", 1, "kind", "session")
	expectStatus("session logout", b.post("/session/logout", nil), http.StatusSeeOther)
	req("POST /session/logout", "303")
	want.add("sessionkit_sessions_destroyed_total", 1, "mode", "session", "reason", "logout")

	// A session-mode cookie whose session is past its idle deadline,
	// though the store still holds it.
	expiredToken := make([]byte, 32)
	rand.Read(expiredToken)
	tok := base64.RawURLEncoding.EncodeToString(expiredToken)
	secrets.add(tok)
	old := time.Now().Add(-2 * time.Hour)
	if _, err := mem.SaveSession(context.Background(), store.Record{
		ID: store.HashToken(tok), User: user, Created: old, LastSeen: old, Expires: clk.Now().Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	expectStatus("an expired session", withCookie(t, ts.URL, "/session/profile", "sk_session="+tok), http.StatusSeeOther)
	req("GET /session/profile", "303")
	want.add("sessionkit_sessions_destroyed_total", 1, "mode", "session", "reason", "expired")

	// JWT mode: a login, a view whose count update conflicts once, a
	// second login over the first, a refresh and a logout.
	b.login("jwt", user, pass)
	login("jwt", "succeeded")
	req("POST /jwt/login", "303")
	want.add("sessionkit_sessions_created_total", 1, "mode", "jwt")
	want.add("sessionkit_tokens_issued_total", 1, "mode", "jwt")
	st.armed.Store(true)
	if got := b.profile("jwt"); got != "welcome "+user+" with the count: 1" {
		t.Errorf("JWT profile after a conflict: %q", got)
	}
	req("GET /jwt/profile", "200")
	want.add("sessionkit_store_cas_conflicts_total", 1, "kind", "refresh_family")
	want.add("sessionkit_store_cas_retries_total", 1, "kind", "refresh_family")
	b.login("jwt", user, pass)
	login("jwt", "succeeded")
	req("POST /jwt/login", "303")
	want.add("sessionkit_sessions_created_total", 1, "mode", "jwt")
	want.add("sessionkit_tokens_issued_total", 1, "mode", "jwt")
	want.add("sessionkit_tokens_revoked_total", 1, "mode", "jwt", "reason", "relogin")
	want.add("sessionkit_sessions_destroyed_total", 1, "mode", "jwt", "reason", "relogin")
	clk.Advance(16 * time.Minute)
	r := b.get("/jwt/profile")
	expectStatus("JWT profile with an expired access token", r, http.StatusSeeOther)
	req("GET /jwt/profile", "303")
	expectStatus("JWT refresh", b.get(r.Location), http.StatusSeeOther)
	req("GET /jwt/refresh", "303")
	want.add("sessionkit_tokens_refreshed_total", 1, "mode", "jwt")
	want.add("sessionkit_tokens_issued_total", 1, "mode", "jwt")
	want.add("sessionkit_sessions_renewed_total", 1, "mode", "jwt")
	b.profile("jwt")
	req("GET /jwt/profile", "200")
	expectStatus("JWT logout", b.post("/jwt/logout", nil), http.StatusSeeOther)
	req("POST /jwt/logout", "303")
	want.add("sessionkit_tokens_revoked_total", 1, "mode", "jwt", "reason", "logout")
	want.add("sessionkit_sessions_destroyed_total", 1, "mode", "jwt", "reason", "logout")

	// A wrong password, a name no account can have, and throttling.
	expectStatus("wrong password", b.post("/cookie/login", creds(user, "not the password")), http.StatusUnauthorized)
	login("cookie", "failed")
	req("POST /cookie/login", "401")
	expectStatus("invalid name", b.post("/session/login", creds("no spaces allowed", pass)), http.StatusBadRequest)
	login("session", "invalid")
	req("POST /session/login", "400")
	b.register("throttled_one", "a password of theirs")
	req("POST /register", "303")
	for range 2 {
		expectStatus("throttled_one's wrong password", b.post("/jwt/login", creds("throttled_one", "wrong password")), http.StatusUnauthorized)
		login("jwt", "failed")
		req("POST /jwt/login", "401")
	}
	expectStatus("throttled_one's third try", b.post("/jwt/login", creds("throttled_one", "a password of theirs")), http.StatusTooManyRequests)
	login("jwt", "throttled")
	req("POST /jwt/login", "429")

	// The API: login, me, refresh, me, logout, me refused.
	body := `{"username":"` + user + `","password":"` + pass + `"}`
	lr := api(t, ts.URL, "POST", "/api/login", body, "")
	expectStatus("API login", lr.response, http.StatusOK)
	login("api", "succeeded")
	req("POST /api/login", "200")
	want.add("sessionkit_sessions_created_total", 1, "mode", "api")
	want.add("sessionkit_tokens_issued_total", 1, "mode", "api")
	access, refresh := lr.JSON["access_token"].(string), lr.JSON["refresh_token"].(string)
	secrets.add(access, refresh)
	expectStatus("API me", api(t, ts.URL, "GET", "/api/me", "", access).response, http.StatusOK)
	req("GET /api/me", "200")
	rr := apiRefresh(t, ts.URL, refresh)
	expectStatus("API refresh", rr.response, http.StatusOK)
	req("POST /api/refresh", "200")
	want.add("sessionkit_tokens_refreshed_total", 1, "mode", "api")
	want.add("sessionkit_tokens_issued_total", 1, "mode", "api")
	want.add("sessionkit_sessions_renewed_total", 1, "mode", "api")
	access2 := rr.JSON["access_token"].(string)
	secrets.add(access2, rr.JSON["refresh_token"].(string))
	expectStatus("API me, refreshed", api(t, ts.URL, "GET", "/api/me", "", access2).response, http.StatusOK)
	req("GET /api/me", "200")
	expectStatus("API logout", api(t, ts.URL, "POST", "/api/logout", "", access2).response, http.StatusNoContent)
	req("POST /api/logout", "204")
	want.add("sessionkit_tokens_revoked_total", 1, "mode", "api", "reason", "logout")
	want.add("sessionkit_sessions_destroyed_total", 1, "mode", "api", "reason", "logout")
	wantInvalidToken(t, "API me after logout", api(t, ts.URL, "GET", "/api/me", "", access2))
	req("GET /api/me", "401")

	// A refresh token spent, then presented again past the grace window.
	lr = api(t, ts.URL, "POST", "/api/login", body, "")
	expectStatus("second API login", lr.response, http.StatusOK)
	login("api", "succeeded")
	req("POST /api/login", "200")
	want.add("sessionkit_sessions_created_total", 1, "mode", "api")
	want.add("sessionkit_tokens_issued_total", 1, "mode", "api")
	first := lr.JSON["refresh_token"].(string)
	secrets.add(lr.JSON["access_token"].(string), first)
	rr = apiRefresh(t, ts.URL, first)
	expectStatus("refresh", rr.response, http.StatusOK)
	req("POST /api/refresh", "200")
	want.add("sessionkit_tokens_refreshed_total", 1, "mode", "api")
	want.add("sessionkit_tokens_issued_total", 1, "mode", "api")
	want.add("sessionkit_sessions_renewed_total", 1, "mode", "api")
	secrets.add(rr.JSON["access_token"].(string), rr.JSON["refresh_token"].(string))
	clk.Advance(11 * time.Second)
	wantInvalidToken(t, "the spent refresh token again", apiRefresh(t, ts.URL, first))
	req("POST /api/refresh", "401")
	want.add("sessionkit_refresh_token_reuse_total", 1, "mode", "api")
	want.add("sessionkit_tokens_revoked_total", 1, "mode", "api", "reason", "reuse")
	want.add("sessionkit_sessions_destroyed_total", 1, "mode", "api", "reason", "reuse")

	// A path no route matches, with a method nobody uses.
	nobody, _ := http.NewRequest("BREW", ts.URL+"/no/such/page?user="+url.QueryEscape(user), nil)
	b.do(nobody)
	want.add("sessionkit_http_requests_total", 1, "route", "unmatched", "method", "other", "code", "404")

	after := scrapeMetrics(t, ts.URL)

	// Every expected series moved by exactly the expected amount, and no
	// series of these families moved without being expected to.
	for _, name := range []string{
		"sessionkit_logins_total", "sessionkit_sessions_created_total", "sessionkit_sessions_renewed_total",
		"sessionkit_sessions_destroyed_total", "sessionkit_tokens_issued_total", "sessionkit_tokens_refreshed_total",
		"sessionkit_tokens_revoked_total", "sessionkit_refresh_token_reuse_total",
		"sessionkit_store_cas_conflicts_total", "sessionkit_store_cas_retries_total", "sessionkit_http_requests_total",
	} {
		fam := after.fams[name]
		if fam == nil {
			t.Errorf("/metrics has no %s", name)
			continue
		}
		seen := map[string]bool{}
		for _, m := range fam.GetMetric() {
			k := seriesKey(name, m)
			seen[k] = true
			if hasLabels(m, []string{"route", "GET /metrics"}) {
				continue // the scrapes themselves
			}
			pairs := labelPairs(m)
			got := after.value(name, pairs...) - before.value(name, pairs...)
			if got != want[k] {
				t.Errorf("%s moved by %v, want %v", k, got, want[k])
			}
		}
		for k, n := range want {
			if strings.HasPrefix(k, name+"{") && !seen[k] && n != 0 {
				t.Errorf("%s is not in /metrics; want it moved by %v", k, n)
			}
		}
	}

	// Request durations: one observation per request, by route.
	for _, route := range []string{"GET /session/profile", "POST /jwt/login", "POST /api/refresh"} {
		count := after.value("sessionkit_http_requests_total", "route", route) - before.value("sessionkit_http_requests_total", "route", route)
		obs := after.value("sessionkit_http_request_duration_seconds", "route", route) - before.value("sessionkit_http_request_duration_seconds", "route", route)
		if count == 0 || obs != count {
			t.Errorf("%s: %v requests, %v duration observations; want as many, and some", route, count, obs)
		}
	}

	// Store operations: the two forced conflicts show as results of
	// session_save, each call is timed, and the usual calls are counted.
	if got := after.value("sessionkit_store_operations_total", "operation", "session_save", "result", "conflict") -
		before.value("sessionkit_store_operations_total", "operation", "session_save", "result", "conflict"); got != 2 {
		t.Errorf("session_save conflicts moved by %v, want 2", got)
	}
	if got := after.value("sessionkit_store_operations_total", "operation", "user_create", "result", "ok") -
		before.value("sessionkit_store_operations_total", "operation", "user_create", "result", "ok"); got != 2 {
		t.Errorf("user_create ok moved by %v, want 2 (two registrations)", got)
	}
	for _, op := range []string{"session_save", "session_get", "session_delete", "user_get", "deny", "denied", "user_sessions"} {
		calls := after.value("sessionkit_store_operations_total", "operation", op)
		timed := after.value("sessionkit_store_operation_duration_seconds", "operation", op)
		if calls == before.value("sessionkit_store_operations_total", "operation", op) || timed != calls {
			t.Errorf("store operation %s: %v calls (%v before the run), %v timed", op, calls, before.value("sessionkit_store_operations_total", "operation", op), timed)
		}
	}
	if after.value("go_goroutines") == 0 || after.fams["process_cpu_seconds_total"] == nil {
		t.Error("the server's own registry lacks the Go and process metrics")
	}

	// Nothing in /metrics names the user or holds a secret the client saw.
	raw := strings.ToLower(after.raw)
	if strings.Contains(raw, strings.ToLower(user)) || strings.Contains(raw, "throttled_one") {
		t.Error("/metrics names a user")
	}
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	if len(secrets.seen) < 10 {
		t.Fatalf("the test saw only %d secrets; it should have seen every cookie and token", len(secrets.seen))
	}
	for _, s := range secrets.seen {
		if strings.Contains(after.raw, s) {
			t.Errorf("/metrics holds a secret the client saw: %.12s…", s)
		}
	}
}

// labelPairs returns m's labels as name, value pairs.
func labelPairs(m *dto.Metric) []string {
	var pairs []string
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName(), l.GetValue())
	}
	return pairs
}

// TestMetricsRegistry: a program's registry gets the server's metrics
// beside its own, and /metrics serves them all; a second Server cannot
// register in the same registry.
func TestMetricsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	own := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_things_total", Help: "Things the program did."})
	reg.MustRegister(own)
	own.Add(3)
	ts := newServer(t, newMem(t), server.Config{Metrics: reg})
	s := scrapeMetrics(t, ts.URL)
	if s.value("app_things_total") != 3 {
		t.Errorf("the program's own counter: %v, want 3", s.value("app_things_total"))
	}
	if s.fams["sessionkit_logins_total"] == nil {
		t.Error("the server's metrics are not in the program's registry")
	}
	if s.fams["go_goroutines"] != nil {
		t.Error("the server added the Go collector to a registry it was given")
	}
	if _, err := server.New(context.Background(), newMem(t), server.Config{Metrics: reg, PasswordParams: cheapParams}); err == nil {
		t.Error("a second Server registered in the same registry")
	}
}

// TestMetricsVerifyCache: a browser's access token is checked in full on
// its first view and remembered for the next ones, as
// sessionkit_token_verify_cache_total counts.
func TestMetricsVerifyCache(t *testing.T) {
	ts := newServer(t, memstore.New(memstore.Options{}), server.Config{})
	b := newBrowser(t, ts.URL)
	b.register("cache_watcher", "the watcher's password")
	b.login("jwt", "cache_watcher", "the watcher's password")
	before := scrapeMetrics(t, ts.URL)
	for range 3 {
		b.profile("jwt")
	}
	after := scrapeMetrics(t, ts.URL)
	for _, tt := range []struct {
		result string
		want   float64
	}{{"miss", 1}, {"hit", 2}} {
		name := "sessionkit_token_verify_cache_total"
		if got := after.value(name, "result", tt.result) - before.value(name, "result", tt.result); got != tt.want {
			t.Errorf("%s{result=%q} rose by %v over three views with one token, want %v", name, tt.result, got, tt.want)
		}
	}
}
