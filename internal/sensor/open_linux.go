package sensor

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// openSensor reports open, openat and openat2 (bpf/open.c), filtered in
// the kernel by OpenFilter.
type openSensor struct {
	rec bpfobj.OpenOpenEvent
}

var openTracepoints = rung{mechanism: "tracepoint/syscalls/sys_{enter,exit}_{open,openat,openat2}", kind: "tracepoint",
	progs: []string{"open_enter", "openat_enter", "openat2_enter", "open_exit"},
	also:  map[string][]string{"open_exit": {"tracepoint/syscalls/sys_exit_open", "tracepoint/syscalls/sys_exit_openat2"}}}

var openRungs = []rung{
	openTracepoints,
	compat(openTracepoints, doctor.CompatOpen, bpfobj.LoadOpenCompat),
}

func (s *openSensor) name() string                            { return "open" }
func (s *openSensor) types() []event.Type                     { return []event.Type{event.TypeOpen} }
func (s *openSensor) rungs() []rung                           { return openRungs }
func (s *openSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadOpen() }

var openSyscalls = map[bpfobj.ProcessOpenSyscall]string{
	bpfobj.ProcessOpenSyscallOPEN_OPEN:    "open",
	bpfobj.ProcessOpenSyscallOPEN_OPENAT:  "openat",
	bpfobj.ProcessOpenSyscallOPEN_OPENAT2: "openat2",
}

func (s *openSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	if kind != kindOpen {
		return fmt.Errorf("open sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	o := &event.Open{Syscall: openSyscalls[bpfobj.ProcessOpenSyscall(r.Syscall)], Path: cstring(slice(r.Data[:], 0, r.FilenameLen)),
		Dirfd: r.Dirfd, Flags: r.Flags, Mode: r.Mode, Result: r.Result}
	if r.PathLen > 0 {
		o.ResolvedPath = joinPath(slice(r.Data[:], r.FilenameLen, r.PathLen), r.FileFlags)
	}
	ev.Open = o
	return nil
}
