package report_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/bench/report"
)

const header = "round,server,rps,p50_ms,p99_ms,requests,non2xx,socket_errors,resp_bytes,body_bytes,views_expected,views_counted\n"

// Three rounds in which the machine's speed drifts: the ratio within each
// round is steady, the req/s are not.
const threeRounds = header +
	"1,bare,10000,1,5,100000,0,0,1000,901,100001,100001\n" +
	"1,sk-session-mem,8000,2,6,80000,0,0,1000,901,80001,80001\n" +
	"1,scs-mem,3000,3,9,30000,0,0,1000,901,30001,29000\n" +
	"1,sk-cookie,5000,2,6,50000,0,0,1300,420,,\n" +
	"2,bare,20000,1,5,200000,0,0,1000,901,200001,200001\n" +
	"2,sk-session-mem,15000,2,6,150000,3,1,1000,901,150001,150001\n" +
	"2,scs-mem,6000,3,9,60000,0,0,1000,901,60001,59000\n" +
	"2,sk-cookie,10000,2,6,100000,0,0,1300,420,,\n" +
	"3,bare,5000,1,5,50000,0,0,1000,901,50001,50001\n" +
	"3,sk-session-mem,3600,2,6,36000,0,0,1000,901,36001,36001\n" +
	"3,scs-mem,1500,3,9,15000,0,0,1000,901,15001,15001\n" +
	"3,sk-cookie,2500,2,6,25000,0,0,1300,420,,\n"

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
		rps, ratio   float64
		errors, lost int64
	}{
		"bare":           {10000, 1, 0, 0},
		"sk-session-mem": {8000, 0.75, 4, 0},    // ratios 0.80, 0.75, 0.72
		"scs-mem":        {3000, 0.30, 0, 2002}, // ratios 0.30, 0.30, 0.30
		"sk-cookie":      {5000, 0.50, 0, -1},
	}
	if len(sum.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(sum.Rows), len(want))
	}
	for _, r := range sum.Rows {
		w := want[r.Name]
		if r.RPS != w.rps || math.Abs(r.RatioToBare-w.ratio) > 1e-9 || r.Errors != w.errors || r.Lost != w.lost {
			t.Errorf("%s: rps %v ratio %v errors %d lost %d; want %v %v %d %d", r.Name, r.RPS, r.RatioToBare, r.Errors, r.Lost, w.rps, w.ratio, w.errors, w.lost)
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
		"sk-session-mem ≥ 0.7 × bare":        "PASS", // 0.75
		"sk-cookie ≥ 0.6 × bare":             "FAIL", // 0.50
		"sk-session-mem ≈ 2.3 × scs-mem":     "info",
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
		"| sk-session-mem | sessionkit /session/profile, memory: | 8 000 | 2.00 | 6.00 | 0.75 | 4 | 0 | 901 |",
		"| sk-cookie | sessionkit /cookie/profile (sealed cookie), memory: | 5 000 | 2.00 | 6.00 | 0.50 | 0 | n/a (cookie) | 420 |",
		"| sk-cookie ≥ 0.6 × bare | 0.50 | FAIL |",
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
	if n := strings.Count(s, `stroke="#d62728"`); n != 2 {
		t.Errorf("%d target ticks, want 2 (session-mem and cookie; sqlite did not run)", n)
	}
	// sk-session-mem ÷ scs-mem: 2.67, 2.50, 2.40 in the three rounds.
	if !strings.Contains(s, "2.50× scs-mem") {
		t.Errorf("no note of the ratio against scs-mem:\n%s", s)
	}

	noBare := header + "1,scs-mem,3000,3,9,30000,0,0,1000,901,30001,29000\n"
	if _, err := summarize(t, noBare).SVG(); !errors.Is(err, report.ErrNoBare) {
		t.Errorf("runs without bare: %v, want ErrNoBare", err)
	}
}

func TestReadRunsRefusesOtherFiles(t *testing.T) {
	for name, csv := range map[string]string{
		"empty":        "",
		"other header": "a,b,c\n1,2,3\n",
		"bad number":   header + "1,bare,fast,1,5,100000,0,0,1000,901,1,1\n",
		"no server":    header + "1,,10000,1,5,100000,0,0,1000,901,1,1\n",
	} {
		if _, err := report.ReadRuns(strings.NewReader(csv)); !errors.Is(err, report.ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}
