package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/kernfs"
)

// returnZero is the body of every probe program: "return 0", which for
// each attach type used here means "do nothing, change nothing".
var returnZero = asm.Instructions{
	asm.Mov.Imm(asm.R0, 0),
	asm.Return(),
}

// load loads a do-nothing program of the given kind; what names the
// attach point in error messages ("fentry/kernel_clone").
func load(what string, spec *ebpf.ProgramSpec) (*ebpf.Program, error) {
	spec.Instructions = returnZero
	spec.License = "GPL"
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, judge("loading "+what, err)
	}
	return prog, nil
}

// loadAttach loads a do-nothing program and attaches it with attach, then
// detaches and unloads both.
func loadAttach(what string, spec *ebpf.ProgramSpec, attach func(*ebpf.Program) (link.Link, error)) error {
	prog, err := load(what, spec)
	if err != nil {
		return err
	}
	defer prog.Close()
	l, err := attach(prog)
	if err != nil {
		return judge("attaching "+what, err)
	}
	return l.Close()
}

// ProbeBTF checks that the kernel exposes its BTF
// (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF, Linux 5.4), which
// CO-RE programs, tp_btf, fentry and BPF LSM all need.
func ProbeBTF() error {
	if _, err := btf.LoadKernelSpec(); err != nil {
		return judge("loading kernel BTF", err)
	}
	return nil
}

// ProbeRingBuf creates and closes a BPF ring buffer map (Linux 5.8), the
// channel every vigil sensor reports through.
func ProbeRingBuf() error {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	if err != nil {
		return judge("creating ring buffer map", err)
	}
	return m.Close()
}

// ProbeTracepoint loads a tracepoint program and attaches it to
// sched/sched_process_fork through a perf event link. It mounts tracefs if
// needed, since tracepoint ids live there.
func ProbeTracepoint() error {
	if _, err := kernfs.Tracefs(); err != nil {
		return judge("finding tracefs", err)
	}
	return loadAttach("tracepoint/sched/sched_process_fork",
		&ebpf.ProgramSpec{Type: ebpf.TracePoint},
		func(p *ebpf.Program) (link.Link, error) {
			return link.Tracepoint("sched", "sched_process_fork", p, nil)
		})
}

// ProbeSyscallTracepoints checks that tracefs has events/syscalls, which
// exists only with CONFIG_FTRACE_SYSCALLS; vigil's module, mprotect and
// open sensors attach there.
func ProbeSyscallTracepoints() error {
	dir, err := kernfs.Tracefs()
	if err != nil {
		return judge("finding tracefs", err)
	}
	p := filepath.Join(dir, "events", "syscalls")
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return missing("finding "+p+" (CONFIG_FTRACE_SYSCALLS)", err)
		}
		return judge("reading "+p, err)
	}
	return nil
}

// ProbeRawTracepoint loads a raw tracepoint program and attaches it to
// sched_process_fork (Linux 4.17).
func ProbeRawTracepoint() error {
	return loadAttach("raw_tracepoint/sched_process_fork",
		&ebpf.ProgramSpec{Type: ebpf.RawTracepoint},
		func(p *ebpf.Program) (link.Link, error) {
			return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_fork", Program: p})
		})
}

// ProbeTPBTF loads a BTF-typed raw tracepoint program (tp_btf, Linux 5.5)
// for sched_process_fork and attaches it.
func ProbeTPBTF() error {
	return probeTracing("tp_btf/sched_process_fork", ebpf.Tracing, ebpf.AttachTraceRawTp, "sched_process_fork")
}

// ProbeFentry loads an fentry program (BPF trampoline, Linux 5.5) for
// kernel_clone and attaches it.
func ProbeFentry() error {
	return probeTracing("fentry/kernel_clone", ebpf.Tracing, ebpf.AttachTraceFEntry, "kernel_clone")
}

// ProbeFexit loads an fexit program for kernel_clone and attaches it.
func ProbeFexit() error {
	return probeTracing("fexit/kernel_clone", ebpf.Tracing, ebpf.AttachTraceFExit, "kernel_clone")
}

// ProbeFmodRet loads an fmod_ret program (Linux 5.7) for
// security_bprm_check, a function fmod_ret may attach to because of its
// security_ prefix, and attaches it. Returning 0 leaves the function's
// result alone.
func ProbeFmodRet() error {
	return probeTracing("fmod_ret/security_bprm_check", ebpf.Tracing, ebpf.AttachModifyReturn, "security_bprm_check")
}

