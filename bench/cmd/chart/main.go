// Command chart draws a load.sh run as an SVG bar chart: each server's
// req/s as a fraction of the bare handler's (median of the per-round
// ratios), with the targets marked.
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
	svg, err := report.Summarize(runs).SVG()
	if err != nil {
		return err
	}
	return os.WriteFile(*out, svg, 0o644)
}
