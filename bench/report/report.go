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

// LoadHeader is the header row of the load CSV, in column order.
var loadHeader = []string{"round", "server", "rps", "p50_ms", "p99_ms", "requests", "non2xx", "socket_errors", "resp_bytes", "body_bytes", "views_expected", "views_counted"}

// LoadHeader returns the header row load.sh writes, in column order.
func LoadHeader() []string { return slices.Clone(loadHeader) }

// ErrFormat is returned for a CSV that is not what load.sh writes.
var ErrFormat = errors.New("report: not a load.sh CSV")

// Run is one server's measurement in one round.
type Run struct {
	Round        int
	Server       string
	RPS          float64
	P50, P99     float64 // milliseconds
	Requests     int64
	Non2xx       int64 // non-2xx/3xx answers wrk counted
	SocketErrors int64
	RespBytes    float64 // bytes read per response, headers included
	BodyBytes    int64   // the page's body, from one curl
	// ViewsExpected is how many profile views the server answered (the
	// check before the load, the warm-up and the measured requests);
	// ViewsCounted is the count it showed afterwards, less the view that
	// read it. Both are -1 for the servers whose count lives in the
	// client's cookie.
	ViewsExpected, ViewsCounted int64
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
	run := Run{
		Round: int(n(row[0])), Server: row[1], RPS: f(row[2]), P50: f(row[3]), P99: f(row[4]),
		Requests: n(row[5]), Non2xx: n(row[6]), SocketErrors: n(row[7]), RespBytes: f(row[8]),
		BodyBytes: n(row[9]), ViewsExpected: n(row[10]), ViewsCounted: n(row[11]),
	}
	if err := errors.Join(errs...); err != nil {
		return Run{}, err
	}
	if run.Server == "" {
		return Run{}, errors.New("no server name")
	}
	return run, nil
}

// Row is one server's summary over the rounds.
type Row struct {
	Server
	Rounds        int
	RPS, P50, P99 float64 // medians over the rounds
	RatioToBare   float64 // median of the per-round ratios; NaN without bare
	Errors        int64   // non-2xx answers and socket errors, all rounds
	BodyBytes     int64
	// Lost is the views answered but not counted, summed over the rounds
	// (a lower bound: requests wrk cut off at the end are counted by the
	// server but not by wrk); -1 when the count is in the cookie.
	Lost int64
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

// Summary is what the tables show.
type Summary struct {
	Rows   []Row
	Checks []Check
}

// Summarize reduces runs to one row per server, in the order of Servers
// (unknown servers last, by name), and measures every target.
func Summarize(runs []Run) Summary {
	byServer := map[string][]Run{}
	rps := map[string]map[int]float64{} // server → round → req/s
	for _, r := range runs {
		byServer[r.Server] = append(byServer[r.Server], r)
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
	for _, name := range names {
		rs := byServer[name]
		row := Row{Server: lookupServer(name), Rounds: len(rs), Lost: -1}
		var rpsList, p50s, p99s []float64
		for _, r := range rs {
			rpsList = append(rpsList, r.RPS)
			p50s = append(p50s, r.P50)
			p99s = append(p99s, r.P99)
			row.Errors += r.Non2xx + r.SocketErrors
			row.BodyBytes = r.BodyBytes
			if r.ViewsExpected >= 0 && r.ViewsCounted >= 0 {
				if row.Lost < 0 {
					row.Lost = 0
				}
				row.Lost += max(0, r.ViewsExpected-r.ViewsCounted)
			}
		}
		row.RPS, row.P50, row.P99 = median(rpsList), median(p50s), median(p99s)
		row.RatioToBare, _ = ratio(rps, name, "bare")
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
