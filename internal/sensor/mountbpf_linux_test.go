package sensor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestMountCalls: a helper in its own mount namespace mounts a tmpfs,
// bind-mounts and moves it, unmounts, mounts through the new mount API
// and pivots its root, all with paths relative to its working directory;
// each call is reported with its paths resolved, its type, its named
// flags and its result.
func TestMountCalls(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeMount}})
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", "b", "c", "d", "e"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := helper("mount", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mount helper: %v", err)
	}
	pivot := strings.TrimSpace(string(out))
	pid := uint32(cmd.Process.Pid)
	// Go's fork makes / private (one mount); then the helper's 10 calls.
	evs := c.waitFor(t, 11, 5*time.Second, "the helper's mount calls", func(e *event.Event) bool {
		return e.Type == event.TypeMount && e.Process.Pid == pid
	})
	for _, e := range evs {
		t.Logf("%s", e.AppendJSON(nil))
	}
	at := func(s string) string { return filepath.Join(dir, s) }
	want := []struct {
		m     event.Mount
		flags []string
	}{
		{event.Mount{Syscall: "mount", Source: "tmpfs", Target: "a", ResolvedTarget: at("a"), FSType: "tmpfs"}, []string{"MS_NOSUID", "MS_NODEV"}},
		{event.Mount{Syscall: "mount", Source: "a", ResolvedSource: at("a"), Target: "b", ResolvedTarget: at("b")}, []string{"MS_BIND"}},
		{event.Mount{Syscall: "mount", Source: "b", ResolvedSource: at("b"), Target: "c", ResolvedTarget: at("c")}, []string{"MS_MOVE"}},
		{event.Mount{Syscall: "umount2", Target: "c", ResolvedTarget: at("c")}, []string{}},
		{event.Mount{Syscall: "umount2", Target: "a", ResolvedTarget: at("a")}, []string{"MNT_DETACH"}},
		{event.Mount{Syscall: "fsopen", FSType: "tmpfs"}, []string{"FSOPEN_CLOEXEC"}},
		{event.Mount{Syscall: "fsmount", FSType: "tmpfs"}, []string{"FSMOUNT_CLOEXEC"}},
		{event.Mount{Syscall: "move_mount", Target: "d", ResolvedTarget: at("d"), TargetDirfd: unix.AT_FDCWD}, []string{"MOVE_MOUNT_F_EMPTY_PATH"}},
		{event.Mount{Syscall: "umount2", Target: "d", ResolvedTarget: at("d")}, []string{}},
		{event.Mount{Syscall: "mount", Source: "tmpfs", Target: "e", ResolvedTarget: at("e"), FSType: "tmpfs"}, []string{}},
		{event.Mount{Syscall: "pivot_root", Source: "e/old", ResolvedSource: at("e/old"), Target: "e", ResolvedTarget: at("e")}, []string{}},
	}
	got := evs[len(evs)-len(want):]
	for i, w := range want {
		g := got[i].Mount
		if g.Syscall == "pivot_root" && g.Result == 0 {
			// Resolved after the call, in the new tree: the old root
			// is under put_old.
			w.m.ResolvedSource = filepath.Join("/old", w.m.ResolvedSource)
			w.m.ResolvedTarget = filepath.Join("/old", w.m.ResolvedTarget)
		}
		if g.Syscall != w.m.Syscall || g.Source != w.m.Source || g.Target != w.m.Target || g.ResolvedSource != w.m.ResolvedSource ||
			g.ResolvedTarget != w.m.ResolvedTarget || g.FSType != w.m.FSType {
			t.Errorf("call %d: got %+v, want %+v", i, *g, w.m)
		}
		if names := event.MountFlagNames(g.Syscall, g.Flags); !slices.Equal(names, w.flags) {
			t.Errorf("call %d (%s): flags %v, want %v", i, g.Syscall, names, w.flags)
		}
		switch {
		case g.Syscall == "pivot_root":
			// rootfs (the guests' initramfs) cannot be pivoted: EINVAL.
			if wantRes := map[string]int64{"<nil>": 0, "invalid argument": -int64(unix.EINVAL)}[pivot]; g.Result != wantRes {
				t.Errorf("pivot_root result %d, the helper saw %q", g.Result, pivot)
			}
		case g.Syscall == "fsopen" || g.Syscall == "fsmount":
			if g.Result < 0 {
				t.Errorf("%s result %d, want a descriptor", g.Syscall, g.Result)
			}
		case g.Result != 0:
			t.Errorf("call %d (%s): result %d, want 0", i, g.Syscall, g.Result)
		}
	}
	if g := got[6].Mount; g.AttrFlags != unix.MOUNT_ATTR_NOEXEC || g.SourceDirfd != int32(got[5].Mount.Result) {
		t.Errorf("fsmount: attr flags %#x from fd %d, want MOUNT_ATTR_NOEXEC from fsopen's %d", g.AttrFlags, g.SourceDirfd, got[5].Mount.Result)
	}
	if g := got[7].Mount; g.SourceDirfd != int32(got[6].Mount.Result) {
		t.Errorf("move_mount from fd %d, want fsmount's %d", g.SourceDirfd, got[6].Mount.Result)
	}
}

