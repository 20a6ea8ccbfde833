package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseFlagSet parses args with fs, whose Usage writes to fs.Output(). A
// request for help (-h, -help, --help) writes the usage to stdout and
// gives errHelp, for exit status 0; a flag that is wrong writes the flag
// package's message and the usage to stderr and gives an error wrapping
// errUsage.
func parseFlagSet(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	usage := fs.Usage
	fs.Usage = func() {} // written below, once the output is known
	fs.SetOutput(stderr)
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(stderr)
		return errHelp
	case err != nil:
		fs.Usage()
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// parseOperands parses args with fs, flags and operands in any order
// ("users add alice --store sqlite:x" as well as "users add --store
// sqlite:x alice"); after "--" everything is an operand, for a name that
// starts with a dash. It then sets each flag not given from its
// environment variable, and returns the operands. --help gives errHelp
// (with fs's usage on stdout); anything else wrong gives an error wrapping
// errUsage (with fs's usage on stderr), as parseFlagSet does.
func parseOperands(fs *flag.FlagSet, args []string, getenv func(string) string, stdout, stderr io.Writer) ([]string, error) {
	var operands []string
	for {
		if err := parseFlagSet(fs, args, stdout, stderr); err != nil {
			return nil, err
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
