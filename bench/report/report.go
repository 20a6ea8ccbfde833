package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// loadHeader is the header row of the load CSV, in column order.
var loadHeader = []string{"scenario", "round", "server", "rps", "p50_ms", "p99_ms", "requests", "non2xx", "socket_errors", "resp_bytes", "body_bytes", "views_expected", "views_counted", "users", "pages"}

// LoadHeader returns the header row load.sh writes, in column order.
func LoadHeader() []string { return slices.Clone(loadHeader) }

// ErrFormat is returned for a CSV that is not what load.sh writes.
var ErrFormat = errors.New("report: not a load.sh CSV")

// The scenarios of load.sh, in the order the tables show them.
const (
	Users      = "users"      // distinct users, every view counts
	ReadMostly = "readmostly" // distinct users, most requests read only
	Hot        = "hot"        // one login on every connection
)

// Scenarios returns the scenarios of runs, in the order of the known
// ones (users, readmostly, hot), unknown ones last by name.
func Scenarios(runs []Run) []string {
	seen := map[string]bool{}
	for _, r := range runs {
		seen[r.Scenario] = true
	}
	var out []string
	for _, s := range []string{Users, ReadMostly, Hot} {
		if seen[s] {
			out = append(out, s)
			delete(seen, s)
		}
	}
	var rest []string
	for s := range seen {
		rest = append(rest, s)
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// OfScenario returns the runs of one scenario.
func OfScenario(runs []Run, scenario string) []Run {
	var out []Run
	for _, r := range runs {
		if r.Scenario == scenario {
			out = append(out, r)
		}
	}
	return out
}

// Run is one server's measurement in one round of one scenario.
type Run struct {
	Scenario     string
	Round        int
	Server       string
	RPS          float64
	P50, P99     float64 // milliseconds
	Requests     int64
	Non2xx       int64 // non-2xx/3xx answers wrk counted, and pages the checks found wrong
	SocketErrors int64
	RespBytes    float64 // bytes read per response, headers included
	BodyBytes    int64   // the page's body, from one view
	// ViewsExpected is how many counting views the server answered
	// 2xx/3xx; ViewsCounted is how many of them the counts showed
	// afterwards (see load.sh). Both are -1 when they cannot be known:
	// the count lives in the client's cookie.
	ViewsExpected, ViewsCounted int64
	Users                       int64  // distinct logins the load used
	Pages                       string // the paths requested, or why the server was not measured
	// Skipped reports a server that was not measured in this scenario
	// (its row has no req/s); Pages says why.
	Skipped bool
}

// ReadRuns parses a load CSV.
func ReadRuns(r io.Reader) ([]Run, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], loadHeader) {
		return nil, fmt.Errorf("%w: the header must be %s", ErrFormat, strings.Join(loadHeader, ","))
	}
	runs := make([]Run, 0, len(rows)-1)
	for i, row := range rows[1:] {
		run, err := parseRun(row)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %v", ErrFormat, i+2, err)
		}
		runs = append(runs, run)
	}
	return runs, nil
}

func parseRun(row []string) (Run, error) {
	var errs []error
	f := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		errs = append(errs, err)
		return v
	}
	n := func(s string) int64 {
		if s == "" {
			return -1
		}
		v, err := strconv.ParseInt(s, 10, 64)
		errs = append(errs, err)
		return v
	}
	run := Run{Scenario: row[0], Round: int(n(row[1])), Server: row[2], Pages: row[14]}
	if run.Server == "" || run.Scenario == "" {
		return Run{}, errors.New("no server or scenario name")
	}
	if row[3] == "" {
		run.Skipped = true
		return run, errors.Join(errs...)
	}
	run.RPS, run.P50, run.P99 = f(row[3]), f(row[4]), f(row[5])
	run.Requests, run.Non2xx, run.SocketErrors = n(row[6]), n(row[7]), n(row[8])
	run.RespBytes, run.BodyBytes = f(row[9]), n(row[10])
	run.ViewsExpected, run.ViewsCounted, run.Users = n(row[11]), n(row[12]), n(row[13])
	if err := errors.Join(errs...); err != nil {
		return Run{}, err
	}
	return run, nil
}

