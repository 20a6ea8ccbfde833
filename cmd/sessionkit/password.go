package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// maxPasswordLine bounds the line read from standard input for a password:
// longer than any valid password (1024 bytes) and its line ending.
const maxPasswordLine = 4096

var (
	// errNoPassword reports that standard input ended before a password.
	errNoPassword = errors.New("no password given: type it at the prompt, or give it as one line of standard input")

	// errPasswordsDiffer reports that the password typed twice was not
	// the same both times.
	errPasswordsDiffer = errors.New("the two passwords typed differ")
)

// readPassword reads a password for user. When stdin is a terminal it
// prompts on stderr and reads without echo, twice when confirm is set;
// otherwise it reads one line of stdin, without its line ending. Passwords
// are never taken from the command line or the environment, where other
// users of the machine, shell histories and process listings would see
// them.
func readPassword(stdin io.Reader, stderr io.Writer, user string, confirm bool) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), stderr, user, confirm)
	}
	return readPasswordLine(stdin)
}

// promptPassword reads a password from the terminal fd without echo.
func promptPassword(fd int, stderr io.Writer, user string, confirm bool) (string, error) {
	ask := func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr) // the user's Enter was not echoed
		if err != nil {
			return "", fmt.Errorf("reading the password from the terminal: %w", err)
		}
		return string(b), nil
	}
	pw, err := ask("Password for " + user + ": ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errPasswordsDiffer
	}
	return pw, nil
}

// readPasswordLine reads one line of r, without its "\n" or "\r\n".
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(r, maxPasswordLine).ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", fmt.Errorf("the line on standard input is longer than %d bytes: not a password", maxPasswordLine)
	case errors.Is(err, io.EOF) && len(line) == 0:
		return "", errNoPassword
	case err != nil && !errors.Is(err, io.EOF):
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line), nil
}
