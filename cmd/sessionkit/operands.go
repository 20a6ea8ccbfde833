package main

import (
	"errors"
	"flag"
	"fmt"
)

// parseOperands parses args with fs, flags and operands in any order
// ("users add alice --store sqlite:x" as well as "users add --store
// sqlite:x alice"); after "--" everything is an operand, for a name that
// starts with a dash. It then sets each flag not given from its
// environment variable, and returns the operands. --help gives errHelp (fs
// has printed its usage); anything else wrong gives an error wrapping
// errUsage.
func parseOperands(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			operands = append(operands, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	return operands, nil
}

// storeFlag registers --store on fs, to be read into spec.
func storeFlag(fs *flag.FlagSet, spec *string) {
	fs.StringVar(spec, "store", defaultStore, "the server's store: sqlite:PATH (relative to the working directory), memory:, redis://… or postgres://… (SESSIONKIT_STORE)")
}
