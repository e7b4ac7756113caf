package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/hooks"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

const testProgName = "vigil_hooks_t"

// TestHooksSeesOwnHooks loads a BPF program attached to a tracepoint
// through a link and starts a seccomp-filtered child, then checks that
// vigil hooks lists both with the right owner and that --diff against a
// baseline taken before reports both as new.
func TestHooksSeesOwnHooks(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.Require(t, "tracepoints", doctor.ProbeTracepoint())
	baseline := filepath.Join(t.TempDir(), "baseline.json")
	code, out, errOut := run(t, "hooks", "--json")
	if code != 0 {
		t.Fatalf("hooks --json: exit %d: %s", code, errOut)
	}
	if err := os.WriteFile(baseline, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}

	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: testProgName, Type: ebpf.TracePoint, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		t.Fatalf("loading: %+v", err)
	}
	defer prog.Close()
	l, err := link.Tracepoint("sched", "sched_process_exec", prog, nil)
	if err != nil {
		t.Fatalf("attaching: %v", err)
	}
	defer l.Close()
	child := startSeccompChild(t)

	code, out, errOut = run(t, "hooks", "--json")
	if code != 0 {
		t.Fatalf("hooks --json: exit %d: %s", code, errOut)
	}
	var snap hooks.Snapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatal(err)
	}
	checkProgram(t, &snap)
	checkSeccomp(t, &snap, child)

	code, out, errOut = run(t, "hooks", "--diff", baseline, "--json")
	if code != 0 {
		t.Fatalf("hooks --diff: exit %d: %s", code, errOut)
	}
	var ch hooks.Changes
	if err := json.Unmarshal([]byte(out), &ch); err != nil {
		t.Fatal(err)
	}
	var sawProg, sawChild bool
	for _, h := range ch.Appeared {
		sawProg = sawProg || h.Kind == "bpf" && strings.Contains(h.Key, "/"+testProgName+"/")
		sawChild = sawChild || h.Kind == "seccomp" && strings.HasPrefix(h.Key, fmt.Sprintf("%d/", child))
	}
	if !sawProg || !sawChild {
		t.Errorf("diff appeared: program %t, seccomp child %t, want both:\n%s", sawProg, sawChild, out)
	}

	_, out, _ = run(t, "hooks", "--diff", baseline)
	t.Logf("vigil hooks --diff:\n%s", out)
	if !strings.Contains(out, "+ bpf") || !strings.Contains(out, testProgName) || !strings.Contains(out, "+ seccomp") {
		t.Errorf("text diff lacks our hooks:\n%s", out)
	}
}

func checkProgram(t *testing.T, snap *hooks.Snapshot) {
	t.Helper()
	for _, p := range snap.BPF {
		if p.Name != testProgName {
			continue
		}
		var viaProg, viaLink bool
		for _, o := range p.Owners {
			if o.PID == os.Getpid() {
				viaProg = viaProg || o.Via == "prog"
				viaLink = viaLink || strings.HasPrefix(o.Via, "link ")
			}
		}
		if !viaProg || !viaLink {
			t.Errorf("program owners %+v, want pid %d via prog and link", p.Owners, os.Getpid())
		}
		if strings.Join(p.Attach, ";") != "tracepoint sched_process_exec" {
			t.Errorf("program attach %q, want tracepoint sched_process_exec", p.Attach)
		}
		return
	}
	t.Errorf("program %s not listed among %d", testProgName, len(snap.BPF))
}

func checkSeccomp(t *testing.T, snap *hooks.Snapshot, pid int) {
	t.Helper()
	for _, p := range snap.Seccomp {
		if p.PID != pid {
			continue
		}
		if p.Mode != 2 || p.Filters < 1 || p.StartTime == 0 || !strings.Contains(p.Cmdline, filepath.Base(os.Args[0])) {
			t.Errorf("seccomp child listed as %+v", p)
		}
		return
	}
	t.Errorf("seccomp child %d not listed", pid)
}

func TestHooksBadBaseline(t *testing.T) {
	if code, _, _ := run(t, "hooks", "--diff", "/nonexistent/base.json"); code != 1 {
		t.Errorf("missing baseline: exit %d, want 1", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{"), 0o600)
	if code, _, _ := run(t, "hooks", "--diff", bad); code != 2 {
		t.Errorf("malformed baseline: exit %d, want 2", code)
	}
}
