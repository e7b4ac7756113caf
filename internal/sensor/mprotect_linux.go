package sensor

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// mprotectSensor reports mprotect and pkey_mprotect (bpf/mprotect.c).
type mprotectSensor struct {
	rec bpfobj.MprotectMprotectEvent
}

var mprotectTracepoints = rung{mechanism: "tracepoint/syscalls/sys_{enter,exit}_{mprotect,pkey_mprotect}", kind: "tracepoint",
	progs: []string{"mprotect_enter", "pkey_mprotect_enter", "mprotect_exit"},
	also:  map[string][]string{"mprotect_exit": {"tracepoint/syscalls/sys_exit_pkey_mprotect"}}}

var mprotectRungs = []rung{
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
	if r.Flags&mprotPkey != 0 {
		m.Syscall = "pkey_mprotect"
	}
	m.WX = event.IsWX(m.Prot, m.OldProt, m.HasOld)
	ev.Mprotect = m
	return nil
}
