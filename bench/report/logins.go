package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// loginHeader is the header row of the login-storm CSV.
var loginHeader = []string{"round", "server", "logins_rps", "login_p50_ms", "login_p99_ms", "logins", "login_non2xx", "login_socket_errors",
	"views_rps", "views_p50_ms", "views_p99_ms", "views", "views_non2xx", "views_socket_errors", "views_expected", "views_counted", "users"}

// LoginHeader returns the header row of the login-storm CSV.
func LoginHeader() []string { return slices.Clone(loginHeader) }

// LoginRun is one server's login storm in one round: one wrk posting
// logins of distinct users while another views the profile pages of
// users logged in before.
type LoginRun struct {
	Round                        int
	Server                       string
	LoginRPS, LoginP50, LoginP99 float64
	Logins, LoginNon2xx          int64
	LoginSocketErrors            int64
	ViewRPS, ViewP50, ViewP99    float64
	Views, ViewNon2xx            int64
	ViewSocketErrors             int64
	// ViewsExpected and ViewsCounted are as in Run: -1 when the count
	// lives in the cookie.
	ViewsExpected, ViewsCounted int64
	Users                       int64
}

// ReadLogins parses a login-storm CSV.
func ReadLogins(r io.Reader) ([]LoginRun, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], loginHeader) {
		return nil, fmt.Errorf("%w: the header must be %s", ErrFormat, strings.Join(loginHeader, ","))
	}
	var out []LoginRun
	for i, row := range rows[1:] {
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
		lr := LoginRun{
			Round: int(n(row[0])), Server: row[1],
			LoginRPS: f(row[2]), LoginP50: f(row[3]), LoginP99: f(row[4]),
			Logins: n(row[5]), LoginNon2xx: n(row[6]), LoginSocketErrors: n(row[7]),
			ViewRPS: f(row[8]), ViewP50: f(row[9]), ViewP99: f(row[10]),
			Views: n(row[11]), ViewNon2xx: n(row[12]), ViewSocketErrors: n(row[13]),
			ViewsExpected: n(row[14]), ViewsCounted: n(row[15]), Users: n(row[16]),
		}
		if err := errors.Join(errs...); err != nil || lr.Server == "" {
			return nil, fmt.Errorf("%w: row %d: %q", ErrFormat, i+2, row)
		}
		out = append(out, lr)
	}
	return out, nil
}

// WriteLoginTable writes the login storms as markdown, one row per server
// (medians over the rounds, errors and lost views summed), with each
// server's views/s during the storm divided by its views/s in the users
// scenario of the same round, when runs has one.
func WriteLoginTable(w io.Writer, logins []LoginRun, runs []Run) error {
	usersRPS := map[string]map[int]float64{}
	for _, r := range OfScenario(runs, Users) {
		if r.Skipped {
			continue
		}
		if usersRPS[r.Server] == nil {
			usersRPS[r.Server] = map[int]float64{}
		}
		usersRPS[r.Server][r.Round] = r.RPS
	}
	byServer := map[string][]LoginRun{}
	var names []string
	for _, lr := range logins {
		if byServer[lr.Server] == nil {
			names = append(names, lr.Server)
		}
		byServer[lr.Server] = append(byServer[lr.Server], lr)
	}
	var b strings.Builder
	b.WriteString("| server | logins/s | login p50 ms | login p99 ms | login non-2xx/3xx | views/s during the storm | view p99 ms | view non-2xx/3xx | socket errors | views/s ÷ users scenario | lost updates |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range names {
		var lrps, lp50, lp99, vrps, vp99, kept []float64
		var lnon, vnon, sock int64
		lost := int64(-1)
		for _, lr := range byServer[name] {
			lrps, lp50, lp99 = append(lrps, lr.LoginRPS), append(lp50, lr.LoginP50), append(lp99, lr.LoginP99)
			vrps, vp99 = append(vrps, lr.ViewRPS), append(vp99, lr.ViewP99)
			lnon += lr.LoginNon2xx
			vnon += lr.ViewNon2xx
			sock += lr.LoginSocketErrors + lr.ViewSocketErrors
			if u, ok := usersRPS[name][lr.Round]; ok && u > 0 {
				kept = append(kept, lr.ViewRPS/u)
			}
			if lr.ViewsExpected >= 0 && lr.ViewsCounted >= 0 {
				lost = max(lost, 0) + max(0, lr.ViewsExpected-lr.ViewsCounted)
			}
		}
		lostText := "n/a (cookie)"
		if lost >= 0 {
			lostText = fmt.Sprint(lost)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %d | %s | %.2f | %d | %d | %s | %s |\n",
			name, thousands(median(lrps)), median(lp50), median(lp99), lnon,
			thousands(median(vrps)), median(vp99), vnon, sock, formatRatio(median(kept)), lostText)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
