package hooks

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/kernfs"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestCollectFindsOwnProgram attaches a raw tracepoint program through a
// link and checks Collect reports its attach point and this process as
// its owner, and that Diff sees it come and go.
func TestCollectFindsOwnProgram(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.Require(t, "raw tracepoints", doctor.ProbeRawTracepoint())
	before := Collect(context.Background())
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vigil_collect_t", Type: ebpf.RawTracepoint, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		t.Fatalf("loading: %+v", err)
	}
	defer prog.Close()
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exit", Program: prog})
	if err != nil {
		t.Fatalf("attaching: %v", err)
	}
	snap := Collect(context.Background())
	l.Close()
	prog.Close()

	var found *BPFProgram
	for i := range snap.BPF {
		if snap.BPF[i].Name == "vigil_collect_t" {
			found = &snap.BPF[i]
		}
	}
	if found == nil {
		t.Fatalf("own program not listed; problems: %q", snap.Problems)
	}
	if strings.Join(found.Attach, ";") != "raw_tracepoint sched_process_exit" {
		t.Errorf("attach %q", found.Attach)
	}
	owned := false
	for _, o := range found.Owners {
		owned = owned || o.PID == os.Getpid()
	}
	if !owned {
		t.Errorf("owners %+v lack pid %d", found.Owners, os.Getpid())
	}
	appeared := false
	for _, h := range Diff(before, snap).Appeared {
		appeared = appeared || h.Kind == "bpf" && strings.Contains(h.Key, "/vigil_collect_t/")
	}
	if !appeared {
		t.Error("Diff does not report the program as appeared")
	}
	// The kernel may free the program a moment after its last fd closes.
	for try := 0; try < 20; try++ {
		for _, h := range Diff(snap, Collect(context.Background())).Vanished {
			if strings.Contains(h.Key, "/vigil_collect_t/") {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Error("Diff does not report the program as vanished after it was closed")
}

// TestCollectFindsLinklessPerfAttachment attaches a tracepoint program the
// old way, PERF_EVENT_IOC_SET_BPF on a perf event with no BPF link, and
// checks Collect still finds where it is attached and who holds it.
func TestCollectFindsLinklessPerfAttachment(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.Require(t, "tracepoints", doctor.ProbeTracepoint())
	dir, err := kernfs.Tracefs()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "events/sched/sched_process_exec/id"))
	if err != nil {
		t.Fatal(err)
	}
	tpID, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vigil_perf_t", Type: ebpf.TracePoint, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		t.Fatalf("loading: %+v", err)
	}
	defer prog.Close()
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_TRACEPOINT, Config: tpID, Sample: 1, Wakeup: 1}
	attr.Size = uint32(unsafe.Sizeof(attr))
	pfd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		t.Fatalf("perf_event_open: %v", err)
	}
	defer unix.Close(pfd)
	if err := unix.IoctlSetInt(pfd, unix.PERF_EVENT_IOC_SET_BPF, prog.FD()); err != nil {
		t.Fatalf("PERF_EVENT_IOC_SET_BPF: %v", err)
	}
	snap := Collect(context.Background())
	for _, p := range snap.BPF {
		if p.Name != "vigil_perf_t" {
			continue
		}
		if strings.Join(p.Attach, ";") != "tracepoint sched_process_exec" {
			t.Errorf("attach %q, want tracepoint sched_process_exec", p.Attach)
		}
		if !slices.ContainsFunc(p.Owners, func(o Owner) bool { return o.PID == os.Getpid() && o.Via == "perf_event" }) {
			t.Errorf("owners %+v lack pid %d via perf_event", p.Owners, os.Getpid())
		}
		return
	}
	t.Fatalf("program not listed; problems %q", snap.Problems)
}
