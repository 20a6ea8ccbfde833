package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/redistest"
)

// The "scale-out for real": three "sessionkit serve" processes on a
// Redis Cluster (three primaries, three replicas), then on a Sentinel set
// (a primary, a replica, three Sentinels), all local processes the test
// starts (internal/redistest) and kills when it ends. On each:
//
//   - 300 concurrent views of one session, spread over the three
//     instances, count exactly 300;
//   - while browsers view their profiles one view after another, over the
//     three instances in turn, the primary that holds their sessions is
//     killed with SIGKILL; its replica is promoted;
//   - every answer is a 200 or a 503 with Retry-After (no other 5xx, no
//     redirect to the login page: a store that is failing over must not
//     log anyone out);
//   - requests succeed again within 10 s of the promotion (the issue's
//     deadline; the measured times are logged);
//   - nothing acknowledged is lost and nothing answered 503 is applied,
//     view by view: see viewAccounting for the exact rule.

// failoverDeadline is the bound on how long after the promotion
// requests may go on failing.
const failoverDeadline = 10 * time.Second

// failoverDeployment is a replicated Redis deployment a test can fail over.
type failoverDeployment struct {
	name string
	// spec is the --store value of the deployment, with a key prefix of
	// the test's.
	spec string
	// victim returns the primary that holds the session of token, the
	// one to kill.
	victim func(t *testing.T, token string) *redistest.Server
	// kill kills the primary victim (SIGKILL) and returns the wait for
	// its replica's promotion.
	kill func(t *testing.T, victim *redistest.Server) func(t testing.TB, timeout time.Duration) *redistest.Failover
}

// TestRedisClusterFailover runs the failover test on a Redis Cluster,
// killing the primary of the hash slot of the sessions viewed.
func TestRedisClusterFailover(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterOptions{})
	prefix := randomName("sktest:") + ":"
	testFailoverDeployment(t, failoverDeployment{
		name: "Redis Cluster",
		spec: rc.URL("prefix", prefix),
		victim: func(t *testing.T, token string) *redistest.Server {
			t.Helper()
			// The record is the key whose name holds the session's hash
			// (its hash tag, or the whole name, gives its slot).
			found := rc.Keys(t, prefix+"*"+sessionHash(token)+"*")
			if len(found) == 0 {
				t.Fatalf("no key under %s names the session's hash %s: the test cannot tell which primary holds it", prefix, sessionHash(token))
			}
			m := rc.MasterOf(t, found[0])
			for _, k := range found[1:] {
				if other := rc.MasterOf(t, k); other != m {
					t.Fatalf("the session's keys %q live on two primaries, %s and %s", found, m, other)
				}
			}
			return m
		},
		kill: func(t *testing.T, victim *redistest.Server) func(t testing.TB, timeout time.Duration) *redistest.Failover {
			return rc.KillMaster(t, victim).WaitPromotion
		},
	})
}

// TestRedisSentinelFailover runs the failover test on a Sentinel set,
// killing the primary.
func TestRedisSentinelFailover(t *testing.T) {
	set := redistest.StartSentinel(t, redistest.SentinelOptions{})
	testFailoverDeployment(t, failoverDeployment{
		name:   "Redis Sentinel",
		spec:   set.URL("prefix", randomName("sktest:")+":"),
		victim: func(*testing.T, string) *redistest.Server { return set.Primary },
		kill: func(t *testing.T, victim *redistest.Server) func(t testing.TB, timeout time.Duration) *redistest.Failover {
			return set.KillPrimary(t).WaitPromotion
		},
	})
}

// Streams of views during the failover.
const (
	viewStreams = 3                     // browsers viewing, each its own session on the victim
	viewPause   = 10 * time.Millisecond // between a browser's views
	warmUp      = time.Second           // of views before the kill
	settled     = 2 * time.Second       // of nothing but 200s that ends the streams
)

