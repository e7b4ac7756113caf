package sensor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// fileOpsIn prepares dir for one call of each file type and returns the
// helper arguments of each, by type.
func fileOpsIn(t *testing.T, dir string) map[event.Type][]string {
	t.Helper()
	for _, n := range []string{"u", "r", "l", "c", "o"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := func(n string) string { return filepath.Join(dir, n) }
	return map[event.Type][]string{
		event.TypeUnlink:  {"unlink", in("u")},
		event.TypeRename:  {"rename", in("r"), in("r2")},
		event.TypeLink:    {"link", in("l"), in("l2")},
		event.TypeSymlink: {"symlink", "/etc/passwd", in("s")},
		event.TypeChmod:   {"chmod", in("c")},
		event.TypeChown:   {"chown", in("o")},
	}
}

// TestKillFileInKernel: a kill rule per file type ends the process at the
// hook, before it goes on; the event carries the enforced verdict. Where
// the fentry rung loads, the rules match by directory (path_prefix, by
// inode); on the tracepoint rung, which sees names and not files, by comm.
func TestKillFileInKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the test binary, so that comm names it.
	bin := filepath.Join(t.TempDir(), "vigil-file-k")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	// Probe with the rules off: which rung each type gets.
	probe, _ := startMonitor(t, Config{Types: event.FileTypes})
	fentry := true
	for _, ty := range event.FileTypes {
		fentry = fentry && fentryRung(probe, ty)
	}
	matcher := `comm: [vigil-file-k]`
	if fentry {
		matcher = fmt.Sprintf(`path_prefix: [%q]`, dir+"/")
	}
	var yaml strings.Builder
	yaml.WriteString("rules:\n")
	for _, ty := range event.FileTypes {
		fmt.Fprintf(&yaml, "  - name: kill-%s\n    event: %s\n    match: {%s}\n    action: kill\n", ty, ty, matcher)
	}
	_, c := startMonitor(t, Config{Types: event.FileTypes, Rules: kernelRules(t, yaml.String())})
	for ty, args := range fileOpsIn(t, dir) {
		cmd := vmtest.AsHelper(exec.Command(bin, args...), "fileops")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if !killedBySIGKILL(err) || len(out) != 0 {
			t.Errorf("%s: %v (output %q), want killed by SIGKILL before it goes on", ty, err, out)
			continue
		}
		ev := c.waitFor(t, 1, 5*time.Second, "the killed "+string(ty), func(e *event.Event) bool {
			return e.Type == ty && e.Process.Pid == uint32(cmd.Process.Pid)
		})[0]
		if v := ev.Verdict; v == nil || v.Rule != "kill-"+string(ty) || !v.Enforced || v.Action != "kill" {
			t.Errorf("%s: verdict %+v, want kill-%s enforced", ty, v, ty)
		}
		if !strings.HasPrefix(ev.File.Path, dir+"/") {
			t.Errorf("%s: path %q, want under %s", ty, ev.File.Path, dir)
		}
	}
	mech := "bpf_send_signal at sys_exit_* (tracepoint rung)"
	if fentry {
		mech = "bpf_send_signal at fentry/security_path_*"
	}
	vmtest.Mechanism(t, "enforced kill file", mech)
}

// TestKillFilePathNeedsFentry: on the tracepoint rung, which sees the
// names a call passes and not the files it reaches, a kill rule matching
// paths is refused at start with a clear error, never silently ignored.
func TestKillFilePathNeedsFentry(t *testing.T) {
	vmtest.RequireRoot(t)
	dir := t.TempDir()
	rules := kernelRules(t, fmt.Sprintf("rules:\n  - name: keep\n    event: unlink\n    match: {path_prefix: [%q]}\n    action: kill\n", dir+"/"))
	m, err := New(Config{Types: []event.Type{event.TypeUnlink}, Rules: rules, ForceMechanism: "tracepoint",
		SelfTgid: uint32(os.Getpid())}, proc.NewTable("/proc", 0))
	if err == nil {
		m.Close()
		t.Fatal("a path_prefix kill rule on the tracepoint rung was accepted")
	}
	if !strings.Contains(err.Error(), "rule keep: kill on unlink events with path or path_prefix needs the fentry mechanism") {
		t.Errorf("error %q does not say the rule needs the fentry mechanism", err)
	}
}

// TestDenyFileThroughLSM: deny rules on every file type fail the call
// with EPERM through lsm/path_*, leave the file as it was, and report
// the denial with its verdict. A kernel whose trampolines refuse
// lsm/path_chown (5.10: struct arguments) must refuse that rule at start,
// naming the hook; the other types are checked there all the same.
func TestDenyFileThroughLSM(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	types := event.FileTypes
	chown := lsmRules(t, fmt.Sprintf("rules:\n  - name: deny-chown\n    event: chown\n    match: {path_prefix: [%q]}\n    action: deny\n", dir+"/"))
	if cm, err := New(Config{Types: []event.Type{event.TypeChown}, Rules: chown, SelfTgid: uint32(os.Getpid())}, proc.NewTable("/proc", 0)); err != nil {
		if !strings.Contains(err.Error(), "deny chown needs lsm/path_chown, which this kernel refuses") {
			t.Fatalf("deny chown refused without naming its hook: %v", err)
		}
		t.Logf("deny chown refused at start, as it must be here: %v", err)
		vmtest.Mechanism(t, "enforced deny chown", "refused: lsm/path_chown does not load")
		types = types[:len(types)-1]
	} else {
		cm.Close()
	}
	var yaml strings.Builder
	yaml.WriteString("rules:\n")
	for _, ty := range types {
		fmt.Fprintf(&yaml, "  - name: deny-%s\n    event: %s\n    match: {path_prefix: [%q]}\n    action: deny\n", ty, ty, dir+"/")
	}
	k := lsmRules(t, yaml.String())
	m, c := startMonitor(t, Config{Types: types, Rules: k, FilePrefixes: []string{"/nonexistent-vigil/"}})
	for _, ch := range m.Choices() {
		if strings.HasPrefix(string(ch.Type), "deny ") {
			vmtest.Mechanism(t, "enforced "+string(ch.Type), ch.Mechanism)
		}
	}
	ops := fileOpsIn(t, dir)
	for _, ty := range types {
		args := ops[ty]
		cmd := helper("fileops", args...)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || len(out) != 0 {
			t.Errorf("%s: %v (output %q), want EPERM (exit 3)", ty, err, out)
			continue
		}
		ev := c.waitFor(t, 1, 5*time.Second, "the denied "+string(ty), func(e *event.Event) bool {
			return e.Type == ty && e.Verdict != nil && e.Process.Pid == uint32(cmd.Process.Pid)
		})[0]
		if v := ev.Verdict; v.Rule != "deny-"+string(ty) || !v.Enforced || v.Action != "deny" || v.Mechanism != "lsm" {
			t.Errorf("%s: verdict %+v, want deny-%s enforced through lsm", ty, v, ty)
		}
		if !strings.HasPrefix(ev.File.Path, dir+"/") {
			t.Errorf("%s: path %q, want under %s", ty, ev.File.Path, dir)
		}
	}
	// Nothing changed: every file is where it was, with its mode and owner.
	for _, n := range []string{"u", "r", "l", "c"} {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if st.Mode().Perm() != 0o644 || st.Mode()&os.ModeSetuid != 0 {
			t.Errorf("%s: mode %v, want 0644 unchanged", n, st.Mode())
		}
	}
	for _, n := range []string{"r2", "l2", "s"} {
		if _, err := os.Lstat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a denied call (%v)", n, err)
		}
	}
}