// selfComm is the task name of this test binary, which its helpers share.
func selfComm(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestKillMountInKernel: a mount by a process a kill rule names ends it
// by SIGKILL at the hook, with the verdict in the event.
func TestKillMountInKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	rules := kernelRules(t, fmt.Sprintf(`rules:
  - name: no-mounts-by-test
    event: mount
    match:
      comm: [%q]
    action: kill
`, selfComm(t)))
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeMount}, Rules: rules})
	cmd := helper("mount-fail", filepath.Join(t.TempDir(), "missing"))
	if err := cmd.Run(); !killedBySIGKILL(err) {
		t.Fatalf("mount helper: %v, want killed by SIGKILL", err)
	}
	pid := uint32(cmd.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the killed mount", func(e *event.Event) bool {
		return e.Type == event.TypeMount && e.Process.Pid == pid
	})[0]
	if v := ev.Verdict; v == nil || v.Rule != "no-mounts-by-test" || v.Action != "kill" || !v.Enforced || v.Mechanism != string(policy.MechKill) {
		t.Errorf("verdict %+v, want enforced kill by no-mounts-by-test", ev.Verdict)
	}
	if m := ev.Mount; m.Syscall != "mount" || m.FSType != "tmpfs" || m.Result != -int64(unix.ENOENT) {
		t.Errorf("event %+v, want a failed tmpfs mount", *m)
	}
}

// helperIDs parses the helper's "NAME ID" lines.
func helperIDs(t *testing.T, out []byte) map[string]uint32 {
	ids := map[string]uint32{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, id, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(id, 10, 32)
		if !ok || err != nil {
			t.Fatalf("bad helper line %q", sc.Text())
		}
		ids[name] = uint32(n)
	}
	return ids
}

// testCgroup makes a cgroup v2 directory for a program to attach to, or
// returns "-" where there is no cgroup v2 at /sys/fs/cgroup.
func testCgroup(t *testing.T) string {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Logf("no cgroup v2 at /sys/fs/cgroup: no cgroup attach")
		return "-"
	}
	dir := filepath.Join("/sys/fs/cgroup", fmt.Sprintf("vigil-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	return dir
}

// TestBPFLoadAndAttach: a helper loads a socket filter, a raw tracepoint
// program it attaches, and a cgroup program it links to a cgroup; each
// load and attach is reported with the program's type, name and id, and
// where it attaches. vigil's own loads are not reported.
func TestBPFLoadAndAttach(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeBPF}})
	cg := testCgroup(t)
	cmd := helper("bpf", cg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bpf helper: %v", err)
	}
	ids := helperIDs(t, out)
	pid := uint32(cmd.Process.Pid)
	find := func(what string, pred func(b *event.BPF) bool) *event.BPF {
		t.Helper()
		ev := c.waitFor(t, 1, 5*time.Second, what, func(e *event.Event) bool {
			return e.Type == event.TypeBPF && e.Process.Pid == pid && pred(e.BPF)
		})[0]
		t.Logf("%s", ev.AppendJSON(nil))
		return ev.BPF
	}
	sf := find("the socket filter's load", func(b *event.BPF) bool { return b.Cmd == "BPF_PROG_LOAD" && b.ProgName == "vigil_sf" })
	if sf.ProgType != "SocketFilter" || sf.ProgID != ids["vigil_sf"] || sf.Result < 0 || sf.HasAttachType {
		t.Errorf("socket filter load %+v, want SocketFilter id %d", *sf, ids["vigil_sf"])
	}
	rtp := find("the raw tracepoint's attach", func(b *event.BPF) bool { return b.Cmd == "BPF_RAW_TRACEPOINT_OPEN" && b.ProgID == ids["vigil_rtp"] })
	if rtp.ProgType != "RawTracepoint" || rtp.ProgName != "vigil_rtp" || rtp.AttachName != "sched_process_free" || rtp.Result < 0 {
		t.Errorf("raw tracepoint attach %+v, want RawTracepoint vigil_rtp at sched_process_free", *rtp)
	}
	if cg != "-" {
		at := find("the cgroup attach", func(b *event.BPF) bool {
			return (b.Cmd == "BPF_LINK_CREATE" || b.Cmd == "BPF_PROG_ATTACH") && b.ProgID == ids["vigil_skb"] && b.Result >= 0
		})
		if at.ProgType != "CGroupSKB" || at.AttachType != "BPF_CGROUP_INET_INGRESS" || at.TargetFd < 0 || (at.Cmd == "BPF_LINK_CREATE" && at.LinkID == 0) {
			t.Errorf("cgroup attach %+v, want CGroupSKB at BPF_CGROUP_INET_INGRESS on a cgroup fd", *at)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if e.Process.Pid == uint32(os.Getpid()) {
			t.Errorf("vigil's own bpf call reported: %s", e.AppendJSON(nil))
		}
	}
}

