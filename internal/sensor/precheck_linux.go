package sensor

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// precheck refuses a rung cheaply, before its object is loaded, when a
// probe already shows the kernel cannot take it: a tracepoint missing
// from tracefs, or a kind of program the kernel refuses outright.
func precheck(spec *ebpf.CollectionSpec, r rung) error {
	for _, p := range r.progs {
		if err := precheckProg(spec.Programs[p]); err != nil {
			return err
		}
	}
	for _, sec := range r.sections(spec) {
		group, name, err := tracepointName(sec)
		if err != nil {
			continue // not a tracepoint
		}
		if _, err := os.Stat(fmt.Sprintf("%s/events/%s/%s", tracefsPath, group, name)); err != nil {
			return fmt.Errorf("tracepoint %s/%s does not exist in this kernel", group, name)
		}
	}
	return nil
}

// precheckProg refuses fentry/fexit programs when the fentry probe fails.
func precheckProg(ps *ebpf.ProgramSpec) error {
	if ps == nil {
		return errors.New("program not in object")
	}
	if ps.Type == ebpf.Tracing && (ps.AttachType == ebpf.AttachTraceFEntry || ps.AttachType == ebpf.AttachTraceFExit) {
		return probeFentry()
	}
	return nil
}

var fentryOnce = sync.OnceValue(func() error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceFEntry,
		AttachTo:   "do_exit",
		License:    "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("the kernel refuses fentry/fexit programs (EPERM loading fentry/do_exit): %w", ErrRefused)
		}
		return fmt.Errorf("probing fentry/do_exit: %w", err)
	}
	prog.Close()
	return nil
})

// probeFentry reports whether this kernel loads fentry programs, by
// loading the smallest one once.
func probeFentry() error { return fentryOnce() }
