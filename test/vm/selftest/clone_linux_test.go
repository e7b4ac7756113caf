package selftest

import (
	"encoding/binary"
	"os"
	"os/exec"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestCloneCounted attaches a counter to process creation through each
// mechanism and checks that it fires for every process this test spawns:
// kernel_clone (kernel/fork.c, the common path of fork, vfork, clone and
// clone3 since 5.10) for fentry, fexit and kprobes; security_task_alloc,
// which copy_process calls, for fmod_ret, which only attaches to security_*
// functions and those on the error-injection list (the program returns 0,
// leaving the kernel's result alone).
func TestCloneCounted(t *testing.T) {
	vmtest.RequireRoot(t)
	for _, tc := range []struct {
		name   string
		typ    ebpf.ProgramType
		attach ebpf.AttachType
		fn     string
	}{
		{"fentry", ebpf.Tracing, ebpf.AttachTraceFEntry, "kernel_clone"},
		{"fexit", ebpf.Tracing, ebpf.AttachTraceFExit, "kernel_clone"},
		{"fmod_ret", ebpf.Tracing, ebpf.AttachModifyReturn, "security_task_alloc"},
		{"kprobe", ebpf.Kprobe, ebpf.AttachNone, "kernel_clone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
			if err != nil {
				t.Fatalf("creating counter map: %v", err)
			}
			defer counter.Close()

			l, err := attachCounter(tc.typ, tc.attach, tc.fn, counter, os.Getpid())
			if err != nil {
				vmtest.Mechanism(t, "probe "+tc.name, "no")
			}
			vmtest.Require(t, tc.name+" on "+tc.fn, err)
			defer l.Close()

			const spawns = 5
			before := readCount(t, counter)
			for range spawns {
				if err := exec.Command("true").Run(); err != nil {
					t.Fatalf("running true: %v", err)
				}
			}
			got := readCount(t, counter) - before
			if got < spawns {
				t.Fatalf("%s on %s counted %d clones of this process, want at least %d", tc.name, tc.fn, got, spawns)
			}
			t.Logf("%s counted %d clones for %d spawns", tc.name, got, spawns)
			vmtest.Mechanism(t, "probe "+tc.name, "yes")
		})
	}
}

// attachCounter loads a program that adds one to counter[0] whenever the
// thread group tgid enters (or leaves) fn, and attaches it.
func attachCounter(typ ebpf.ProgramType, at ebpf.AttachType, fn string, counter *ebpf.Map, tgid int) (link.Link, error) {
	insns := asm.Instructions{
		// if (bpf_get_current_pid_tgid() >> 32 != tgid) return 0;
		asm.FnGetCurrentPidTgid.Call(),
		asm.RSh.Imm(asm.R0, 32),
		asm.JNE.Imm(asm.R0, int32(tgid), "out"),
		// u64 *n = bpf_map_lookup_elem(&counter, &(u32){0}); if (!n) return 0;
		asm.StoreImm(asm.RFP, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, counter.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		// __sync_fetch_and_add(n, 1);
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
	spec := &ebpf.ProgramSpec{
		Name:         "count_clone",
		Type:         typ,
		AttachType:   at,
		Instructions: insns,
		License:      "GPL",
	}
	if typ == ebpf.Tracing {
		spec.AttachTo = fn
	}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, err
	}
	// The link holds its own reference to the program.
	defer prog.Close()
	if typ == ebpf.Kprobe {
		return link.Kprobe(fn, prog, nil)
	}
	return link.AttachTracing(link.TracingOptions{Program: prog, AttachType: at})
}

func readCount(t *testing.T, m *ebpf.Map) uint64 {
	t.Helper()
	var v [8]byte
	if err := m.Lookup(uint32(0), &v); err != nil {
		t.Fatalf("reading counter: %v", err)
	}
	return binary.NativeEndian.Uint64(v[:])
}