func testFailoverDeployment(t *testing.T, dep failoverDeployment) {
	began := time.Now()
	farm := startCluster(t, dep.spec)
	b := newAgent(t, farm.logs)
	user, pass := randomName("fo_"), "correct horse battery"
	b.register(farm.base(0), user, pass)

	// One session, logged in on #1, seen on #2 and #3; 300 views at once,
	// 100 per instance, count exactly 300.
	sess, count := sessionBurst(t, farm, b, user, pass)
	t.Logf("%s: 300 concurrent views counted exactly", dep.name)
	everyModeServes(t, farm, user, pass)

	// The browsers of the failover: this one and new users' logins whose
	// sessions live on the same primary (on a Cluster, the slot of a
	// session is its hash's; on a Sentinel set every key is on the
	// primary). Each is a user of its own: a user's logins past
	// --max-sessions-per-user (10) would end the oldest.
	victim := dep.victim(t, sess.Value)
	streams := []*viewStream{{name: "browser 1", agent: b, user: user, start: count}}
	for attempt := 1; len(streams) < viewStreams; attempt++ {
		if attempt > 60 {
			t.Fatalf("60 logins gave %d sessions on %s, want %d", len(streams), victim, viewStreams)
		}
		a, other := newAgent(t, farm.logs), randomName("fo_")
		a.register(farm.base(attempt%instances), other, pass)
		c := a.login(farm.base(attempt%instances), "session", other, pass)["sk_session"]
		if c == nil {
			t.Fatal("session login set no sk_session cookie")
		}
		if dep.victim(t, c.Value) == victim {
			streams = append(streams, &viewStream{name: fmt.Sprintf("browser %d", len(streams)+1), agent: a, user: other})
		}
	}
	t.Logf("%s: %d sessions on the primary %s (PID %d)", dep.name, len(streams), victim, victim.PID())

	// The browsers view, one view after another each, over the three
	// instances in turn; the victim is killed a second in.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }() // a failed wait ends the test here
	for i, s := range streams {
		wg.Go(func() { s.run(ctx, farm, i) })
	}
	time.Sleep(warmUp)
	wait := dep.kill(t, victim)
	f := wait(t, 30*time.Second)
	t.Logf("%s failover: %v", dep.name, f)

	// The streams go on until each has answered nothing but 200s for
	// `settled`, or until well past the deadline.
	giveUp := f.PromotedAt.Add(failoverDeadline + 2*settled)
	for time.Now().Before(giveUp) {
		done := true
		for _, s := range streams {
			if ok, at := s.settledSince(f.KilledAt); !ok || time.Since(at) < settled {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()

	// Judge every answer.
	var worst time.Duration
	allViews, all200, all503, allNone, allCounted := 0, 0, 0, 0, 0
	for _, s := range streams {
		st := s.stats()
		allViews += len(s.answers)
		all200 += st.ok
		all503 += st.unavailable
		allNone += st.none
		if len(st.odd) > 0 {
			var samples []string
			for _, a := range st.odd[:min(len(st.odd), 5)] {
				samples = append(samples, fmt.Sprintf("%s on #%d, sent %v after the kill: %s", a.what(), a.instance+1,
					a.sent.Sub(f.KilledAt).Round(time.Millisecond), truncate(a.body, 300)))
			}
			t.Errorf("%s, %s: %d of %d answers were neither a 200 greeting nor a 503 with Retry-After; the first:\n%s",
				dep.name, s.name, len(st.odd), len(s.answers), strings.Join(samples, "\n"))
		}
		ok, recovered := s.settledSince(f.KilledAt)
		switch {
		case !ok:
			t.Errorf("%s, %s: no view answered 200 after the last failure (kill at %v, promotion %v later); answers after the kill: %s",
				dep.name, s.name, f.KilledAt.Format("15:04:05.000"), f.PromotedAt.Sub(f.KilledAt).Round(time.Millisecond), s.since(f.KilledAt))
		default:
			rec := recovered.Sub(f.PromotedAt)
			worst = max(worst, rec)
			failing := "no view failed"
			if !st.firstBad.IsZero() {
				failing = fmt.Sprintf("views failed from %v to %v after the kill", st.firstBad.Sub(f.KilledAt).Round(time.Millisecond),
					st.lastBad.Sub(f.KilledAt).Round(time.Millisecond))
			}
			t.Logf("%s, %s: %d views: %d × 200, %d × 503, %d unanswered, %d other; %s; answering 200 again %v after the kill, %v after the promotion",
				dep.name, s.name, len(s.answers), st.ok, st.unavailable, st.none, len(st.odd), failing,
				recovered.Sub(f.KilledAt).Round(time.Millisecond), rec.Round(time.Millisecond))
			if rec > failoverDeadline {
				t.Errorf("%s, %s: requests succeeded again %v after the promotion, want within %v",
					dep.name, s.name, rec.Round(time.Millisecond), failoverDeadline)
			}
		}
		grew, problems := viewAccounting(s, func(inst int, id string) string { return logLine(farm.procs[inst].log.String(), id) })
		for _, p := range problems {
			t.Errorf("%s, %s: %s", dep.name, s.name, p)
		}
		allCounted += grew
	}
	t.Logf("%s: %d views in all during the failover: %d × 200, %d × 503, %d unanswered; the sessions' counts grew by %d (rule: ≥ %d, ≤ %d); requests succeeded again at most %v after the promotion (deadline %v)",
		dep.name, allViews, all200, all503, allNone, allCounted, all200, all200+allNone, worst.Round(time.Millisecond), failoverDeadline)

	// Every session goes on on every instance, its count where the
	// accounting left it.
	for _, s := range streams {
		for i := range instances {
			s.last++
			s.agent.profile(farm.base(i), "session", s.user, s.last)
		}
	}
	t.Logf("%s: the whole test took %v", dep.name, time.Since(began).Round(time.Millisecond))
}

// viewStream is one browser viewing its session profile during the
// failover, and every answer it had.
type viewStream struct {
	name  string
	agent *agent
	user  string
	start int // the session's count before the stream's first view
	last  int // the session's count after the stream (viewAccounting)

	mu      sync.Mutex
	answers []viewAnswer
}

// viewAnswer is what one view got.
type viewAnswer struct {
	sent, done time.Time
	instance   int    // 0-based
	status     int    // 0: no answer (a transport error or a timeout)
	count      int    // the count a 200 greeted with; -1 if none
	err        string // the transport error, or what is wrong with a 200
	retryAfter string
	requestID  string
	body       string
}

// what describes the answer for messages.
func (a viewAnswer) what() string {
	switch {
	case a.status == 0:
		return "no answer (" + a.err + ")"
	case a.err != "":
		return fmt.Sprintf("%d (%s)", a.status, a.err)
	default:
		return strconv.Itoa(a.status)
	}
}

// good reports whether the view was answered 200 with a greeting.
func (a viewAnswer) good() bool { return a.status == http.StatusOK && a.count >= 0 }

// run views the profile until ctx ends: one view at a time, each on the
// next instance (starting at first), viewPause apart.
func (s *viewStream) run(ctx context.Context, farm *cluster, first int) {
	for i := first; ctx.Err() == nil; i++ {
		inst := i % instances
		a := viewAnswer{instance: inst, count: -1, sent: time.Now()}
		req, err := http.NewRequest(http.MethodGet, farm.base(inst)+"/session/profile", nil)
		if err != nil {
			panic(err)
		}
		resp, err := s.agent.client.Do(req)
		if err != nil {
			a.err = err.Error()
		} else {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			a.status = resp.StatusCode
			a.retryAfter = resp.Header.Get("Retry-After")
			a.requestID = resp.Header.Get("X-Request-Id")
			a.body = string(body)
			if rerr != nil {
				a.status, a.err = 0, "reading the body: "+rerr.Error()
			} else if a.status == http.StatusOK {
				m := welcomeRE.FindStringSubmatch(a.body)
				if m == nil || m[1] != s.user {
					a.err = "no greeting of " + s.user
				} else {
					a.count, _ = strconv.Atoi(m[2])
				}
			}
			if a.status == http.StatusOK && a.err == "" {
				a.body = "" // not needed; keeps the record small
			}
		}
		a.done = time.Now()
		s.mu.Lock()
		s.answers = append(s.answers, a)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(viewPause):
		}
	}
}

// settledSince reports whether the stream's last answer is a 200 and, if
// so, when the unbroken run of 200s that ends the stream began (the
// answer to its first view), counting only answers to views sent after
// from (before it, every view of the run counts from from).
func (s *viewStream) settledSince(from time.Time) (bool, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.answers) == 0 || !s.answers[len(s.answers)-1].good() {
		return false, time.Time{}
	}
	i := len(s.answers) - 1
	for i > 0 && s.answers[i-1].good() && s.answers[i-1].sent.After(from) {
		i--
	}
	return true, s.answers[i].done
}

// since lists the answers to views sent after from, compressed, for
// messages.
func (s *viewStream) since(from time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	prev, n := "", 0
	flush := func() {
		if n > 0 {
			fmt.Fprintf(&b, "%s × %d, ", prev, n)
		}
	}
	for _, a := range s.answers {
		if a.sent.Before(from) {
			continue
		}
		w := a.what()
		if w != prev {
			flush()
			prev, n = w, 0
		}
		n++
	}
	flush()
	return strings.TrimSuffix(b.String(), ", ")
}

// viewStats counts a stream's answers.
type viewStats struct {
	ok, unavailable, none int
	odd                   []viewAnswer // neither a 200 greeting, a 503 with Retry-After nor no answer
	firstBad, lastBad     time.Time    // answers other than 200 (zero: none)
}

func (s *viewStream) stats() viewStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st viewStats
	for _, a := range s.answers {
		switch {
		case a.good():
			st.ok++
			continue
		case a.status == 0:
			st.none++
		case a.status == http.StatusServiceUnavailable && a.retryAfter != "":
			st.unavailable++
		default:
			st.odd = append(st.odd, a)
		}
		if st.firstBad.IsZero() {
			st.firstBad = a.done
		}
		st.lastBad = a.done
	}
	return st
}

