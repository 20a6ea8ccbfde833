package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseOperands(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		operands string // joined by spaces
		store    string
		err      error
	}{
		{"operand, then flag", []string{"alice", "--store", "memory:"}, nil, "alice", "memory:", nil},
		{"flag, then operand", []string{"--store=memory:", "alice"}, nil, "alice", "memory:", nil},
		{"two operands around a flag", []string{"alice", "--store", "memory:", "bob"}, nil, "alice bob", "memory:", nil},
		{"a name with a dash after --", []string{"--store", "memory:", "--", "-dash", "--store"}, nil, "-dash --store", "memory:", nil},
		{"the environment", []string{"alice"}, map[string]string{"SESSIONKIT_STORE": "memory:"}, "alice", "memory:", nil},
		{"the flag over the environment", []string{"alice", "--store", "sqlite:x.db"}, map[string]string{"SESSIONKIT_STORE": "memory:"}, "alice", "sqlite:x.db", nil},
		{"nothing", nil, nil, "", defaultStore, nil},
		{"an unknown flag after an operand", []string{"alice", "--password", "x"}, nil, "", "", errUsage},
		{"help after an operand", []string{"alice", "--help"}, nil, "", "", errHelp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var store string
			storeFlag(fs, &store)
			got, err := parseOperands(fs, c.args, func(k string) string { return c.env[k] }, io.Discard, io.Discard)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Errorf("error %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != c.operands || store != c.store {
				t.Errorf("operands %q, store %q, error %v; want %q, %q", got, store, err, c.operands, c.store)
			}
		})
	}
}
