package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README's configuration tables are what a newcomer configures the
// server from: these tests keep them equal to the flags the commands really
// take. A table lists one flag per row:
//
//	| flag | environment variable | default | meaning |
//	|---|---|---|---|
//	| `--addr` | `SESSIONKIT_ADDR` | `127.0.0.1:8080` | where to listen |
//
// The default is what "sessionkit COMMAND --help" reports (durations may be
// written shorter: 24h for 24h0m0s), or "none" for a flag that reports none.

const readmePath = "../../README.md"

// Headings the tables follow in README.md.
const (
	serveTableHeading = "### Flags of `sessionkit serve`"
	keysTableHeading  = "### Flags of `sessionkit keys`"
)

// flagDoc is one flag as the help reports it, or as a README row says.
type flagDoc struct {
	name, env, def, meaning string
}

// row formats d as a README table row.
func (d flagDoc) row() string {
	return fmt.Sprintf("| `--%s` | `%s` | `%s` | %s |", d.name, d.env, d.def, d.meaning)
}

func TestReadmeServeFlags(t *testing.T) {
	checkReadmeTable(t, serveTableHeading, helpFlags(t, "serve"))
}

func TestReadmeKeysFlags(t *testing.T) {
	// One table for both subcommands: rotate has every flag of list, and
	// one more.
	flags := helpFlags(t, "keys", "list")
	for _, f := range helpFlags(t, "keys", "rotate") {
		if !slices.ContainsFunc(flags, func(g flagDoc) bool { return g.name == f.name }) {
			flags = append(flags, f)
		}
	}
	checkReadmeTable(t, keysTableHeading, flags)
}

// checkReadmeTable compares the table under heading in README.md with the
// flags a command reports, and lists every row that is missing, extra or
// wrong.
func checkReadmeTable(t *testing.T, heading string, flags []flagDoc) {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readmeTable(string(readme), heading)
	if err != nil {
		t.Fatal(err)
	}
	if problems := compareFlagTable(rows, flags); len(problems) > 0 {
		t.Errorf("README.md, table under %q, differs from the flags the command takes:\n%s",
			heading, strings.Join(problems, "\n"))
	}
}

// compareFlagTable returns what is wrong with rows, the README's table,
// given the flags a command reports: rows to add (ready to paste, with the
// flag's usage as its meaning), rows to remove, and cells to correct.
func compareFlagTable(rows, flags []flagDoc) []string {
	var missing, extra, wrong []string
	byName := map[string]flagDoc{}
	for _, r := range rows {
		if _, dup := byName[r.name]; dup {
			wrong = append(wrong, fmt.Sprintf("  --%s: listed twice", r.name))
		}
		byName[r.name] = r
	}
	for _, f := range flags {
		r, ok := byName[f.name]
		if !ok {
			missing = append(missing, "  "+f.row())
			continue
		}
		if r.env != f.env {
			wrong = append(wrong, fmt.Sprintf("  --%s: environment variable is %q in README.md; the command reads %q", f.name, r.env, f.env))
		}
		switch {
		case sameDefault(r.def, f.def):
		case f.def == "":
			wrong = append(wrong, fmt.Sprintf("  --%s: default is %q in README.md; --help reports none: write none", f.name, r.def))
		default:
			wrong = append(wrong, fmt.Sprintf("  --%s: default is %q in README.md; --help reports %q", f.name, r.def, f.def))
		}
		if r.meaning == "" {
			wrong = append(wrong, fmt.Sprintf("  --%s: the meaning is empty", f.name))
		}
	}
	for _, r := range rows {
		if !slices.ContainsFunc(flags, func(f flagDoc) bool { return f.name == r.name }) {
			extra = append(extra, "  "+r.row())
		}
	}
	var out []string
	if len(missing) > 0 {
		out = append(out, "missing rows (add them; the meaning is the flag's usage, to edit):")
		out = append(out, missing...)
	}
	if len(extra) > 0 {
		out = append(out, "rows for flags the command does not have (remove them):")
		out = append(out, extra...)
	}
	if len(wrong) > 0 {
		out = append(out, "rows to correct:")
		out = append(out, wrong...)
	}
	return out
}

// sameDefault reports whether the README's default readme says the same as
// the default the help reports: the same text, the same duration, or
// "none" for no default.
func sameDefault(readme, reported string) bool {
	if reported == "" {
		return readme == "none"
	}
	if readme == reported {
		return true
	}
	a, errA := time.ParseDuration(readme)
	b, errB := time.ParseDuration(reported)
	return errA == nil && errB == nil && a == b
}