// viewAccounting checks, view by view, that the session's count moved as
// the stream's answers say, and returns how much it grew and what was
// wrong (nothing: nil). The rule: between two consecutive 200 answers,
// greeting with counts a then b, the views in between (answered 503, or
// not at all) were applied b−a−1 times. That must be at least 0 (b ≤ a: a
// view acknowledged with a 200 was lost) and at most the number of those
// views that got no answer, plus any earlier unanswered view not yet
// accounted for (it may land late): a view answered 503 must not have been
// applied. So the count after the stream is at least start + the 200s and
// at most that plus the views with no answer. The stream's first 200 is
// compared with the session's count before the stream. logLine returns
// the server's log line of a request, for messages.
func viewAccounting(s *viewStream, logLine func(instance int, requestID string) string) (grew int, problems []string) {
	last, credit := s.start, 0
	var between []viewAnswer
	for _, a := range s.answers {
		if !a.good() {
			between = append(between, a)
			if a.status == 0 {
				credit++
			}
			continue
		}
		applied := a.count - last - 1
		switch {
		case applied < 0:
			problems = append(problems, fmt.Sprintf("ACKNOWLEDGED VIEWS LOST: a 200 greeted with the count %d after one with %d (%d answers other than 200 between): %d view(s) answered 200 are not in the count; the 200 came from #%d at %s",
				a.count, last, len(between), -applied, a.instance+1, a.done.Format("15:04:05.000")))
		case applied > credit:
			var lines []string
			for _, x := range between {
				if x.status == http.StatusServiceUnavailable {
					lines = append(lines, fmt.Sprintf("#%d at %s, request %s: %s", x.instance+1, x.done.Format("15:04:05.000"), x.requestID,
						logLine(x.instance, x.requestID)))
				}
			}
			problems = append(problems, fmt.Sprintf("503-ANSWERED VIEWS APPLIED: the count went from %d to %d across %d answers other than 200 (%d views with no answer to account for), so %d view(s) answered 503 were counted; the 503s:\n%s",
				last, a.count, len(between), credit, applied-credit, strings.Join(lines, "\n")))
			credit = 0
		default:
			credit -= applied
		}
		last, between = a.count, nil
	}
	s.last = last
	return last - s.start, problems
}

