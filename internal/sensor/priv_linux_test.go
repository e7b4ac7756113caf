package sensor

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

var privTypes = []event.Type{event.TypeCred, event.TypePtrace, event.TypeNamespace}

// nsID returns the inode number of /proc/PID/ns/KIND, as the kernel
// reports it.
func nsID(t *testing.T, pid int, kind string) uint32 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join("/proc", itoa(pid), "ns", kind), &st); err != nil {
		t.Fatal(err)
	}
	return uint32(st.Ino)
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestCredSetuid: a root helper's setuid(65534) is one cred event with
// the old and new ids; a capset dropping CAP_NET_RAW is one with the
// capability lost.
func TestCredSetuid(t *testing.T) {
	_, c := startMonitor(t, Config{Types: privTypes})
	if os.Geteuid() != 0 {
		t.Skip("needs root to change uid")
	}
	cmd := helper("setuid")
	if err := cmd.Run(); err != nil {
		t.Fatalf("setuid helper: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the setuid", func(e *event.Event) bool {
		return e.Type == event.TypeCred && e.Process.Pid == pid
	})[0]
	cr := ev.Cred
	if cr.Syscall != "setuid" || cr.Result != 0 || cr.Args[0] != 65534 {
		t.Errorf("cred %+v, want setuid(65534) = 0", cr)
	}
	if cr.Old.Uid != 0 || cr.Old.Euid != 0 || cr.New.Uid != 65534 || cr.New.Euid != 65534 || cr.New.Suid != 65534 || cr.New.Fsuid != 65534 {
		t.Errorf("old %+v new %+v, want every uid 0 -> 65534", cr.Old, cr.New)
	}
	// Leaving uid 0 clears the permitted and effective capabilities.
	if cr.New.CapEffective != 0 || !slices.Contains(event.CapsLost(&cr.Old, &cr.New), "sys_admin") {
		t.Errorf("capabilities %#x -> %#x, want all dropped", cr.Old.CapEffective, cr.New.CapEffective)
	}

	cmd = helper("capset")
	if err := cmd.Run(); err != nil {
		t.Fatalf("capset helper: %v", err)
	}
	pid = uint32(cmd.Process.Pid)
	ev = c.waitFor(t, 1, 5*time.Second, "the capset", func(e *event.Event) bool {
		return e.Type == event.TypeCred && e.Process.Pid == pid
	})[0]
	cr = ev.Cred
	lost := event.CapsLost(&cr.Old, &cr.New)
	if cr.Syscall != "capset" || cr.Result != 0 || cr.Old.CapEffective&(1<<unix.CAP_NET_RAW) == 0 ||
		cr.New.CapEffective != cr.Old.CapEffective&^(1<<unix.CAP_NET_RAW) || cr.New.Uid != cr.Old.Uid {
		t.Errorf("cred %+v, want capset dropping net_raw from the effective set", cr)
	}
	// Still permitted: not lost from permitted|effective.
	if slices.Contains(lost, "net_raw") {
		t.Errorf("caps lost %v: net_raw is still permitted", lost)
	}
}

// TestPtraceEvents: an attach to a child, a PTRACE_TRACEME and a
// process_vm_writev into a child are reported with their targets.
func TestPtraceEvents(t *testing.T) {
	// Exec events teach the process table the target's executable.
	_, c := startMonitor(t, Config{Types: append([]event.Type{event.TypeExec}, privTypes...)})
	cmd := helper("ptrace")
	child, err := helperOutputPid(cmd)
	if err != nil {
		t.Fatalf("ptrace helper: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the attach", func(e *event.Event) bool {
		return e.Type == event.TypePtrace && e.Process.Pid == pid
	})[0]
	if p := ev.Ptrace; p.Syscall != "ptrace" || p.Request != "attach" || p.Target != uint32(child) || p.Result != 0 {
		t.Errorf("ptrace %+v, want attach to %d = 0", p, child)
	}
	// The detach and the wait are not reported: only requests that take
	// hold of or change the target are.
	if n := len(c.waitFor(t, 0, 0, "", func(e *event.Event) bool { return e.Type == event.TypePtrace && e.Process.Pid == pid })); n != 1 {
		t.Errorf("%d ptrace events for the helper, want 1 (attach only)", n)
	}

	cmd = helper("traceme")
	// The Go runtime's preemption signals would stop a tracee.
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	if err := vmtest.AsHelper(cmd, "traceme").Run(); err != nil {
		t.Fatalf("traceme helper: %v", err)
	}
	pid = uint32(cmd.Process.Pid)
	ev = c.waitFor(t, 1, 5*time.Second, "the traceme", func(e *event.Event) bool {
		return e.Type == event.TypePtrace && e.Process.Pid == pid
	})[0]
	if p := ev.Ptrace; p.Request != "traceme" || p.Target != uint32(os.Getpid()) || p.Result != 0 {
		t.Errorf("ptrace %+v, want traceme with the test as tracer (%d)", p, os.Getpid())
	}

	cmd = helper("vm-writev")
	child, err = helperOutputPid(cmd)
	if err != nil {
		t.Fatalf("vm-writev helper: %v", err)
	}
	pid = uint32(cmd.Process.Pid)
	ev = c.waitFor(t, 1, 5*time.Second, "the process_vm_writev", func(e *event.Event) bool {
		return e.Type == event.TypePtrace && e.Process.Pid == pid
	})[0]
	if p := ev.Ptrace; p.Syscall != "process_vm_writev" || p.Target != uint32(child) || p.Result != 8 || p.TargetExe == "" {
		t.Errorf("ptrace %+v, want process_vm_writev into %d = 8, with its exe", p, child)
	}
}

// TestNamespaceEvents: unshare(CLONE_NEWNET) and a clone with
// CLONE_NEWUTS are reported with the old and new namespace ids.
func TestNamespaceEvents(t *testing.T) {
	_, c := startMonitor(t, Config{Types: privTypes})
	self := os.Getpid()
	netNS, utsNS := nsID(t, self, "net"), nsID(t, self, "uts")
	cmd := helper("unshare")
	if err := cmd.Run(); err != nil {
		t.Fatalf("unshare helper: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the unshare", func(e *event.Event) bool {
		return e.Type == event.TypeNamespace && e.Process.Pid == pid
	})[0]
	n := ev.Namespace
	if n.Syscall != "unshare" || n.Flags != unix.CLONE_NEWNET || n.Result != 0 ||
		!slices.Equal(n.Kinds(), []string{"net"}) || !slices.Equal(n.ChangedKinds(), []string{"net"}) {
		t.Errorf("namespace %+v (kinds %v changed %v), want unshare net", n, n.Kinds(), n.ChangedKinds())
	}
	if n.Old[event.NSNet] != netNS || n.New[event.NSNet] == netNS || n.New[event.NSNet] == 0 {
		t.Errorf("net ns %d -> %d, want %d -> a new one", n.Old[event.NSNet], n.New[event.NSNet], netNS)
	}

	cmd = helper("exit", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS}
	if err := cmd.Run(); err != nil {
		t.Fatalf("clone helper: %v", err)
	}
	child := uint32(cmd.Process.Pid)
	ev = c.waitFor(t, 1, 5*time.Second, "the clone", func(e *event.Event) bool {
		return e.Type == event.TypeNamespace && e.Namespace.ChildPid == child
	})[0]
	n = ev.Namespace
	if n.Syscall != "clone" || ev.Process.Pid != uint32(self) || !slices.Equal(n.ChangedKinds(), []string{"uts"}) ||
		n.Old[event.NSUts] != utsNS || n.New[event.NSUts] == utsNS {
		t.Errorf("namespace %+v by %d, want clone of %d into a new uts namespace (was %d)", n, ev.Process.Pid, child, utsNS)
	}
}

// TestKillPrivInKernel: a kill rule of each privilege type ends the
// process at the call's entry (bpf_send_signal), with the verdict in the
// event; the same calls by another program go through.
func TestKillPrivInKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	prog := filepath.Join(t.TempDir(), "vigilpriv")
	if err := copyFile(os.Args[0], prog); err != nil {
		t.Fatal(err)
	}
	rules := kernelRules(t, `rules:
  - name: no-setuid
    event: cred
    match:
      comm: [vigilpriv]
    action: kill
  - name: no-ptrace
    event: ptrace
    match:
      comm: [vigilpriv]
    action: kill
  - name: no-unshare
    event: namespace
    match:
      comm: [vigilpriv]
    action: kill
`)
	_, c := startMonitor(t, Config{Types: privTypes, Rules: rules})
	for _, tc := range []struct {
		helper, rule string
		typ          event.Type
	}{
		{"setuid", "no-setuid", event.TypeCred},
		{"ptrace", "no-ptrace", event.TypePtrace},
		{"unshare", "no-unshare", event.TypeNamespace},
	} {
		cmd := vmtest.AsHelper(exec.Command(prog), tc.helper)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); !killedBySIGKILL(err) {
			t.Errorf("%s: %v, want killed by SIGKILL", tc.helper, err)
			continue
		}
		pid := uint32(cmd.Process.Pid)
		ev := c.waitFor(t, 1, 5*time.Second, "the killed "+tc.helper, func(e *event.Event) bool {
			return e.Type == tc.typ && e.Process.Pid == pid
		})[0]
		if v := ev.Verdict; v == nil || v.Rule != tc.rule || v.Action != "kill" || !v.Enforced || v.Mechanism != "bpf_send_signal" {
			t.Errorf("%s: verdict %+v, want %s, kill, enforced, bpf_send_signal", tc.helper, v, tc.rule)
		}
	}
	// The test binary under its own name is not matched.
	if err := helper("unshare").Run(); err != nil {
		t.Errorf("unshare by another program: %v", err)
	}
}

// TestDenyPrivThroughLSM: deny rules on cred and ptrace make setuid,
// capset, PTRACE_ATTACH and PTRACE_TRACEME fail with EPERM through BPF
// LSM, each denial an event with its verdict; another program is not
// matched.
func TestDenyPrivThroughLSM(t *testing.T) {
	rules := lsmRules(t, `rules:
  - name: deny-setuid
    event: cred
    match: {comm: [vigilpriv]}
    action: deny
  - name: deny-ptrace
    event: ptrace
    match: {comm: [vigilpriv]}
    action: deny
`)
	prog := filepath.Join(t.TempDir(), "vigilpriv")
	if err := copyFile(os.Args[0], prog); err != nil {
		t.Fatal(err)
	}
	_, c := startMonitor(t, Config{Types: privTypes, Rules: rules})
	for _, tc := range []struct {
		helper, rule string
		typ          event.Type
		check        func(*event.Event, string) string
	}{
		{"setuid", "deny-setuid", event.TypeCred, func(e *event.Event, _ string) string {
			if cr := e.Cred; cr.Syscall != "setuid" || cr.Old.Euid != 0 || cr.New.Euid != 65534 {
				return "want setuid with the refused credentials (euid 0 -> 65534)"
			}
			return ""
		}},
		{"capset", "deny-setuid", event.TypeCred, func(e *event.Event, _ string) string {
			if cr := e.Cred; cr.Syscall != "capset" || cr.New.CapEffective&(1<<unix.CAP_NET_RAW) != 0 {
				return "want capset dropping net_raw"
			}
			return ""
		}},
		{"ptrace", "deny-ptrace", event.TypePtrace, func(e *event.Event, out string) string {
			if p := e.Ptrace; p.Target == 0 || itoa(int(p.Target))+"\n" != out {
				return "want the child (" + out + ") as target"
			}
			return ""
		}},
		{"traceme", "deny-ptrace", event.TypePtrace, func(e *event.Event, _ string) string {
			if p := e.Ptrace; p.Request != "traceme" || p.Target != uint32(os.Getpid()) {
				return "want traceme with the test as tracer"
			}
			return ""
		}},
	} {
		cmd := vmtest.AsHelper(exec.Command(prog), tc.helper)
		cmd.Env = append(cmd.Env, "GODEBUG=asyncpreemptoff=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if exitCode(err) != 1 || !strings.Contains(stderr.String(), "operation not permitted") {
			t.Errorf("%s: %v (%q), want exit 1 after EPERM", tc.helper, err, stderr.String())
			continue
		}
		pid := uint32(cmd.Process.Pid)
		ev := c.waitFor(t, 1, 5*time.Second, "the denied "+tc.helper, func(e *event.Event) bool {
			return e.Type == tc.typ && e.Process.Pid == pid && e.Verdict != nil
		})[0]
		if v := ev.Verdict; v.Rule != tc.rule || v.Action != "deny" || !v.Enforced || v.Mechanism != "lsm" {
			t.Errorf("%s: verdict %+v, want %s, deny, enforced, lsm", tc.helper, v, tc.rule)
		}
		if msg := tc.check(&ev, string(out)); msg != "" {
			t.Errorf("%s: event %+v: %s", tc.helper, ev, msg)
		}
	}
	if err := helper("setuid").Run(); err != nil {
		t.Errorf("setuid by another program: %v", err)
	}
}
