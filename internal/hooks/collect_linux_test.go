package hooks

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// TestCollectFindsOwnProgram attaches a raw tracepoint program through a
// link and checks Collect reports its attach point and this process as
// its owner, and that Diff sees it come and go.
func TestCollectFindsOwnProgram(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("listing BPF programs needs root")
	}
	before := Collect(context.Background())
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vigil_collect_t", Type: ebpf.RawTracepoint, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		t.Skipf("raw tracepoint programs: %v", err) // doctor's raw-tracepoint probe says why
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
