package seccomp

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// asm assembles classic BPF with named jump targets, as gVisor's
// pkg/bpf ProgramBuilder does: jumps name a label and the offsets are
// computed once the whole program is known, so nobody counts instructions
// by hand.
type asm struct {
	insns  []bpf.Instruction
	fixups []fixup
	labels map[string]int
}

// fixup records a conditional jump whose targets are labels.
type fixup struct {
	at     int
	jt, jf string // "" means the next instruction
}

func newAsm() *asm { return &asm{labels: map[string]int{}} }

// emit appends a non-jump instruction.
func (a *asm) emit(in bpf.Instruction) { a.insns = append(a.insns, in) }

// jump appends a conditional jump comparing the accumulator with val,
// going to label jt when the condition holds and to label jf otherwise.
func (a *asm) jump(cond bpf.JumpTest, val uint32, jt, jf string) {
	a.fixups = append(a.fixups, fixup{at: len(a.insns), jt: jt, jf: jf})
	a.insns = append(a.insns, bpf.JumpIf{Cond: cond, Val: val})
}

// label names the next instruction.
func (a *asm) label(name string) { a.labels[name] = len(a.insns) }

// assemble resolves the labels and returns the program in the kernel's
// sock_filter form.
func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	for _, f := range a.fixups {
		j := a.insns[f.at].(bpf.JumpIf)
		var err error
		if j.SkipTrue, err = a.skip(f.at, f.jt); err != nil {
			return nil, err
		}
		if j.SkipFalse, err = a.skip(f.at, f.jf); err != nil {
			return nil, err
		}
		a.insns[f.at] = j
	}
	raw, err := bpf.Assemble(a.insns)
	if err != nil {
		return nil, fmt.Errorf("assembling filter: %w", err)
	}
	return raw, nil
}

// skip returns how many instructions a jump at index from skips to reach
// label to. Classic BPF only jumps forward, at most 255 instructions.
func (a *asm) skip(from int, to string) (uint8, error) {
	if to == "" {
		return 0, nil
	}
	at, ok := a.labels[to]
	if !ok {
		return 0, fmt.Errorf("assembling filter: undefined label %q", to)
	}
	d := at - from - 1
	if d < 0 || d > 255 {
		return 0, fmt.Errorf("assembling filter: jump to %q out of range (%d)", to, d)
	}
	return uint8(d), nil
}