// TestKillBPFInKernel: a BPF program load by a process a kill rule
// names ends it by SIGKILL at the hook.
func TestKillBPFInKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	rules := kernelRules(t, fmt.Sprintf(`rules:
  - name: no-bpf-by-test
    event: bpf
    match:
      comm: [%q]
    action: kill
`, selfComm(t)))
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeBPF}, Rules: rules})
	cmd := helper("bpf", "-")
	if err := cmd.Run(); !killedBySIGKILL(err) {
		t.Fatalf("bpf helper: %v, want killed by SIGKILL", err)
	}
	pid := uint32(cmd.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the killed load", func(e *event.Event) bool {
		return e.Type == event.TypeBPF && e.Process.Pid == pid
	})[0]
	if v := ev.Verdict; v == nil || v.Rule != "no-bpf-by-test" || v.Action != "kill" || !v.Enforced {
		t.Errorf("verdict %+v, want enforced kill by no-bpf-by-test", ev.Verdict)
	}
	if ev.BPF.Cmd != "BPF_PROG_LOAD" {
		t.Errorf("killed at %s, want the first BPF_PROG_LOAD", ev.BPF.Cmd)
	}
}

// TestDenyMountAndBPFThroughLSM: with BPF LSM, a tmpfs mount and a BPF
// program load by a process the deny rules name fail with the rules'
// errno, the process lives on, and each denial is an event with its
// verdict. Skipped where the probe says the kernel refuses BPF LSM (our
// hosts); the kernel matrix has it.
func TestDenyMountAndBPFThroughLSM(t *testing.T) {
	comm := selfComm(t)
	k := lsmRules(t, fmt.Sprintf(`rules:
  - name: deny-mounts
    event: mount
    match: {comm: [%q]}
    action: deny
  - name: deny-bpf
    event: bpf
    match: {comm: [%q]}
    action: deny
    errno: EACCES
`, comm, comm))
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeMount, event.TypeBPF}, Rules: k})
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	mnt := helper("mount-fail", filepath.Join(dir, "a"))
	mnt.Stderr = nil
	out, err := mnt.CombinedOutput()
	if !strings.Contains(string(out), "operation not permitted") || mnt.ProcessState == nil || mnt.ProcessState.ExitCode() != 1 {
		t.Fatalf("mount helper: %v, %q; want mount refused with EPERM", err, out)
	}
	pid := uint32(mnt.Process.Pid)
	evs := c.waitFor(t, 2, 5*time.Second, "the denied mount and its call", func(e *event.Event) bool {
		return e.Type == event.TypeMount && e.Process.Pid == pid
	})
	var denied, call *event.Event
	for i := range evs {
		if evs[i].Verdict != nil {
			denied = &evs[i]
		} else {
			call = &evs[i]
		}
	}
	if denied == nil || denied.Verdict.Rule != "deny-mounts" || denied.Verdict.Action != "deny" || !denied.Verdict.Enforced ||
		denied.Mount.ResolvedTarget != filepath.Join(dir, "a") || denied.Mount.FSType != "tmpfs" {
		t.Errorf("denial %+v, want deny-mounts of tmpfs on %s/a", denied, dir)
	}
	if call == nil || call.Mount.Result != -int64(unix.EPERM) {
		t.Errorf("call %+v, want the mount's EPERM", call)
	}

	load := helper("bpf", "-")
	load.Stderr = nil
	out, err = load.CombinedOutput()
	if !strings.Contains(string(out), "permission denied") || load.ProcessState == nil {
		t.Fatalf("bpf helper: %v, %q; want its load refused with EACCES", err, out)
	}
	pid = uint32(load.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the denied load", func(e *event.Event) bool {
		return e.Type == event.TypeBPF && e.Process.Pid == pid && e.Verdict != nil
	})[0]
	if v := ev.Verdict; v.Rule != "deny-bpf" || v.Action != "deny" || !v.Enforced || ev.BPF.Cmd != "BPF_PROG_LOAD" || ev.BPF.Result != -int64(unix.EACCES) {
		t.Errorf("denial %+v %+v, want deny-bpf of BPF_PROG_LOAD with EACCES", *ev.BPF, *v)
	}
}
