// Command scaletable prints the markdown tables of docs/BENCHMARKS.md's
// scale section from the output of the scale benchmarks (bench/scale),
// read on standard input: ns/op per store, operation and size, with the
// ratio of the largest size to the smallest. A benchmark run more than once
// (-count) shows its median.
//
//	go test -run '^$' -bench Scale ./scale | tee scale.txt
//	go run ./cmd/scaletable < scale.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scaletable:", err)
		os.Exit(1)
	}
}

// line matches a result line: the name (without the -GOMAXPROCS suffix),
// and ns/op.
var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

// table is one benchmark's results: rows of (store, operation), columns of
// sizes, in the order first seen (sizes sorted).
type table struct {
	rows  [][2]string
	sizes []string
	ns    map[[3]string][]float64 // store, operation, size
}

func run(in io.Reader, out io.Writer) error {
	tables := map[string]*table{} // by benchmark
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		parts := strings.Split(m[1], "/")
		if len(parts) != 4 {
			continue // not BenchmarkX/store/size/op
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return fmt.Errorf("%q: %w", sc.Text(), err)
		}
		name, store, size, op := parts[0], parts[1], parts[2], parts[3]
		t := tables[name]
		if t == nil {
			t = &table{ns: map[[3]string][]float64{}}
			tables[name] = t
			order = append(order, name)
		}
		if !slices.Contains(t.rows, [2]string{store, op}) {
			t.rows = append(t.rows, [2]string{store, op})
		}
		if !slices.Contains(t.sizes, size) {
			t.sizes = append(t.sizes, size)
		}
		k := [3]string{store, op, size}
		t.ns[k] = append(t.ns[k], ns)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no results of the form BenchmarkX/store/size/op in the input")
	}
	for i, name := range order {
		if i > 0 {
			fmt.Fprintln(out)
		}
		tables[name].write(out, name)
	}
	return nil
}

// write prints t as a markdown table, ns/op, headed by the benchmark's name.
func (t *table) write(w io.Writer, name string) {
	slices.SortStableFunc(t.sizes, func(a, b string) int { return count(a) - count(b) })
	first, last := t.sizes[0], t.sizes[len(t.sizes)-1]
	fmt.Fprintf(w, "Benchmark%s, ns/op:\n\n", name)
	fmt.Fprintf(w, "| store | operation | %s | %s ÷ %s |\n", strings.Join(t.sizes, " | "), last, first)
	fmt.Fprintf(w, "|---|---|%s---:|\n", strings.Repeat("---:|", len(t.sizes)))
	for _, r := range t.rows {
		cells := []string{r[0], r[1]}
		for _, size := range t.sizes {
			cells = append(cells, group(median(t.ns[[3]string{r[0], r[1], size}])))
		}
		ratio := "–"
		a, b := median(t.ns[[3]string{r[0], r[1], first}]), median(t.ns[[3]string{r[0], r[1], last}])
		if a > 0 && b > 0 {
			ratio = strconv.FormatFloat(b/a, 'f', 2, 64)
		}
		cells = append(cells, ratio)
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// count reads a size's name: 10, 1k, 1M.
func count(size string) int {
	mult := 1
	switch {
	case strings.HasSuffix(size, "k"):
		mult, size = 1000, strings.TrimSuffix(size, "k")
	case strings.HasSuffix(size, "M"):
		mult, size = 1_000_000, strings.TrimSuffix(size, "M")
	}
	n, _ := strconv.Atoi(size)
	return n * mult
}

// median returns the median of xs, or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// group writes ns rounded to a whole number with spaces between thousands,
// as docs/BENCHMARKS.md does; "–" for no result.
func group(ns float64) string {
	if ns == 0 {
		return "–"
	}
	s := strconv.FormatFloat(ns, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
