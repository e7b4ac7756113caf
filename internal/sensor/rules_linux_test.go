package sensor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// kernelRules compiles a policy text for the kernel, as vigil monitor
// does with the mechanisms this kernel offers for kill.
func kernelRules(t *testing.T, yaml string) *policy.KernelRules {
	t.Helper()
	return compileRules(t, yaml, policy.Available{Kill: true})
}

// compileRules loads, plans with av and compiles a policy text.
func compileRules(t *testing.T, yaml string, av policy.Available) *policy.KernelRules {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := policy.Load(file)
	if err != nil {
		t.Fatalf("loading policy: %v", err)
	}
	plan, err := set.Plan(av)
	if err != nil {
		t.Fatalf("planning policy: %v", err)
	}
	k, err := set.Kernel(plan, StatFile)
	if err != nil {
		t.Fatalf("compiling policy for the kernel: %v", err)
	}
	return k
}

// killedBySIGKILL reports whether err is the exit of a process killed by
// SIGKILL.
func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestKillExecInKernel: a program in a forbidden directory dies by
// SIGKILL before it runs a single instruction, whether reached by its own
// path, a relative path or a symlink from an allowed directory. (A script
// is another matter: sched_process_exec sees its interpreter; deny rules,
// through fanotify or BPF LSM, see the script itself. docs/policy.md.)
func TestKillExecInKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	bad, err := os.MkdirTemp("/tmp", "vigil-kill-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bad)
	good := t.TempDir()
	marker := filepath.Join(good, "marker")
	// The test binary as the program: run as helper "touch" it would
	// create the marker.
	script := filepath.Join(bad, "run")
	if err := copyFile(os.Args[0], script); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(good, "innocent")
	if err := os.Symlink(script, link); err != nil {
		t.Fatal(err)
	}
	rules := kernelRules(t, fmt.Sprintf(`rules:
  - name: no-exec-from-test-dir
    event: exec
    match:
      path_prefix: [%q]
    action: kill
`, bad+"/"))
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec}, Rules: rules})

	touch := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.Args = append(cmd.Args, marker)
		return vmtest.AsHelper(cmd, "touch")
	}
	for _, tc := range []struct {
		name string
		cmd  *exec.Cmd
	}{
		{"direct", touch(exec.Command(script))},
		{"relative", func() *exec.Cmd { c := touch(exec.Command("./run")); c.Dir = bad; return c }()},
		{"symlink", touch(exec.Command(link))},
	} {
		err := tc.cmd.Run()
		if !killedBySIGKILL(err) {
			t.Errorf("%s: %v, want killed by SIGKILL", tc.name, err)
			continue
		}
		pid := uint32(tc.cmd.Process.Pid)
		ev := c.waitFor(t, 1, 5*time.Second, "the killed exec", func(e *event.Event) bool {
			return e.Type == event.TypeExec && e.Process.Pid == pid
		})[0]
		if v := ev.Verdict; v == nil || v.Rule != "no-exec-from-test-dir" || v.Action != "kill" || !v.Enforced || v.Mechanism != "bpf_send_signal" {
			t.Errorf("%s: verdict %+v, want the rule, kill, enforced, bpf_send_signal", tc.name, v)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the marker exists: the killed script ran")
	}
	vmtest.Mechanism(t, "enforced kill exec", "bpf_send_signal at tp_btf/sched_process_exec")
	// The same program outside the directory still runs.
	allowed := filepath.Join(good, "run")
	if err := copyFile(os.Args[0], allowed); err != nil {
		t.Fatal(err)
	}
	if err := touch(exec.Command(allowed)).Run(); err != nil {
		t.Fatalf("allowed exec: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the allowed program did not run: %v", err)
	}
}

// TestKillWXInKernel: a process that maps RWX or flips RW->RX is killed at
// its first such mprotect; one that does neither is left alone.
func TestKillWXInKernel(t *testing.T) {
	rules := kernelRules(t, `rules:
  - name: no-wx
    event: mprotect
    match:
      wx: true
    action: kill
`)
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeMprotect}, Rules: rules})
	for _, mode := range []string{"flip", "rwx"} {
		cmd := helper("wx1", mode)
		err := cmd.Run()
		if !killedBySIGKILL(err) {
			t.Errorf("%s: %v, want killed by SIGKILL", mode, err)
			continue
		}
		pid := uint32(cmd.Process.Pid)
		ev := c.waitFor(t, 1, 5*time.Second, "the W^X mprotect", func(e *event.Event) bool {
			return e.Type == event.TypeMprotect && e.Process.Pid == pid && e.Mprotect.WX
		})[0]
		if v := ev.Verdict; v == nil || v.Rule != "no-wx" || !v.Enforced {
			t.Errorf("%s: verdict %+v, want no-wx enforced", mode, v)
		}
	}
	vmtest.Mechanism(t, "enforced kill mprotect", killSite(m, event.TypeMprotect, "sys_enter_mprotect"))
	if err := helper("wx1", "plain").Run(); err != nil {
		t.Fatalf("a plain RW->R mprotect: %v, want success", err)
	}
}

// TestKillOpenInKernel: opening a protected file for writing kills the
// process before the call returns; reading it does not.
func TestKillOpenInKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules := kernelRules(t, fmt.Sprintf(`rules:
  - name: no-write-secret
    event: open
    match:
      path: [%q]
      open_flags: [write]
    action: kill
`, secret))
	// Open events filtered to nothing: the rule still sees every open.
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeOpen}, Rules: rules,
		Open: OpenFilter{Prefixes: []string{"/nonexistent-vigil/"}}})
	w := exec.Command("sh", "-c", `echo y >> "$1"; echo survived`, "sh", secret)
	out, err := w.Output()
	if !killedBySIGKILL(err) || len(out) != 0 {
		t.Fatalf("write open: %v (output %q), want killed by SIGKILL before it continues", err, out)
	}
	ev := c.waitFor(t, 1, 5*time.Second, "the killed open", func(e *event.Event) bool {
		return e.Type == event.TypeOpen && e.Process.Pid == uint32(w.Process.Pid)
	})[0]
	if v := ev.Verdict; v == nil || v.Rule != "no-write-secret" || !v.Enforced || ev.Open.ResolvedPath != secret {
		t.Errorf("verdict %+v on %s, want no-write-secret enforced on %s", v, ev.Open.ResolvedPath, secret)
	}
	vmtest.Mechanism(t, "enforced kill open", killSite(m, event.TypeOpen, "sys_exit_open*"))
	if out, err := exec.Command("cat", secret).Output(); err != nil || string(out) != "x" {
		t.Fatalf("read open: %q, %v, want the content", out, err)
	}
	time.Sleep(3 * pollInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if e.Type == event.TypeOpen && e.Verdict == nil {
			t.Errorf("open of %q reported through a filter that excludes it", e.Open.Path)
		}
	}
}