// helpFlags runs "sessionkit ARGS... --help" and returns the flags its help
// (on standard output) lists, with the environment variable each is read
// from.
func helpFlags(t *testing.T, args ...string) []flagDoc {
	t.Helper()
	var stdout bytes.Buffer
	env := func(string) string { return "" }
	err := run(context.Background(), append(args, "--help"), env, strings.NewReader(""), &stdout, io.Discard)
	if code := exitCode(err, io.Discard); code != 0 {
		t.Fatalf("sessionkit %s --help: exit status %d: %v", strings.Join(args, " "), code, err)
	}
	flags, err := parseHelpFlags(stdout.String())
	if err != nil {
		t.Fatalf("sessionkit %s --help: %v\n%s", strings.Join(args, " "), err, stdout.String())
	}
	if len(flags) == 0 {
		t.Fatalf("sessionkit %s --help lists no flags:\n%s", strings.Join(args, " "), stdout.String())
	}
	return flags
}

// helpDefault is the "(default …)" that flag.PrintDefaults (or a usage
// text, for flags whose zero value is not the default) ends with.
var helpDefault = regexp.MustCompile(`^(.*?) ?\(default (.+)\)$`)

// parseHelpFlags reads the flags out of flag.PrintDefaults's output: for
// each flag a line "  -name type", then its usage on lines that start with
// four spaces and a tab, the last one ending in "(default value)" unless
// the default is the type's zero value.
func parseHelpFlags(help string) ([]flagDoc, error) {
	var flags []flagDoc
	for line := range strings.SplitSeq(help, "\n") {
		switch {
		case strings.HasPrefix(line, "  -"):
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "  -"), " ")
			flags = append(flags, flagDoc{name: name, env: envName(name)})
		case strings.HasPrefix(line, "    \t"):
			if len(flags) == 0 {
				return nil, fmt.Errorf("usage line before any flag: %q", line)
			}
			f := &flags[len(flags)-1]
			f.meaning = strings.TrimSpace(f.meaning + " " + strings.TrimPrefix(line, "    \t"))
		}
	}
	for i := range flags {
		f := &flags[i]
		m := helpDefault.FindStringSubmatch(f.meaning)
		if m == nil {
			continue
		}
		f.meaning, f.def = m[1], m[2]
		if strings.HasPrefix(f.def, `"`) {
			def, err := strconv.Unquote(f.def)
			if err != nil {
				return nil, fmt.Errorf("--%s: default %s: %v", f.name, f.def, err)
			}
			f.def = def
		}
	}
	return flags, nil
}

// readmeTable returns the rows of the first table after the line heading.
func readmeTable(readme, heading string) ([]flagDoc, error) {
	lines := strings.Split(readme, "\n")
	start := slices.Index(lines, heading)
	if start < 0 {
		return nil, fmt.Errorf("README.md has no line %q", heading)
	}
	var rows []flagDoc
	inTable := false
	for i, line := range lines[start+1:] {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			if strings.HasPrefix(line, "#") {
				return nil, fmt.Errorf("README.md has no table under %q", heading)
			}
			continue
		}
		if !inTable { // the header row, then the delimiter row
			inTable = true
			continue
		}
		cells := tableCells(line)
		if strings.Trim(strings.Join(cells, ""), "-: ") == "" {
			continue
		}
		if len(cells) != 4 {
			return nil, fmt.Errorf("README.md line %d: %d cells, want 4 (flag, environment variable, default, meaning): %s",
				start+2+i, len(cells), line)
		}
		name := strings.TrimPrefix(cells[0], "--")
		if name == cells[0] || strings.ContainsAny(name, " ,") {
			return nil, fmt.Errorf("README.md line %d: %q is not one flag written --name", start+2+i, cells[0])
		}
		rows = append(rows, flagDoc{name: name, env: cells[1], def: cells[2], meaning: cells[3]})
	}
	if !inTable {
		return nil, fmt.Errorf("README.md has no table under %q", heading)
	}
	return rows, nil
}

// tableCells splits a Markdown table row into its cells (a pipe escaped as
// \| stays in its cell), trimmed, with the backquotes around a cell's whole
// text removed.
func tableCells(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, cell.String())
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	cells = append(cells, cell.String())
	for i, c := range cells {
		c = strings.TrimSpace(c)
		if len(c) >= 2 && c[0] == '`' && c[len(c)-1] == '`' && strings.Count(c, "`") == 2 {
			c = c[1 : len(c)-1]
		}
		cells[i] = c
	}
	return cells
}

