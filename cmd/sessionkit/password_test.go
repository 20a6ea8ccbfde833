package main

import (
	"errors"
	"strings"
	"testing"
)

func TestReadPasswordLine(t *testing.T) {
	cases := []struct {
		name, stdin, want string
		err               string
	}{
		{"a line", "correct horse\n", "correct horse", ""},
		{"a CRLF line", "correct horse\r\n", "correct horse", ""},
		{"no line ending", "correct horse", "correct horse", ""},
		{"only the first line", "first line\nsecond line\n", "first line", ""},
		{"spaces are kept", "  spaced  \n", "  spaced  ", ""},
		{"an empty line", "\n", "", ""},
		{"nothing", "", "", "no password given"},
		{"a line longer than any password", strings.Repeat("x", maxPasswordLine+1), "", "longer than 4096 bytes"},
	}
	for _, c := range cases {
		got, err := readPassword(strings.NewReader(c.stdin), nil, "alice", true)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %q, %v; want an error saying %q", c.name, got, err, c.err)
		}
	}
	if _, err := readPassword(strings.NewReader(""), nil, "alice", false); !errors.Is(err, errNoPassword) {
		t.Errorf("empty stdin: %v, want errNoPassword", err)
	}
}
