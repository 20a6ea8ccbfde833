// Command report prints the markdown tables of a load.sh run: the load
// table with its targets (-load) and the lost-update table (-lost).
//
//	report -load results/load-X.csv -lost results/lostupdate-X.csv
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sessionkit/sessionkit/bench/report"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run() error {
	load := flag.String("load", "", "the load `CSV` load.sh wrote")
	lost := flag.String("lost", "", "the lost-update `CSV` load.sh wrote")
	flag.Parse()
	if *load == "" && *lost == "" {
		return fmt.Errorf("give -load, -lost or both")
	}
	if *load != "" {
		f, err := os.Open(*load)
		if err != nil {
			return err
		}
		defer f.Close()
		runs, err := report.ReadRuns(f)
		if err != nil {
			return fmt.Errorf("%s: %w", *load, err)
		}
		if err := report.Summarize(runs).WriteLoadTable(os.Stdout); err != nil {
			return err
		}
	}
	if *lost != "" {
		if *load != "" {
			fmt.Println()
		}
		f, err := os.Open(*lost)
		if err != nil {
			return err
		}
		defer f.Close()
		results, err := report.ReadLostUpdates(f)
		if err != nil {
			return fmt.Errorf("%s: %w", *lost, err)
		}
		if err := report.WriteLostUpdateTable(os.Stdout, results); err != nil {
			return err
		}
	}
	return nil
}
