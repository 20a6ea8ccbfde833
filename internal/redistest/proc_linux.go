package redistest

import (
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill the server if the test process dies
// before its cleanups run (a timeout's panic, a SIGKILL), so that no
// server outlives the test run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
