package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"
)

// Formats of --output, which the list commands take.
const (
	outputText = "text" // a table for people, the default
	outputJSON = "json" // a JSON array of objects, for programs
)

// outputFlag registers --output on fs, to be read into format and checked
// with checkOutput.
func outputFlag(fs *flag.FlagSet, format *string) {
	fs.StringVar(format, "output", outputText, "`format` of the list: text (a table) or json (an array of objects)")
}

// checkOutput reports an --output that is neither text nor json.
func checkOutput(format string) error {
	if format != outputText && format != outputJSON {
		return fmt.Errorf("%w: --output must be text or json, not %q", errUsage, format)
	}
	return nil
}

// writeJSON writes v to w as indented JSON and a newline. The lists write
// slices that are never nil, so that no entries is [], not null.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonTime is how the JSON lists write a time: RFC 3339 in UTC, as the
// tables do.
func jsonTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// jsonOptionalTime is a time that may be unset: null when zero.
func jsonOptionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := jsonTime(t)
	return &s
}