// ProbeBPFLSM loads a BPF LSM program (Linux 5.7) for bprm_check_security
// and attaches it. Returning 0 allows every exec. Attaching succeeds only
// when "bpf" is among the active LSMs; see ProbeLSMActive.
func ProbeBPFLSM() error {
	return probeTracing("lsm/bprm_check_security", ebpf.LSM, ebpf.AttachLSMMac, "bprm_check_security")
}

func probeTracing(what string, typ ebpf.ProgramType, at ebpf.AttachType, target string) error {
	spec := &ebpf.ProgramSpec{Type: typ, AttachType: at, AttachTo: target}
	return loadAttach(what, spec, func(p *ebpf.Program) (link.Link, error) {
		if typ == ebpf.LSM {
			return link.AttachLSM(link.LSMOptions{Program: p})
		}
		return link.AttachTracing(link.TracingOptions{Program: p})
	})
}

// ProbeKprobe loads a kprobe program and attaches it to kernel_clone
// (CONFIG_KPROBES).
func ProbeKprobe() error {
	return kprobeHint(loadAttach("kprobe/kernel_clone", &ebpf.ProgramSpec{Type: ebpf.Kprobe},
		func(p *ebpf.Program) (link.Link, error) { return link.Kprobe("kernel_clone", p, nil) }))
}

// ProbeKretprobe loads a kprobe program and attaches it as a kretprobe to
// kernel_clone.
func ProbeKretprobe() error {
	return kprobeHint(loadAttach("kretprobe/kernel_clone", &ebpf.ProgramSpec{Type: ebpf.Kprobe},
		func(p *ebpf.Program) (link.Link, error) { return link.Kretprobe("kernel_clone", p, nil) }))
}

// kprobeHint adds the likely cause to a kprobe refusal when the kernel
// has neither the kprobe PMU nor tracefs kprobe_events, the two ways
// kprobes are created.
func kprobeHint(err error) error {
	var me *missingError
	if !errors.As(err, &me) {
		return err
	}
	if _, e := os.Stat("/sys/bus/event_source/devices/kprobe"); e == nil {
		return err
	}
	if dir, e := kernfs.Tracefs(); e == nil {
		if _, e := os.Stat(filepath.Join(dir, "kprobe_events")); e == nil {
			return err
		}
	}
	return &missingError{op: me.op + " (no kprobe PMU, no kprobe_events: CONFIG_KPROBES off)", err: me.err}
}

// ProbeSendSignal checks that tracepoint programs may call
// bpf_send_signal (Linux 5.3), which vigil's kill action uses.
func ProbeSendSignal() error {
	if err := features.HaveProgramHelper(ebpf.TracePoint, asm.FnSendSignal); err != nil {
		return judge("probing helper bpf_send_signal for tracepoint programs", err)
	}
	return nil
}

// kernelHas reports whether the kernel's BTF has a type of the given
// kind and name.
func kernelHas(name string, typ btf.Type) (bool, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false, fmt.Errorf("loading kernel BTF: %w", err)
	}
	switch typ.(type) {
	case *btf.Func:
		// Any function of that name: Debian's 6.1 BTF names some system
		// calls twice (kernel/sys_ni.c's weak stubs beside the real ones).
		var ts []btf.Type
		ts, err = spec.AnyTypesByName(name)
		if err == nil && !slices.ContainsFunc(ts, func(t btf.Type) bool { _, ok := t.(*btf.Func); return ok }) {
			err = btf.ErrNotFound
		}
	case *btf.Typedef:
		var t *btf.Typedef
		err = spec.TypeByName(name, &t)
	}
	if errors.Is(err, btf.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking up %s in kernel BTF: %w", name, err)
	}
	return true, nil
}

// kernelHasField reports whether vmlinux BTF has the struct member named
// "struct.member" (a member of an anonymous union counts).
func kernelHasField(name string) (bool, error) {
	st, member, ok := strings.Cut(name, ".")
	if !ok {
		return false, fmt.Errorf("field %q is not struct.member", name)
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false, fmt.Errorf("loading kernel BTF: %w", err)
	}
	var s *btf.Struct
	err = spec.TypeByName(st, &s)
	if errors.Is(err, btf.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking up struct %s in kernel BTF: %w", st, err)
	}
	return hasMember(s.Members, member), nil
}

func hasMember(ms []btf.Member, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
		if m.Name != "" {
			continue
		}
		switch t := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			if hasMember(t.Members, name) {
				return true
			}
		case *btf.Union:
			if hasMember(t.Members, name) {
				return true
			}
		}
	}
	return false
}
