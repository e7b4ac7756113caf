package doctor

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

// The probes below decide between each sensor's default object and its
// compat build (bpf/include/common.h, VIGIL_COMPAT): the default objects
// need every one of them.

// ProbeBPFLoop checks that tracepoint programs may call bpf_loop (Linux
// 5.17), which the default objects walk paths and rules with.
func ProbeBPFLoop() error {
	return judge("probing helper bpf_loop for tracepoint programs",
		features.HaveProgramHelper(ebpf.TracePoint, asm.FnLoop))
}

// ProbeFindVMA checks that tracepoint programs may call bpf_find_vma
// (Linux 5.17), which the default mprotect object reads the old
// protection of a mapping with.
func ProbeFindVMA() error {
	return judge("probing helper bpf_find_vma for tracepoint programs",
		features.HaveProgramHelper(ebpf.TracePoint, asm.FnFindVma))
}

// ProbeTaskStorage creates a task-local storage map (Linux 5.11), which
// the default mprotect and open objects keep in-flight syscalls in, and
// checks that tracepoint programs may call bpf_get_current_task_btf
// (5.11), which they find the task with.
func ProbeTaskStorage() error {
	if err := features.HaveMapType(ebpf.TaskStorage); err != nil {
		return judge("creating a task storage map", err)
	}
	return judge("probing helper bpf_get_current_task_btf for tracepoint programs",
		features.HaveProgramHelper(ebpf.TracePoint, asm.FnGetCurrentTaskBtf))
}

// ProbeAtomics loads a program that compares and swaps a stack slot
// (BPF_ATOMIC BPF_CMPXCHG, Linux 5.12), the instruction the sensors claim
// their per-CPU scratch slots with where programs can be preempted.
func ProbeAtomics() error {
	spec := &ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL", Instructions: atomicsProbe()}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return judge("loading a program with BPF_CMPXCHG", err)
	}
	return prog.Close()
}

// bpfCmpXchg is the immediate of BPF_ATOMIC's compare-and-exchange:
// BPF_CMPXCHG (0xf0) | BPF_FETCH (0x01), include/uapi/linux/bpf.h.
const bpfCmpXchg = 0xf1

// atomicsProbe is ProbeAtomics' program. Its exchange is written with
// its immediate spelled out: cilium/ebpf's asm.CmpXchg.Mem marshals an
// immediate of 0, which is BPF_ADD, the BPF_XADD every kernel since 4.x
// accepts, so a probe built with it passes on 5.10 and proves nothing.
func atomicsProbe() asm.Instructions {
	xchg := asm.CmpXchg.Mem(asm.RFP, asm.R1, asm.DWord, -8)
	xchg.Constant = bpfCmpXchg
	return asm.Instructions{
		asm.Mov.Imm(asm.R0, 0),
		asm.StoreMem(asm.RFP, -8, asm.R0, asm.DWord),
		asm.Mov.Imm(asm.R1, 1),
		xchg,
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	}
}
