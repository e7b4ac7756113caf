package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// agent is a vigil monitor running as its own process (the test binary
// as vigil): the process that holds a fanotify group must not be one that
// forks, as tests do.
type agent struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	done     chan error
}

func startAgent(t *testing.T, args ...string) *agent {
	t.Helper()
	vmtest.RequireRoot(t)
	a := &agent{out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan error, 1)}
	a.cmd = vmtest.HelperCommand("vigil", append([]string{"monitor", "--output", "json"}, args...)...)
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.err
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	t.Cleanup(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
			t.Error("vigil monitor did not stop on SIGTERM")
		}
	})
	// Start-up is mostly the kernel verifying the programs. Under the
	// matrix's software emulation that takes tens of seconds where the
	// sensors load their compat build (5.10: unrolled walks, a verifier
	// without bpf_loop), so the guest waits longer.
	ready := 20 * time.Second
	if vmtest.InGuest() {
		ready = 2 * time.Minute
	}
	deadline := time.Now().Add(ready)
	for !strings.Contains(a.err.String(), "msg=ready") {
		select {
		case err := <-a.done:
			t.Fatalf("vigil monitor exited: %v\n%s", err, a.err.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil monitor not ready:\n%s", a.err.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a
}

// waitEvent returns the first event matching pred.
func (a *agent) waitEvent(t *testing.T, what string, pred func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(a.out.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev event.Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil && pred(&ev) {
				return &ev
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("no %s event; stderr:\n%s", what, a.err.String())
	return nil
}

// badDir makes a directory in /tmp, as the scenario has it, with
// a script that would create marker.
func badDir(t *testing.T) (dir, script, marker string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "vigil-policy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	marker = filepath.Join(t.TempDir(), "marker")
	script = filepath.Join(dir, "evil.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, script, marker
}

func writePolicy(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMonitorPolicyDeny(t *testing.T) {
	dir, script, marker := badDir(t)
	pol := writePolicy(t, fmt.Sprintf("rules:\n  - name: no-exec-from-test-dir\n    event: exec\n    match:\n      path_prefix: [%q]\n    action: deny\n", dir+"/"))
	a := startAgent(t, "--events", "exec", "--policy", pol)
	link := filepath.Join(t.TempDir(), "innocent")
	if err := os.Symlink(script, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{script, link} {
		err := exec.Command(path).Run()
		if !errors.Is(err, syscall.EPERM) {
			t.Errorf("exec %s: %v, want EPERM", path, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the marker exists: the denied script ran")
	}
	ev := a.waitEvent(t, "deny", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Verdict != nil && e.Verdict.Action == "deny"
	})
	if v := ev.Verdict; v.Rule != "no-exec-from-test-dir" || !v.Enforced {
		t.Errorf("verdict %+v", v)
	}
	// Whichever mechanism denied it (BPF LSM through the reader, or the
	// fanotify engine), the alert says who led to it: this test.
	if anc := ev.Process.Ancestors; len(anc) == 0 || anc[0].Pid != uint32(os.Getpid()) {
		t.Errorf("deny event's ancestors %+v, want this test (%d) first", anc, os.Getpid())
	}
	if out, err := exec.Command("sh", "-c", "echo allowed").Output(); err != nil || string(out) != "allowed\n" {
		t.Errorf("an allowed exec: %q, %v", out, err)
	}
}

func TestMonitorPolicyKill(t *testing.T) {
	_, script, marker := badDir(t)
	dir := filepath.Dir(script)
	pol := writePolicy(t, fmt.Sprintf(`rules:
  - name: kill-exec-from-test-dir
    event: exec
    match:
      path_prefix: [%q]
    action: kill
  - name: no-wx
    event: mprotect
    match:
      wx: true
    action: kill
`, dir+"/"))
	a := startAgent(t, "--events", "exec,mprotect", "--policy", pol)
	cmd := exec.Command(script)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("exec of the script: %v, want killed by SIGKILL", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the marker exists: the killed script ran")
	}
	a.waitEvent(t, "kill verdict", func(e *event.Event) bool {
		return e.Verdict != nil && e.Verdict.Rule == "kill-exec-from-test-dir" && e.Verdict.Action == "kill" && e.Verdict.Enforced
	})

	wx := vmtest.HelperCommand("wx")
	err = wx.Run()
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("RW->RX flip: %v, want killed by SIGKILL", err)
	}
	a.waitEvent(t, "W^X kill", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == uint32(wx.Process.Pid) && e.Verdict != nil && e.Verdict.Rule == "no-wx"
	})
}

// TestMonitorPolicyDenyMapping: the dynamic loader runs a program from a
// denied directory without exec'ing it (ld.so DIR/prog): the exec deny
// rule also stops the mapping, even with only exec events asked for, and
// the event names the rule and the mechanism. Reading the file still
// works. builtin:baseline's no-wx-memory kills RWX memory made by mmap.
func TestMonitorPolicyDenyMapping(t *testing.T) {
	const ldso = "/lib64/ld-linux-x86-64.so.2"
	if _, err := os.Stat(ldso); err != nil {
		t.Skipf("no dynamic loader: %v", err)
	}
	touch, err := exec.LookPath("touch")
	if err != nil {
		t.Skipf("no touch(1) to run through the loader: %v", err)
	}
	dir, _, marker := badDir(t)
	prog := filepath.Join(dir, "prog")
	data, err := os.ReadFile(touch)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prog, data, 0o755); err != nil {
		t.Fatal(err)
	}
	pol := writePolicy(t, fmt.Sprintf(`rules:
  - name: no-exec-from-test-dir
    event: exec
    match:
      path_prefix: [%q]
    action: deny
  - name: no-wx-memory
    event: mprotect
    match:
      wx: true
    action: kill
`, dir+"/"))
	a := startAgent(t, "--events", "exec", "--policy", pol)

	cmd := exec.Command(ldso, prog, marker)
	err = cmd.Run()
	if err == nil {
		t.Errorf("ld.so %s: ran, want it stopped", prog)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the marker exists: the program ran through the loader")
	}
	ev := a.waitEvent(t, "the stopped mapping", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == uint32(cmd.Process.Pid) && e.Verdict != nil
	})
	mech := "bpf_send_signal"
	if doctor.Available().LSM {
		mech = "lsm"
	}
	if v := ev.Verdict; v.Rule != "no-exec-from-test-dir" || v.Action != "deny" || !v.Enforced || v.Mechanism != mech || ev.Mprotect.Syscall != "mmap" {
		t.Errorf("verdict %+v on %s, want no-exec-from-test-dir, deny, enforced, %s on mmap", v, ev.Mprotect.Syscall, mech)
	}
	if got, err := os.ReadFile(prog); err != nil || len(got) != len(data) {
		t.Errorf("reading the program: %d bytes, %v; want it readable", len(got), err)
	}

	rwx := vmtest.HelperCommand("rwx-mmap")
	err = rwx.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("RWX mmap: %v, want killed by SIGKILL", err)
	}
	a.waitEvent(t, "W^X mmap kill", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == uint32(rwx.Process.Pid) && e.Mprotect.Syscall == "mmap" &&
			e.Mprotect.WX && e.Verdict != nil && e.Verdict.Rule == "no-wx-memory"
	})
}

func TestMonitorPolicyLogVerdict(t *testing.T) {
	pol := writePolicy(t, "rules:\n  - name: log-sleep\n    event: exec\n    match:\n      comm: [sleep]\n    action: log\n")
	a := startAgent(t, "--events", "exec", "--policy", pol)
	cmd := exec.Command("sleep", "0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ev := a.waitEvent(t, "logged exec", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Process.Pid == uint32(cmd.Process.Pid)
	})
	if v := ev.Verdict; v == nil || v.Rule != "log-sleep" || v.Action != "log" {
		t.Errorf("verdict %+v, want log-sleep", v)
	}
}

// TestMonitorKilledMidStorm: SIGKILL the agent while execs stream through
// its fanotify permission events; every exec must still finish.
func TestMonitorKilledMidStorm(t *testing.T) {
	dir, _, _ := badDir(t)
	pol := writePolicy(t, fmt.Sprintf("rules:\n  - name: deny-test-dir\n    event: exec\n    match:\n      path_prefix: [%q]\n    action: deny\n", dir+"/"))
	a := startAgent(t, "--events", "exec", "--policy", pol)
	// The storm's program lives on the denied directory's filesystem, so
	// that every exec is a permission event the agent must answer.
	stormDir, err := os.MkdirTemp(filepath.Dir(dir), "vigil-storm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stormDir) })
	storm := filepath.Join(stormDir, "true") // busybox picks its applet by name
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(storm, data, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- exec.Command(storm).Run()
		}()
		if i == n/2 {
			_ = a.cmd.Process.Kill()
		}
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("execs still blocked 20s after the agent was killed")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("exec during the storm: %v", err)
		}
	}
	t.Logf("%d execs finished in %v with the agent killed halfway", n, time.Since(start))
}