// TestFailoverViewAccounting checks viewAccounting's rule on made-up
// answers: it must catch a lost 200 and a counted 503, and allow an
// unanswered view either way.
func TestFailoverViewAccounting(t *testing.T) {
	ok := func(n int) viewAnswer { return viewAnswer{status: 200, count: n} }
	unavailable := viewAnswer{status: 503, count: -1, retryAfter: "1"}
	none := viewAnswer{status: 0, count: -1, err: "timeout"}
	noLog := func(int, string) string { return "" }
	for _, c := range []struct {
		name     string
		start    int
		answers  []viewAnswer
		grew     int
		problems []string // a word each problem holds
	}{
		{"all 200", 10, []viewAnswer{ok(11), ok(12), ok(13)}, 3, nil},
		{"503 not counted", 0, []viewAnswer{ok(1), unavailable, unavailable, ok(2)}, 2, nil},
		{"503 counted", 0, []viewAnswer{ok(1), unavailable, unavailable, ok(3)}, 3, []string{"503-ANSWERED VIEWS APPLIED"}},
		{"first view's 503 counted", 5, []viewAnswer{unavailable, ok(7)}, 2, []string{"503-ANSWERED VIEWS APPLIED"}},
		{"200 lost", 0, []viewAnswer{ok(1), ok(2), unavailable, ok(2)}, 2, []string{"ACKNOWLEDGED VIEWS LOST"}},
		{"unanswered counted", 0, []viewAnswer{ok(1), none, ok(3)}, 3, nil},
		{"unanswered not counted", 0, []viewAnswer{ok(1), none, ok(2)}, 2, nil},
		{"unanswered counted late", 0, []viewAnswer{ok(1), none, ok(2), ok(4)}, 4, nil},
		{"unanswered and 503 counted", 0, []viewAnswer{ok(1), none, unavailable, ok(4)}, 4, []string{"503-ANSWERED VIEWS APPLIED"}},
	} {
		s := &viewStream{start: c.start, answers: c.answers}
		grew, problems := viewAccounting(s, noLog)
		if grew != c.grew || s.last != c.start+c.grew {
			t.Errorf("%s: grew %d to %d, want %d", c.name, grew, s.last, c.grew)
		}
		if len(problems) != len(c.problems) {
			t.Errorf("%s: problems %q, want %d", c.name, problems, len(c.problems))
			continue
		}
		for i, p := range problems {
			if !strings.Contains(p, c.problems[i]) {
				t.Errorf("%s: problem %q, want one about %s", c.name, p, c.problems[i])
			}
		}
	}
}

