package sensor

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
)

// moduleSensor reports init_module and finit_module attempts
// (bpf/module.c).
type moduleSensor struct {
	rec bpfobj.ModuleModuleEvent
}

var moduleRungs = withModuleCompat([]rung{
	{mechanism: doctor.ModuleFentry, kind: "fentry",
		progs:    []string{"init_module_fentry", "finit_module_fentry", "init_module_fexit", "finit_module_fexit"},
		optional: []string{"module_fentry"}},
	{mechanism: "tracepoint/syscalls/sys_{enter,exit}_{init,finit}_module", kind: "tracepoint",
		progs:    []string{"init_module_enter", "finit_module_enter", "module_exit"},
		also:     map[string][]string{"module_exit": {"tracepoint/syscalls/sys_exit_finit_module"}},
		optional: []string{"module_fentry"}},
	{mechanism: "tp_btf/sys_enter (filtered by syscall number; no modules: ENOSYS)", kind: "raw_syscall",
		progs: []string{"module_nomod_enter"},
		// Only where both calls are sys_ni_syscall: CONFIG_MODULES off,
		// which is exactly when /proc/modules does not exist.
		precond: func() error {
			if proc.Host.HasModules() {
				return errors.New("this kernel has modules, so a module call's result needs sys_exit")
			}
			return nil
		}},
	{mechanism: "tp_btf/sys_enter+sys_exit (filtered by syscall number)", kind: "raw_syscall",
		progs:    []string{"module_raw_enter", "module_raw_exit"},
		optional: []string{"module_fentry"}},
})

// withModuleCompat adds after each of the module rungs its compat twin.
func withModuleCompat(rungs []rung) []rung {
	var out []rung
	for _, r := range rungs {
		out = append(out, r, compat(r, doctor.CompatLoops, bpfobj.LoadModuleCompat))
	}
	return out
}

func (s *moduleSensor) name() string                            { return "module" }
func (s *moduleSensor) types() []event.Type                     { return []event.Type{event.TypeModule} }
func (s *moduleSensor) rungs() []rung                           { return moduleRungs }
func (s *moduleSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadModule() }

var moduleSyscalls = map[bpfobj.ProcessModuleSyscall]string{
	bpfobj.ProcessModuleSyscallMOD_INIT:   "init_module",
	bpfobj.ProcessModuleSyscallMOD_FINIT:  "finit_module",
	bpfobj.ProcessModuleSyscallMOD_KERNEL: "init_module",
}

func (s *moduleSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	if kind != kindModule {
		return fmt.Errorf("module sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	m := &event.Module{Syscall: moduleSyscalls[bpfobj.ProcessModuleSyscall(r.Syscall)], Name: cstring(r.Name[:]), Fd: r.Fd, Result: r.Result}
	if r.PathLen > 0 {
		m.Path = joinPath(slice(r.Data[:], 0, r.PathLen), r.FileFlags)
	}
	if m.Name == "" && m.Path != "" {
		m.Name = modinfoName(m.Path)
	}
	ev.Module = m
	return nil
}

// modinfoName reads the module name from the .modinfo section of a .ko
// file ("name=..."), for kernels that refuse the load before naming it.
// It returns "" when the file is not a module or cannot be read.
func modinfoName(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil || sec.Size > 1<<20 {
		return ""
	}
	data, err := sec.Data()
	if err != nil {
		return ""
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if name, ok := bytes.CutPrefix(kv, []byte("name=")); ok {
			return string(name)
		}
	}
	return ""
}
