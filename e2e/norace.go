//go:build !race

package e2e

// raceEnabled reports whether this package was built with -race; the
// tests then build the server with -race too, so that a data race in the
// server fails them.
const raceEnabled = false
