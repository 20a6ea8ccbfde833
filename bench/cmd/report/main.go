// Command report prints the markdown tables of a load.sh run: one load
// table per scenario with the targets (-load), the login storm (-logins)
// and the lost-update check (-lost).
//
//	report -load results/load-X.csv -logins results/logins-X.csv -lost results/lostupdate-X.csv
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
	logins := flag.String("logins", "", "the login-storm `CSV` load.sh wrote")
	lost := flag.String("lost", "", "the lost-update `CSV` load.sh wrote")
	flag.Parse()
	if *load == "" && *logins == "" && *lost == "" {
		return fmt.Errorf("give -load, -logins, -lost or several")
	}
	var runs []report.Run
	if *load != "" {
		var err error
		if runs, err = readRuns(*load); err != nil {
			return err
		}
	}
	sep := ""
	for _, scenario := range report.Scenarios(runs) {
		sum := report.Summarize(report.OfScenario(runs, scenario))
		fmt.Printf("%s#### %s\n\n", sep, report.ScenarioTitle(scenario, sum.Users))
		if err := sum.WriteLoadTable(os.Stdout); err != nil {
			return err
		}
		sep = "\n"
	}
	if *logins != "" {
		f, err := os.Open(*logins)
		if err != nil {
			return err
		}
		defer f.Close()
		lr, err := report.ReadLogins(f)
		if err != nil {
			return fmt.Errorf("%s: %w", *logins, err)
		}
		fmt.Printf("%s#### logins: a login storm (argon2id) while logged-in users view their pages\n\n", sep)
		if err := report.WriteLoginTable(os.Stdout, lr, runs); err != nil {
			return err
		}
		sep = "\n"
	}
	if *lost != "" {
		f, err := os.Open(*lost)
		if err != nil {
			return err
		}
		defer f.Close()
		results, err := report.ReadLostUpdates(f)
		if err != nil {
			return fmt.Errorf("%s: %w", *lost, err)
		}
		fmt.Printf("%s#### lost-update check: concurrent views of one session\n\n", sep)
		if err := report.WriteLostUpdateTable(os.Stdout, results); err != nil {
			return err
		}
	}
	return nil
}

// readRuns reads a load CSV.
func readRuns(path string) ([]report.Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	runs, err := report.ReadRuns(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return runs, nil
}
