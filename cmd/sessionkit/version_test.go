package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionText: what "sessionkit version" prints for the build
// information a binary may carry.
func TestVersionText(t *testing.T) {
	setting := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	cases := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go install of a release", &debug.BuildInfo{
			GoVersion: "go1.26.0",
			Main:      debug.Module{Path: "github.com/sessionkit/sessionkit", Version: "v1.4.0"},
			Settings:  setting("GOOS", "linux", "GOARCH", "amd64"),
		}, true, "sessionkit v1.4.0\n" +
			"module:   github.com/sessionkit/sessionkit\n" +
			"revision: unknown\n" +
			"time:     unknown\n" +
			"modified: unknown\n" +
			"go:       go1.26.0 linux/amd64\n"},
		{"built from a changed checkout", &debug.BuildInfo{
			GoVersion: "go1.26.0",
			Main:      debug.Module{Path: "github.com/sessionkit/sessionkit", Version: "(devel)"},
			Settings: setting("GOOS", "linux", "GOARCH", "arm64", "vcs", "git",
				"vcs.revision", "60b5761abcdef0123456789abcdef0123456789a", "vcs.time", "2026-11-27T08:17:56Z", "vcs.modified", "true"),
		}, true, "sessionkit (devel)\n" +
			"module:   github.com/sessionkit/sessionkit\n" +
			"revision: 60b5761abcdef0123456789abcdef0123456789a\n" +
			"time:     2026-11-27T08:17:56Z\n" +
			"modified: true\n" +
			"go:       go1.26.0 linux/arm64\n"},
		{"no version recorded", &debug.BuildInfo{GoVersion: "go1.26.0"}, true, "sessionkit (devel)\n" +
			"module:   unknown\n" +
			"revision: unknown\n" +
			"time:     unknown\n" +
			"modified: unknown\n" +
			"go:       go1.26.0\n"},
		{"no build information", nil, false, "sessionkit (devel)\n" +
			"module:   unknown\n" +
			"revision: unknown\n" +
			"time:     unknown\n" +
			"modified: unknown\n" +
			"go:       unknown\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := versionText(c.bi, c.ok); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestVersionCommand: "sessionkit version" (and --version) prints the
// version of this binary on stdout with exit status 0.
func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		r := cli(t, nil, "", args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: exit status %d, stderr %q", args, r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if len(lines) != 6 || !strings.HasPrefix(lines[0], "sessionkit ") || len(lines[0]) <= len("sessionkit ") ||
			!strings.HasPrefix(lines[1], "module:") || !strings.HasPrefix(lines[2], "revision:") || !strings.HasPrefix(lines[5], "go:       go1.") {
			t.Errorf("%v:\n%s", args, r.stdout)
		}
	}
}