// TestCompareFlagTable checks that the comparison reports each kind of
// difference, so that the README tests cannot pass on a table they did not
// read.
func TestCompareFlagTable(t *testing.T) {
	flags := []flagDoc{
		{name: "addr", env: "SESSIONKIT_ADDR", def: "127.0.0.1:8080", meaning: "host:port to listen on"},
		{name: "store-timeout", env: "SESSIONKIT_STORE_TIMEOUT", def: "500ms", meaning: "how long"},
		{name: "cookie-lifetime", env: "SESSIONKIT_COOKIE_LIFETIME", def: "24h0m0s", meaning: "how long"},
		{name: "trusted-proxies", env: "SESSIONKIT_TRUSTED_PROXIES", def: "", meaning: "proxies"},
	}
	good := []flagDoc{
		{name: "addr", env: "SESSIONKIT_ADDR", def: "127.0.0.1:8080", meaning: "where to listen"},
		{name: "store-timeout", env: "SESSIONKIT_STORE_TIMEOUT", def: "500ms", meaning: "how long"},
		{name: "cookie-lifetime", env: "SESSIONKIT_COOKIE_LIFETIME", def: "24h", meaning: "how long"},
		{name: "trusted-proxies", env: "SESSIONKIT_TRUSTED_PROXIES", def: "none", meaning: "proxies"},
	}
	if p := compareFlagTable(good, flags); len(p) > 0 {
		t.Fatalf("a true table: %q", p)
	}
	tests := []struct {
		name string
		rows []flagDoc
		want []string
	}{
		{"missing", good[1:], []string{"missing rows", "| `--addr` | `SESSIONKIT_ADDR` | `127.0.0.1:8080` | host:port to listen on |"}},
		{"extra", append(slices.Clone(good), flagDoc{name: "gone", env: "SESSIONKIT_GONE", def: "1", meaning: "x"}),
			[]string{"does not have", "| `--gone` | `SESSIONKIT_GONE` | `1` | x |"}},
		{"wrong default", replaceRow(good, 1, func(r *flagDoc) { r.def = "1s" }), []string{`--store-timeout: default is "1s"`, `reports "500ms"`}},
		{"none for a default", replaceRow(good, 2, func(r *flagDoc) { r.def = "none" }), []string{"--cookie-lifetime: default"}},
		{"a default for none", replaceRow(good, 3, func(r *flagDoc) { r.def = "0" }), []string{`--trusted-proxies: default is "0" in README.md; --help reports none`}},
		{"wrong environment", replaceRow(good, 0, func(r *flagDoc) { r.env = "ADDR" }), []string{`--addr: environment variable is "ADDR"`}},
		{"twice", append(slices.Clone(good), good[0]), []string{"--addr: listed twice"}},
		{"no meaning", replaceRow(good, 0, func(r *flagDoc) { r.meaning = "" }), []string{"--addr: the meaning is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(compareFlagTable(tt.rows, flags), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("report lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func replaceRow(rows []flagDoc, i int, change func(*flagDoc)) []flagDoc {
	rows = slices.Clone(rows)
	change(&rows[i])
	return rows
}

// TestReadmeTableParsing reads a table the way README.md writes one.
func TestReadmeTableParsing(t *testing.T) {
	readme := "intro\n\n" + serveTableHeading + "\n\nText.\n\n" +
		"| flag | environment variable | default | meaning |\n" +
		"|---|---|---|---|\n" +
		"| `--addr` | `SESSIONKIT_ADDR` | `127.0.0.1:8080` | where to listen |\n" +
		"| `--log-format` | `SESSIONKIT_LOG_FORMAT` | `text` | `text` \\| `json` |\n" +
		"\nAfter.\n| not | a | row | here |\n"
	rows, err := readmeTable(readme, serveTableHeading)
	if err != nil {
		t.Fatal(err)
	}
	want := []flagDoc{
		{name: "addr", env: "SESSIONKIT_ADDR", def: "127.0.0.1:8080", meaning: "where to listen"},
		{name: "log-format", env: "SESSIONKIT_LOG_FORMAT", def: "text", meaning: "`text` | `json`"},
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows = %q, want %q", rows, want)
	}
	for _, bad := range []string{
		"| `--addr`, `--store` | `X` | `y` | z |",
		"| `--addr` | `X` | z |",
		"| `addr` | `X` | `y` | z |",
	} {
		readme := serveTableHeading + "\n| a | b | c | d |\n|---|---|---|---|\n" + bad + "\n"
		if _, err := readmeTable(readme, serveTableHeading); err == nil {
			t.Errorf("row %s: no error", bad)
		}
	}
	if _, err := readmeTable("# Other\n| a |\n", serveTableHeading); err == nil {
		t.Error("no heading: no error")
	}
}

// TestParseHelpFlags reads flag.PrintDefaults's format.
func TestParseHelpFlags(t *testing.T) {
	help := "Usage: sessionkit serve [flags]\n\nFlags:\n" +
		"  -addr host:port\n    \thost:port to listen on (default \"127.0.0.1:8080\")\n" +
		"  -token-leeway duration\n    \tclock skew allowed (negative, such as -1s: none) (default 30s)\n" +
		"  -trusted-proxies CIDRs\n    \tcomma-separated CIDRs\n"
	got, err := parseHelpFlags(help)
	if err != nil {
		t.Fatal(err)
	}
	want := []flagDoc{
		{name: "addr", env: "SESSIONKIT_ADDR", def: "127.0.0.1:8080", meaning: "host:port to listen on"},
		{name: "token-leeway", env: "SESSIONKIT_TOKEN_LEEWAY", def: "30s", meaning: "clock skew allowed (negative, such as -1s: none)"},
		{name: "trusted-proxies", env: "SESSIONKIT_TRUSTED_PROXIES", def: "", meaning: "comma-separated CIDRs"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("flags = %q, want %q", got, want)
	}
}
