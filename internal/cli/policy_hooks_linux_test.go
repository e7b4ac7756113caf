package cli

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestMonitorPolicyHooks: vigil monitor --policy runs a policy's hooks,
// and SIGHUP replaces them with the file's new ones.
func TestMonitorPolicyHooks(t *testing.T) {
	text := func(name string, sig syscall.Signal) string {
		return fmt.Sprintf(`hooks:
  - name: %s
    tracepoint: signal/signal_generate
    args: [sig, task]
    match:
      args:
        sig: [%d]
    action: log
`, name, int(sig))
	}
	pol := writePolicy(t, text("usr2", syscall.SIGUSR2))
	a := startAgent(t, "--events", "exit", "--policy", pol)
	if !strings.Contains(a.err.String(), "msg=\"policy hook\" hook=usr2") {
		t.Errorf("no policy hook line in the log:\n%s", a.err.String())
	}
	signal := func(sig syscall.Signal) int {
		sleeper := exec.Command("sleep", "30")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
		if err := sleeper.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		return sleeper.Process.Pid
	}
	isHook := func(name string, pid int) func(*event.Event) bool {
		return func(e *event.Event) bool {
			if e.Type != event.TypeHook || e.Hook.Name != name {
				return false
			}
			for _, arg := range e.Hook.Args {
				if arg.Name == "task" && arg.Int == uint64(pid) {
					return true
				}
			}
			return false
		}
	}
	pid := signal(syscall.SIGUSR2)
	a.waitEvent(t, "usr2 hook", isHook("usr2", pid))

	if err := os.WriteFile(pol, []byte(text("usr1", syscall.SIGUSR1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.err.String(), "policies reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload:\n%s", a.err.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid = signal(syscall.SIGUSR1)
	a.waitEvent(t, "usr1 hook after reload", isHook("usr1", pid))
}

// TestMonitorBadHook: a misspelled tracepoint refuses the policy at
// start, at its file:line:col, with the closest names.
func TestMonitorBadHook(t *testing.T) {
	pol := writePolicy(t, `hooks:
  - name: typo
    tracepoint: sched/sched_swich
    action: count
`)
	vmtest.RequireRoot(t)
	var out, errOut strings.Builder
	code := Run(t.Context(), []string{"monitor", "--policy", pol, "--duration", "1s"}, strings.NewReader(""), &out, &errOut)
	want := pol + `:3:17: hooks[0].tracepoint: no tracepoint "sched/sched_swich" in this kernel (did you mean sched/sched_switch`
	if code == 0 || !strings.Contains(errOut.String(), want) {
		t.Errorf("exit %d, stderr:\n%s\nwant %s", code, errOut.String(), want)
	}
}
