//go:build !linux

package redistest

import "os/exec"

// setProcAttr does nothing here: only Linux has a parent-death signal.
// The test's cleanups still kill every server it started.
func setProcAttr(*exec.Cmd) {}