func TestMonitorBadPolicy(t *testing.T) {
	vmtest.RequireRoot(t)
	bad := writePolicy(t, "rules:\n  - name: x\n    event: exec\n    match:\n      pathh: [/tmp/]\n    action: deny\n")
	code, _, errOut := run(t, "monitor", "--policy", bad, "--duration", "1s")
	if code != 1 || !strings.Contains(errOut, bad+":5:") {
		t.Errorf("bad policy: code %d, stderr %q; want 1 and the file:line", code, errOut)
	}
	if doctor.ProbeBPFLSM() != nil {
		pol := writePolicy(t, "rules:\n  - name: deny-wx\n    event: mprotect\n    match:\n      wx: true\n    action: deny\n")
		code, _, errOut := run(t, "monitor", "--policy", pol, "--duration", "1s")
		if code != 1 || !strings.Contains(errOut, pol+":") {
			t.Errorf("deny mprotect without BPF LSM: code %d, stderr %q; want refused at load with file:line", code, errOut)
		}
	}
}

// TestMonitorPolicyReload: SIGHUP rereads the policy files. A deny rule
// moves from one directory to another and a kill rule becomes a log rule,
// each taking effect without a restart.
func TestMonitorPolicyReload(t *testing.T) {
	dirA, scriptA, _ := badDir(t)
	dirB, scriptB, _ := badDir(t)
	text := func(dir, wxAction string) string {
		return fmt.Sprintf(`rules:
  - name: deny-dir
    event: exec
    match:
      path_prefix: [%q]
    action: deny
  - name: wx
    event: mprotect
    match:
      wx: true
    action: %s
`, dir+"/", wxAction)
	}
	pol := writePolicy(t, text(dirA, "kill"))
	a := startAgent(t, "--events", "exec,mprotect", "--policy", pol)
	wx := func() error {
		return vmtest.HelperCommand("wx").Run()
	}
	if err := exec.Command(scriptA).Run(); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("before reload, exec in A: %v, want EPERM", err)
	}
	if err := wx(); err == nil {
		t.Fatal("before reload, W^X flip survived the kill rule")
	}

	if err := os.WriteFile(pol, []byte(text(dirB, "log")), 0o644); err != nil {
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
	if err := exec.Command(scriptA).Run(); err != nil {
		t.Errorf("after reload, exec in A: %v, want it to run", err)
	}
	if err := exec.Command(scriptB).Run(); !errors.Is(err, syscall.EPERM) {
		t.Errorf("after reload, exec in B: %v, want EPERM", err)
	}
	if err := wx(); err != nil {
		t.Errorf("after reload to log, W^X flip: %v, want it to live", err)
	}
	a.waitEvent(t, "logged W^X", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Verdict != nil && e.Verdict.Rule == "wx" && e.Verdict.Action == "log"
	})

	// A policy that does not load leaves the running one in force.
	if err := os.WriteFile(pol, []byte("rules: [oops"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Process.Signal(syscall.SIGHUP)
	for !strings.Contains(a.err.String(), "reload failed") {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("no reload failure logged:\n%s", a.err.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := exec.Command(scriptB).Run(); !errors.Is(err, syscall.EPERM) {
		t.Errorf("after a bad reload, exec in B: %v, want EPERM still", err)
	}
	_ = dirA
	_ = dirB
}
