package report

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// ScenarioTitle is the heading of a scenario's table.
func ScenarioTitle(scenario string, users int64) string {
	switch scenario {
	case Users:
		return fmt.Sprintf("users: %d distinct logged-in users, each request with the next user's cookies, every view counted", users)
	case ReadMostly:
		return fmt.Sprintf("readmostly: %d distinct logged-in users, 90%% of requests to a page that reads the login without changing it", users)
	case Hot:
		return "hot: one login shared by every connection (a tab storm), every view counted"
	default:
		return scenario
	}
}

// WriteLoadTable writes the summary of one scenario as markdown: one row
// per server, then the targets.
func (s Summary) WriteLoadTable(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| server | what | requests to | req/s | p50 ms | p99 ms | × bare | × scs-mem | × scs-redis | non-2xx/3xx | socket errors | lost updates | body bytes |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range s.Rows {
		if r.Skipped {
			fmt.Fprintf(&b, "| %s | %s | %s | – | – | – | – | – | – | – | – | – | – |\n", r.Name, r.What, r.Pages)
			continue
		}
		lost := "n/a (cookie)"
		if r.Lost >= 0 {
			lost = fmt.Sprint(r.Lost)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f | %.2f | %s | %s | %s | %d | %d | %s | %d |\n",
			r.Name, r.What, r.Pages, thousands(r.RPS), r.P50, r.P99,
			formatRatio(r.RatioToBare), formatRatio(r.RatioToSCSMem), formatRatio(r.RatioToSCSRedis),
			r.Non2xx, r.SocketErrors, lost, r.BodyBytes)
	}
	b.WriteString("\n| target (issue 18) | measured | result |\n|---|---:|---|\n")
	for _, c := range s.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Describe(), formatRatio(c.Ratio), c.Result())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Describe says what the target asks, e.g. "sk-session-mem ≥ 0.70 × bare".
func (c Check) Describe() string {
	op := "≥"
	if c.Info {
		op = "≈"
	}
	return fmt.Sprintf("%s %s %s × %s", c.Server, op, trimFloat(c.Min), c.Against)
}

func formatRatio(r float64) string {
	switch {
	case math.IsNaN(r):
		return "–"
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	default:
		return fmt.Sprintf("%.2f", r)
	}
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// thousands formats n rounded, with thin spaces between groups of three.
func thousands(n float64) string {
	if math.IsNaN(n) {
		return "–"
	}
	s := fmt.Sprintf("%.0f", n)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	return strings.Join(out, " ")
}

// LostUpdate is one server's result in the lost-update check.
type LostUpdate struct {
	Server   string
	Sent     int64  // concurrent views sent
	OK       int64  // how many were answered 200 (each must count)
	Got      int64  // the count the final view showed; -1 if none
	Statuses string // how the concurrent views were answered, e.g. "200×200"
}

// Expected is the count the final view must show: every view answered 200,
// and the final one. A view refused (503) need not count: the client was
// told it failed.
func (r LostUpdate) Expected() int64 { return r.OK + 1 }

// WriteLostUpdateTable writes the lost-update results as markdown, with a
// note for the servers whose count is in the cookie.
func WriteLostUpdateTable(w io.Writer, results []LostUpdate) error {
	var b strings.Builder
	b.WriteString("| server | sent | answers | expected | got | lost | note |\n|---|---:|---|---:|---:|---:|---|\n")
	for _, r := range results {
		srv := lookupServer(r.Server)
		lost, note := "–", ""
		switch {
		case srv.Sealed:
			note = "count is in the client's cookie: each concurrent request starts from the login's value (not a store loss)"
		case r.Got < 0:
			note = "no count on the final page"
		default:
			lost = fmt.Sprint(max(0, r.Expected()-r.Got))
		}
		if r.Server == "bare" {
			note = "no session: an atomic counter per name, the name in a plain cookie"
		}
		if r.OK < r.Sent && note == "" {
			note = "views not answered 200 need not count"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %d | %s | %s |\n", r.Server, r.Sent, r.Statuses, r.Expected(), r.Got, lost, note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
