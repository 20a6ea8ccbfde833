package report_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/bench/report"
)

const header = "scenario,round,server,rps,p50_ms,p99_ms,requests,non2xx,socket_errors,resp_bytes,body_bytes,views_expected,views_counted,users,pages\n"

// Three rounds in which the machine's speed drifts: the ratio within each
// round is steady, the req/s are not.
const threeRounds = header +
	"users,1,bare,10000,1,5,100000,0,0,1000,901,100001,100001,200,/profile\n" +
	"users,1,sk-session-mem,8000,2,6,80000,0,0,1000,901,80001,80001,200,/session/profile\n" +
	"users,1,scs-mem,3000,3,9,30000,0,0,1000,901,30001,29000,200,/profile\n" +
	"users,1,sk-cookie,5000,2,6,50000,0,0,1300,420,,,200,/cookie/profile\n" +
	"users,2,bare,20000,1,5,200000,0,0,1000,901,200001,200001,200,/profile\n" +
	"users,2,sk-session-mem,15000,2,6,150000,3,1,1000,901,150001,150001,200,/session/profile\n" +
	"users,2,scs-mem,6000,3,9,60000,0,0,1000,901,60001,59000,200,/profile\n" +
	"users,2,sk-cookie,10000,2,6,100000,0,0,1300,420,,,200,/cookie/profile\n" +
	"users,3,bare,5000,1,5,50000,0,0,1000,901,50001,50001,200,/profile\n" +
	"users,3,sk-session-mem,3600,2,6,36000,0,0,1000,901,36001,36001,200,/session/profile\n" +
	"users,3,scs-mem,1500,3,9,15000,0,0,1000,901,15001,15001,200,/profile\n" +
	"users,3,sk-cookie,2500,2,6,25000,0,0,1300,420,,,200,/cookie/profile\n"

// A read-mostly round with a server that has no read-only page, and a
// hot round.
const otherScenarios = header +
	"readmostly,1,bare,12000,1,5,120000,0,0,1000,901,12001,12001,200,/profile + 90% /profile/read\n" +
	"readmostly,1,sk-cookie,,,,,,,,,,,,no read-only page in cookie mode\n" +
	"hot,1,bare,9000,1,5,90000,0,0,1000,901,90001,90001,1,/profile\n"

func summarize(t *testing.T, csv string) report.Summary {
	t.Helper()
	runs, err := report.ReadRuns(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return report.Summarize(runs)
}

func TestSummarize(t *testing.T) {
	sum := summarize(t, threeRounds)
	want := map[string]struct {
		rps, ratio, toSCS     float64
		non2xx, sockets, lost int64
	}{
		"bare":           {10000, 1, 3.333333333333333, 0, 0, 0},
		"sk-session-mem": {8000, 0.75, 2.5, 3, 1, 0},      // ratios to bare 0.80, 0.75, 0.72
		"scs-mem":        {3000, 0.30, 1, 0, 0, 2002},     // ratios to bare 0.30, 0.30, 0.30
		"sk-cookie":      {5000, 0.50, 5.0 / 3, 0, 0, -1}, // ratios to scs-mem 1.67 each round
	}
	if len(sum.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(sum.Rows), len(want))
	}
	if sum.Scenario != "users" || sum.Users != 200 {
		t.Errorf("scenario %q with %d users, want users with 200", sum.Scenario, sum.Users)
	}
	for _, r := range sum.Rows {
		w := want[r.Name]
		if r.RPS != w.rps || math.Abs(r.RatioToBare-w.ratio) > 1e-9 || math.Abs(r.RatioToSCSMem-w.toSCS) > 1e-9 ||
			r.Non2xx != w.non2xx || r.SocketErrors != w.sockets || r.Lost != w.lost {
			t.Errorf("%s: rps %v ratio %v to scs %v non2xx %d sockets %d lost %d; want %+v", r.Name, r.RPS, r.RatioToBare, r.RatioToSCSMem, r.Non2xx, r.SocketErrors, r.Lost, w)
		}
		if !math.IsNaN(r.RatioToSCSRedis) {
			t.Errorf("%s: ratio to scs-redis %v without scs-redis, want NaN", r.Name, r.RatioToSCSRedis)
		}
	}
	if sum.Rows[0].Name != "bare" || sum.Rows[1].Name != "sk-session-mem" {
		t.Errorf("rows not in the order of Servers: %s, %s", sum.Rows[0].Name, sum.Rows[1].Name)
	}
	results := map[string]string{}
	for _, c := range sum.Checks {
		results[c.Describe()] = c.Result()
	}
	for target, want := range map[string]string{
		"sk-session-mem ≥ 0.6 × bare":        "PASS", // 0.75
		"sk-session-mem ≥ 2 × scs-mem":       "PASS", // 2.50
		"sk-session-mem ≈ 1 × scs-mem":       "info",
		"sk-session-redis ≥ 1.5 × scs-redis": "not run",
	} {
		if results[target] != want {
			t.Errorf("%s: %q, want %q (all: %v)", target, results[target], want, results)
		}
	}
}

