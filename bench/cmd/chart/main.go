// Command chart draws one scenario of a load.sh run as an SVG bar chart:
// each server's req/s as a fraction of the bare handler's (median of the
// per-round ratios), with the targets marked. The scenario is the
// first of users, readmostly and hot that the run has, unless -scenario
// names one.
//
//	chart -load results/latest-load.csv -o ../docs/benchmarks.svg
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sessionkit/sessionkit/bench/report"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func run() error {
	load := flag.String("load", "results/latest-load.csv", "the load `CSV` load.sh wrote")
	out := flag.String("o", "../docs/benchmarks.svg", "the SVG `file` to write")
	scenario := flag.String("scenario", "", "the `scenario` to draw (default: the first the run has)")
	flag.Parse()
	f, err := os.Open(*load)
	if err != nil {
		return err
	}
	defer f.Close()
	runs, err := report.ReadRuns(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *load, err)
	}
	if *scenario == "" {
		scenarios := report.Scenarios(runs)
		if len(scenarios) == 0 {
			return fmt.Errorf("%s: no runs", *load)
		}
		*scenario = scenarios[0]
	}
	picked := report.OfScenario(runs, *scenario)
	if len(picked) == 0 {
		return fmt.Errorf("%s: no runs of scenario %q", *load, *scenario)
	}
	svg, err := report.Summarize(picked).SVG()
	if err != nil {
		return err
	}
	return os.WriteFile(*out, svg, 0o644)
}
