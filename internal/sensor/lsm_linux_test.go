package sensor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// lsmRules compiles a policy for the kernel with BPF LSM available, or
// skips where the probe says the kernel refuses BPF LSM (our hosts; the
// kernel matrix has it, and there the test must pass).
func lsmRules(t *testing.T, yaml string) *policy.KernelRules {
	t.Helper()
	vmtest.RequireRoot(t)
	vmtest.Require(t, "BPF LSM", doctor.ProbeBPFLSM())
	return compileRules(t, yaml, policy.Available{Kill: true, LSM: true})
}

// TestDenyThroughLSM: exec (a script too), write opens, W^X mprotect and
// module loads fail with EPERM through BPF LSM, and each denial is an
// event with its verdict.
func TestDenyThroughLSM(t *testing.T) {
	bad := t.TempDir()
	script := filepath.Join(bad, "run.sh")
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(bad, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules := fmt.Sprintf(`rules:
  - name: deny-exec-dir
    event: exec
    match: {path_prefix: [%q]}
    action: deny
  - name: deny-write-secret
    event: open
    match: {path: [%q], open_flags: [write]}
    action: deny
  - name: deny-wx
    event: mprotect
    match: {wx: true}
    action: deny
`, bad+"/", secret)
	modDir := ""
	if vmtest.InGuest() {
		modDir = filepath.Dir(vmtest.Module(t, "dummy"))
		rules += fmt.Sprintf(`  - name: deny-modules
    event: module
    match: {path_prefix: [%q]}
    action: deny
`, modDir+"/")
	}
	k := lsmRules(t, rules)
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec, event.TypeOpen, event.TypeMprotect, event.TypeModule}, Rules: k,
		Open: OpenFilter{Prefixes: []string{"/nonexistent-vigil/"}}})
	for _, ch := range m.Choices() {
		if len(ch.Type) > 5 && ch.Type[:5] == "deny " {
			vmtest.Mechanism(t, "enforced "+string(ch.Type), ch.Mechanism)
		}
	}
	verdict := func(what string, pred func(*event.Event) bool, rule string) {
		t.Helper()
		ev := c.waitFor(t, 1, 5*time.Second, what, func(e *event.Event) bool {
			return e.Verdict != nil && e.Verdict.Action == "deny" && pred(e)
		})[0]
		if v := ev.Verdict; v.Rule != rule || !v.Enforced || v.Mechanism != "lsm" {
			t.Errorf("%s: verdict %+v, want %s enforced through lsm", what, v, rule)
		}
	}

	err := exec.Command(script).Run()
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("exec of a script in the denied directory: %v, want EPERM", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the denied script ran")
	}
	verdict("the denied exec", func(e *event.Event) bool { return e.Type == event.TypeExec && e.Exec.Path == script }, "deny-exec-dir")

	if _, err := os.OpenFile(secret, os.O_WRONLY|os.O_APPEND, 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("write open of the secret: %v, want EPERM", err)
	}
	if data, err := os.ReadFile(secret); err != nil || string(data) != "x" {
		t.Errorf("read of the secret: %q, %v", data, err)
	}
	verdict("the denied open", func(e *event.Event) bool { return e.Type == event.TypeOpen && e.Open.ResolvedPath == secret }, "deny-write-secret")

	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC); !errors.Is(err, unix.EPERM) {
		t.Errorf("RW->RX mprotect: %v, want EPERM", err)
	}
	if err := unix.Mprotect(mem, unix.PROT_READ); err != nil {
		t.Errorf("RW->R mprotect: %v, want success", err)
	}
	verdict("the denied mprotect", func(e *event.Event) bool { return e.Type == event.TypeMprotect && e.Mprotect.WX }, "deny-wx")

	if modDir != "" {
		err := helper("module-load", vmtest.Module(t, "dummy")).Run()
		if err == nil {
			t.Error("loading dummy.ko from the denied directory succeeded")
		}
		verdict("the denied module", func(e *event.Event) bool { return e.Type == event.TypeModule }, "deny-modules")
	}
}