func TestTables(t *testing.T) {
	var b strings.Builder
	if err := summarize(t, threeRounds).WriteLoadTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| sk-session-mem | sessionkit session mode, memory: | /session/profile | 8 000 | 2.00 | 6.00 | 0.75 | 2.50 | – | 3 | 1 | 0 | 901 |",
		"| sk-cookie | sessionkit cookie mode (sealed cookie), memory: | /cookie/profile | 5 000 | 2.00 | 6.00 | 0.50 | 1.67 | – | 0 | 0 | n/a (cookie) | 420 |",
		"| sk-session-mem ≥ 2 × scs-mem | 2.50 | PASS |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("load table lacks %q:\n%s", want, b.String())
		}
	}

	b.Reset()
	err := report.WriteLostUpdateTable(&b, []report.LostUpdate{
		{Server: "sk-session-mem", Sent: 200, OK: 200, Got: 201, Statuses: "200×200"},
		{Server: "sk-session-redis", Sent: 200, OK: 150, Got: 151, Statuses: "200×150 503×50"},
		{Server: "scs-mem", Sent: 200, OK: 200, Got: 57, Statuses: "200×200"},
		{Server: "gorilla-cookie", Sent: 200, OK: 200, Got: 1, Statuses: "200×200"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| sk-session-mem | 200 | 200×200 | 201 | 201 | 0 |  |",
		"| sk-session-redis | 200 | 200×150 503×50 | 151 | 151 | 0 | views not answered 200 need not count |",
		"| scs-mem | 200 | 200×200 | 201 | 57 | 144 |  |",
		"| gorilla-cookie | 200 | 200×200 | 201 | 1 | – | count is in the client's cookie",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lost-update table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSVG(t *testing.T) {
	svg, err := summarize(t, threeRounds).SVG()
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if !strings.HasPrefix(s, "<svg ") || !strings.HasSuffix(s, "</svg>\n") {
		t.Fatalf("not an SVG document:\n%s", s)
	}
	// Four bars, and a red tick for each target against bare.
	if n := strings.Count(s, "<rect x="); n != 4 {
		t.Errorf("%d bars, want 4", n)
	}
	if n := strings.Count(s, `stroke="#d62728"`); n != 1 {
		t.Errorf("%d target ticks, want 1 (session-mem; sqlite and pg did not run)", n)
	}
	// sk-session-mem ÷ scs-mem: 2.67, 2.50, 2.40 in the three rounds.
	if !strings.Contains(s, "2.50× scs-mem") {
		t.Errorf("no note of the ratio against scs-mem:\n%s", s)
	}

	noBare := header + "users,1,scs-mem,3000,3,9,30000,0,0,1000,901,30001,29000,200,/profile\n"
	if _, err := summarize(t, noBare).SVG(); !errors.Is(err, report.ErrNoBare) {
		t.Errorf("runs without bare: %v, want ErrNoBare", err)
	}
}

func TestReadRunsRefusesOtherFiles(t *testing.T) {
	for name, csv := range map[string]string{
		"empty":        "",
		"other header": "a,b,c\n1,2,3\n",
		"bad number":   header + "users,1,bare,fast,1,5,100000,0,0,1000,901,1,1,200,/profile\n",
		"no server":    header + "users,1,,10000,1,5,100000,0,0,1000,901,1,1,200,/profile\n",
		"no scenario":  header + ",1,bare,10000,1,5,100000,0,0,1000,901,1,1,200,/profile\n",
		"old header":   "round,server,rps,p50_ms,p99_ms,requests,non2xx,socket_errors,resp_bytes,body_bytes,views_expected,views_counted\n",
	} {
		if _, err := report.ReadRuns(strings.NewReader(csv)); !errors.Is(err, report.ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

// The scenarios come in their order; a server a scenario could not
// measure has a row saying why, and no numbers.
func TestScenarios(t *testing.T) {
	runs, err := report.ReadRuns(strings.NewReader(otherScenarios))
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Scenarios(runs); !slices.Equal(got, []string{"readmostly", "hot"}) {
		t.Errorf("scenarios %q, want readmostly, hot", got)
	}
	sum := report.Summarize(report.OfScenario(runs, "readmostly"))
	var b strings.Builder
	if err := sum.WriteLoadTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| bare | net/http, same page, no session | /profile + 90% /profile/read | 12 000 |",
		"| sk-cookie | sessionkit cookie mode (sealed cookie), memory: | no read-only page in cookie mode | – |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("readmostly table lacks %q:\n%s", want, b.String())
		}
	}
	if hot := report.Summarize(report.OfScenario(runs, "hot")); len(hot.Rows) != 1 || hot.Users != 1 {
		t.Errorf("hot: %d rows, %d users; want 1 and 1", len(hot.Rows), hot.Users)
	}
}

// The login table shows each server's logins/s and its views/s during the
// storm against its views/s in the users scenario of the same round.
func TestLoginTable(t *testing.T) {
	csv := strings.Join(report.LoginHeader(), ",") + "\n" +
		"1,sk-session-mem,40.5,150,400,203,0,0,6000,2,30,30000,0,0,30000,30000,200\n" +
		"1,sk-cookie,41,150,400,205,2,0,7000,2,30,35000,0,0,,,200\n"
	logins, err := report.ReadLogins(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := report.ReadRuns(strings.NewReader(threeRounds))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := report.WriteLoginTable(&b, logins, runs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| sk-session-mem | 40 | 150.0 | 400.0 | 0 | 6 000 | 30.00 | 0 | 0 | 0.75 | 0 |",
		"| sk-cookie | 41 | 150.0 | 400.0 | 2 | 7 000 | 30.00 | 0 | 0 | 1.40 | n/a (cookie) |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("login table lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := report.ReadLogins(strings.NewReader("a,b\n")); !errors.Is(err, report.ErrFormat) {
		t.Errorf("another file: %v, want ErrFormat", err)
	}
}
