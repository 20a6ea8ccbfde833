package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

const versionUsage = `Usage: sessionkit version

Prints the version of sessionkit, then what the build recorded: the module,
the VCS revision, its time and whether the checkout had changes, and the Go
version. A binary from "go install …@VERSION" reports that version; one built
without version information, "(devel)".
`

// versionCommand runs "sessionkit version".
func versionCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), versionUsage) }
	if err := parseFlagSet(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: version takes no argument, got %q", errUsage, fs.Arg(0))
	}
	bi, ok := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionText(bi, ok))
	return nil
}

// versionText is what "sessionkit version" prints for the build
// information bi (ok is false when the binary has none).
func versionText(bi *debug.BuildInfo, ok bool) string {
	version, module, goVersion := "(devel)", "", ""
	settings := map[string]string{}
	if ok && bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		module, goVersion = bi.Main.Path, bi.GoVersion
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	if goos, goarch := settings["GOOS"], settings["GOARCH"]; goVersion != "" && goos != "" && goarch != "" {
		goVersion += " " + goos + "/" + goarch
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sessionkit %s\n", version)
	fmt.Fprintf(&b, "module:   %s\n", orUnknown(module))
	fmt.Fprintf(&b, "revision: %s\n", orUnknown(settings["vcs.revision"]))
	fmt.Fprintf(&b, "time:     %s\n", orUnknown(settings["vcs.time"]))
	fmt.Fprintf(&b, "modified: %s\n", orUnknown(settings["vcs.modified"]))
	fmt.Fprintf(&b, "go:       %s\n", orUnknown(goVersion))
	return b.String()
}