// Row is one server's summary over the rounds of one scenario.
type Row struct {
	Server
	Rounds        int
	RPS, P50, P99 float64 // medians over the rounds
	// The medians of the per-round ratios of req/s to bare's, scs-mem's
	// and scs-redis's; NaN when that server did not run.
	RatioToBare, RatioToSCSMem, RatioToSCSRedis float64
	Non2xx                                      int64 // non-2xx/3xx answers, all rounds
	SocketErrors                                int64 // all rounds
	BodyBytes                                   int64
	// Lost is the views answered but not counted, summed over the rounds
	// (a lower bound: see load.sh); -1 when the count is in the cookie.
	Lost  int64
	Users int64
	Pages string // what was requested, or why it was not measured
	// Skipped reports a server not measured in this scenario.
	Skipped bool
}

// Check is a target with its measurement.
type Check struct {
	Target
	Ratio  float64 // median of the per-round ratios; NaN when not measured
	Rounds int     // rounds in which both servers ran
}

// Result reports whether the check passed: "PASS", "FAIL", "info" for an
// informational target, or "not run".
func (c Check) Result() string {
	switch {
	case math.IsNaN(c.Ratio):
		return "not run"
	case c.Info:
		return "info"
	case c.Ratio >= c.Min:
		return "PASS"
	default:
		return "FAIL"
	}
}

// Summary is what the tables show, for one scenario.
type Summary struct {
	Scenario string
	Users    int64 // distinct logins the load used (the most of any server)
	Rows     []Row
	Checks   []Check
}

// Summarize reduces the runs of one scenario to one row per server, in
// the order of Servers (unknown servers last, by name), and measures every
// target.
func Summarize(runs []Run) Summary {
	byServer := map[string][]Run{}
	rps := map[string]map[int]float64{} // server → round → req/s
	for _, r := range runs {
		byServer[r.Server] = append(byServer[r.Server], r)
		if r.Skipped {
			continue
		}
		if rps[r.Server] == nil {
			rps[r.Server] = map[int]float64{}
		}
		rps[r.Server][r.Round] = r.RPS
	}
	var names []string
	for _, s := range Servers() {
		if byServer[s.Name] != nil {
			names = append(names, s.Name)
		}
	}
	var unknown []string
	for name := range byServer {
		if !slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	names = append(names, unknown...)

	var sum Summary
	for _, r := range runs {
		sum.Scenario = r.Scenario
		sum.Users = max(sum.Users, r.Users)
	}
	for _, name := range names {
		rs := byServer[name]
		row := Row{Server: lookupServer(name), Lost: -1, Pages: rs[0].Pages}
		var rpsList, p50s, p99s []float64
		for _, r := range rs {
			if r.Skipped {
				continue
			}
			row.Rounds++
			rpsList = append(rpsList, r.RPS)
			p50s = append(p50s, r.P50)
			p99s = append(p99s, r.P99)
			row.Non2xx += r.Non2xx
			row.SocketErrors += r.SocketErrors
			row.BodyBytes, row.Users, row.Pages = r.BodyBytes, r.Users, r.Pages
			if r.ViewsExpected >= 0 && r.ViewsCounted >= 0 {
				if row.Lost < 0 {
					row.Lost = 0
				}
				row.Lost += max(0, r.ViewsExpected-r.ViewsCounted)
			}
		}
		row.Skipped = row.Rounds == 0
		row.RPS, row.P50, row.P99 = median(rpsList), median(p50s), median(p99s)
		row.RatioToBare, _ = ratio(rps, name, "bare")
		row.RatioToSCSMem, _ = ratio(rps, name, "scs-mem")
		row.RatioToSCSRedis, _ = ratio(rps, name, "scs-redis")
		sum.Rows = append(sum.Rows, row)
	}
	for _, t := range Targets() {
		r, n := ratio(rps, t.Server, t.Against)
		sum.Checks = append(sum.Checks, Check{Target: t, Ratio: r, Rounds: n})
	}
	return sum
}

// ratio is the median over the rounds in which both ran of a's req/s
// divided by b's, and how many rounds that was; NaN if none.
func ratio(rps map[string]map[int]float64, a, b string) (float64, int) {
	var rs []float64
	for round, ra := range rps[a] {
		if rb, ok := rps[b][round]; ok && rb > 0 {
			rs = append(rs, ra/rb)
		}
	}
	return median(rs), len(rs)
}

// median of xs; NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
