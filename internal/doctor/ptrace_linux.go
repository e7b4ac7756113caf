package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// ProbePtrace starts a child (this executable as the idle helper),
// attaches to it with PTRACE_SEIZE, stops it with PTRACE_INTERRUPT and
// waits for the stop, then kills and reaps it. Yama's ptrace_scope and
// LSMs can forbid this even to root.
func ProbePtrace() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding own executable: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), HelperEnv+"=idle")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("starting ptrace target: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting ptrace target: %w", err)
	}
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	// The thread that seizes is the tracer; wait on the same one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid := cmd.Process.Pid
	if err := unix.PtraceSeize(pid); err != nil {
		return judge("PTRACE_SEIZE of own child", err)
	}
	if err := unix.PtraceInterrupt(pid); err != nil {
		return judge("PTRACE_INTERRUPT of own child", err)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG|unix.WALL|unix.WSTOPPED, nil)
		if err != nil {
			return fmt.Errorf("waiting for ptrace stop: %w", err)
		}
		if got == pid && ws.Stopped() {
			return nil
		}
	}
	return fmt.Errorf("waiting for ptrace stop: child not stopped after 2s")
}