// everyModeServes checks that the three instances serve every mode on
// the deployment, each login made on one instance and used on the others:
// JWT (profile and count), the API (a token, a refresh, the new token) and
// the sealed cookie (its login record).
func everyModeServes(t *testing.T, farm *cluster, user, pass string) {
	t.Helper()
	m := newAgent(t, farm.logs)
	if jwt := m.login(farm.base(0), "jwt", user, pass); jwt["sk_access"] == nil || jwt["sk_refresh"] == nil {
		t.Fatalf("JWT login on #1 set cookies %v, want sk_access and sk_refresh", keys(jwt))
	}
	m.profile(farm.base(1), "jwt", user, 1)
	m.profile(farm.base(2), "jwt", user, 2)
	login := map[string]string{"username": user, "password": pass}
	first := m.decodePair("API login on #1", m.api(http.MethodPost, farm.base(0)+"/api/login", login, ""))
	m.me(farm.base(1), first.AccessToken, user)
	pair := m.decodePair("API refresh on #3", m.api(http.MethodPost, farm.base(2)+"/api/refresh",
		map[string]string{"refresh_token": first.RefreshToken}, ""))
	m.me(farm.base(0), pair.AccessToken, user)
	if m.login(farm.base(0), "cookie", user, pass)["sk_cookie"] == nil {
		t.Fatal("cookie login on #1 set no sk_cookie cookie")
	}
	m.profile(farm.base(1), "cookie", user, 1)
	m.profile(farm.base(2), "cookie", user, 2)
}
