package report

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"math"
	"strings"
)

// Layout of the chart, in SVG user units.
const (
	chartWidth  = 1000
	labelWidth  = 170 // server names, left of the bars
	noteWidth   = 290 // pair targets, right of the bars
	rowHeight   = 26
	barHeight   = 16
	chartTop    = 80
	chartBottom = 56
)

// ErrNoBare is returned by SVG when the runs have no bare handler to
// compare with.
var ErrNoBare = errors.New("report: no bare handler in the runs: nothing to draw ratios against")

// SVG draws the summary as a horizontal bar chart: one bar per server, its
// length the ratio of its req/s to the bare handler's. Targets against bare
// are red ticks on their bar; targets against a peer are written beside it.
func (s Summary) SVG() ([]byte, error) {
	var rows []Row
	maxRatio := 1.0
	for _, r := range s.Rows {
		if math.IsNaN(r.RatioToBare) {
			continue
		}
		rows = append(rows, r)
		maxRatio = math.Max(maxRatio, r.RatioToBare)
	}
	if len(rows) == 0 {
		return nil, ErrNoBare
	}
	for _, c := range s.Checks {
		if c.Against == "bare" {
			maxRatio = math.Max(maxRatio, c.Min)
		}
	}
	scaleMax := math.Ceil(maxRatio*10) / 10
	plotWidth := float64(chartWidth - labelWidth - noteWidth - 20)
	x := func(ratio float64) float64 { return labelWidth + ratio/scaleMax*plotWidth }
	height := chartTop + len(rows)*rowHeight + chartBottom
	rounds := 0
	for _, r := range rows {
		rounds = max(rounds, r.Rounds)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">The profile page under wrk: req/s relative to a bare net/http handler</text>`+"\n", 10)
	fmt.Fprintf(&b, `<text x="%d" y="40" fill="#555">%s</text>`+"\n", 10, html.EscapeString(ScenarioTitle(s.Scenario, s.Users)))
	fmt.Fprintf(&b, `<text x="%d" y="56" fill="#555">blue: sessionkit, grey: its peers; median of the per-round ratios over %d round(s); red ticks: targets against bare; right: targets against a peer</text>`+"\n", 10, rounds)

	// Grid every 0.1 (every 0.5 when the scale is wide), labelled below.
	step := 0.1
	if scaleMax > 2 {
		step = 0.5
	}
	bottom := chartTop + len(rows)*rowHeight
	for v := 0.0; v <= scaleMax+1e-9; v += step {
		gx := x(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", gx, chartTop-6, gx, bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.1f</text>`+"\n", gx, bottom+16, v)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">req/s ÷ bare req/s (same round)</text>`+"\n", x(scaleMax/2), bottom+36)

	for i, r := range rows {
		y := chartTop + i*rowHeight
		colour := "#8c8c8c" // the peers
		switch {
		case r.Name == "bare":
			colour = "#444"
		case strings.HasPrefix(r.Name, "sk-"):
			colour = "#2a6fdb"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+barHeight-3, html.EscapeString(r.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s req/s, ratio %s</title></rect>`+"\n",
			labelWidth, y, x(r.RatioToBare)-labelWidth, barHeight, colour, html.EscapeString(r.What), thousands(r.RPS), formatRatio(r.RatioToBare))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#222">%s</text>`+"\n", x(r.RatioToBare)+4, y+barHeight-3, formatRatio(r.RatioToBare))

		var notes []string
		for _, c := range s.Checks {
			if c.Server != r.Name {
				continue
			}
			if c.Against == "bare" {
				tx := x(c.Min)
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d62728" stroke-width="2.5"><title>target %s</title></line>`+"\n",
					tx, y-3, tx, y+barHeight+3, html.EscapeString(c.Describe()))
				continue
			}
			notes = append(notes, fmt.Sprintf("%s× %s (%s %s)", formatRatio(c.Ratio), c.Against, targetWord(c), trimFloat(c.Min)))
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#333" font-size="11">%s</text>`+"\n",
				chartWidth-noteWidth, y+barHeight-3, html.EscapeString(strings.Join(notes, "; ")))
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes(), nil
}

// targetWord is how the chart names a target: "≥" with its result, or "≈"
// for an informational one.
func targetWord(c Check) string {
	if c.Info {
		return "≈"
	}
	return c.Result() + " ≥"
}
