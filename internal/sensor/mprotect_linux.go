package sensor

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// mprotectSensor reports memory-permission changes (bpf/mprotect.c):
// mprotect, pkey_mprotect, and mmap calls that ask for PROT_EXEC. Its
// programs also stop a file under an exec rule being mapped executable.
type mprotectSensor struct {
	rec bpfobj.MprotectMprotectEvent
}

var mprotectTracepoints = rung{mechanism: "tracepoint/syscalls/sys_{enter,exit}_{mprotect,pkey_mprotect,mmap}", kind: "tracepoint",
	progs: []string{"mprotect_enter", "pkey_mprotect_enter", "mmap_enter", "mprotect_exit"},
	also:  map[string][]string{"mprotect_exit": {"tracepoint/syscalls/sys_exit_pkey_mprotect", "tracepoint/syscalls/sys_exit_mmap"}}}

// mprotectFentry: the same programs' code run from the system calls'
// entry points, off the slow path a syscall tracepoint puts every system
// call on.
var mprotectFentry = rung{mechanism: doctor.MprotectFentry, kind: "fentry",
	progs: []string{"mprotect_fentry", "mprotect_fexit", "pkey_mprotect_fentry", "pkey_mprotect_fexit", "mmap_fentry", "mmap_fexit"}}

var mprotectRungs = []rung{
	mprotectFentry,
	compat(mprotectFentry, doctor.CompatMprotect, bpfobj.LoadMprotectCompat),
	mprotectTracepoints,
	compat(mprotectTracepoints, doctor.CompatMprotect, bpfobj.LoadMprotectCompat),
}

func (s *mprotectSensor) name() string                            { return "mprotect" }
func (s *mprotectSensor) types() []event.Type                     { return []event.Type{event.TypeMprotect} }
func (s *mprotectSensor) rungs() []rung                           { return mprotectRungs }
func (s *mprotectSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadMprotect() }

func (s *mprotectSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	if kind != kindMprotect {
		return fmt.Errorf("mprotect sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	m := &event.Mprotect{Syscall: "mprotect", Addr: r.Addr, Len: r.Len, Prot: r.Prot,
		OldProt: r.OldProt, HasOld: r.Flags&mprotHasOld != 0, Result: r.Result}
	switch {
	case r.Flags&mprotMmap != 0:
		m.Syscall, m.MapFlags, m.Fd = "mmap", r.MapFlags, r.Fd
	case r.Flags&mprotPkey != 0:
		m.Syscall = "pkey_mprotect"
	}
	if r.Flags&mprotFile != 0 {
		m.HasFile, m.Dev, m.Ino = true, uint64(r.Dev), r.Ino
	}
	m.FilesUnchecked = r.Flags&mprotUnchecked != 0
	m.WX = event.IsWX(m.Prot, m.OldProt, m.HasOld)
	ev.Mprotect = m
	return nil
}

// vars sets mprot_all, which turns off the kernel's filter of the
// default events (Config.MprotectAll).
func (s *mprotectSensor) vars(cfg *Config) map[string]any {
	all := uint32(0)
	if cfg.MprotectAll {
		all = 1
	}
	return map[string]any{"mprot_all": all}
}

func (s *mprotectSensor) configure(*ebpf.Collection, *Config) error { return nil }
