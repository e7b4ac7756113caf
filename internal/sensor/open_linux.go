package sensor

import (
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// openSensor reports open, openat and openat2, and io_uring's
// IORING_OP_OPENAT and IORING_OP_OPENAT2 (bpf/open.c), filtered in the
// kernel by OpenFilter.
type openSensor struct {
	rec bpfobj.OpenOpenEvent
}

// openSyscallProgs are the programs of the system calls, in every rung.
var openSyscallProgs = []string{"open_enter", "openat_enter", "openat2_enter", "open_exit"}

var openExits = map[string][]string{"open_exit": {"tracepoint/syscalls/sys_exit_open", "tracepoint/syscalls/sys_exit_openat2"}}

var openTracepoints = rung{mechanism: doctor.OpenSyscalls, kind: "tracepoint", progs: openSyscallProgs, also: openExits}

// openFentryProgs are the programs of the system calls' entry points
// (x86-64's, where open(2) exists).
var openFentryProgs = []string{"open_fentry", "open_fexit", "openat_fentry", "openat_fexit", "openat2_fentry", "openat2_fexit"}

// openFentry: the system calls through fentry/fexit.
var openFentry = rung{mechanism: doctor.OpenFentry, kind: "fentry", progs: openFentryProgs}

// openRungs: the system calls through fentry/fexit, then through their
// tracepoints; each first with io_uring's opens (two tracepoint
// generations), then alone, then in its compat build.
var openRungs = []rung{
	{mechanism: doctor.OpenFentry + " + " + doctor.OpenIOUringReq, kind: "fentry",
		progs: append(slices.Clone(openFentryProgs), "iou_submit_req", "iou_req_failed", "iou_complete")},
	{mechanism: doctor.OpenFentry + " + " + doctor.OpenIOUringSqe, kind: "fentry",
		progs: append(slices.Clone(openFentryProgs), "iou_submit_sqe", "iou_req_failed", "iou_complete")},
	openFentry,
	compat(openFentry, doctor.CompatOpen, bpfobj.LoadOpenCompat),
	{mechanism: doctor.OpenSyscalls + " + " + doctor.OpenIOUringReq, kind: "tracepoint",
		progs: append(slices.Clone(openSyscallProgs), "iou_submit_req", "iou_req_failed", "iou_complete"), also: openExits},
	{mechanism: doctor.OpenSyscalls + " + " + doctor.OpenIOUringSqe, kind: "tracepoint",
		progs: append(slices.Clone(openSyscallProgs), "iou_submit_sqe", "iou_req_failed", "iou_complete"), also: openExits},
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

// Flags of struct open_event (enum open_xflags).
const (
	openIOUring    = uint32(bpfobj.OpenOpenXflagsOPEN_IO_URING)
	openFixedFile  = uint32(bpfobj.OpenOpenXflagsOPEN_FIXED_FILE)
	openUnresolved = uint32(bpfobj.OpenOpenXflagsOPEN_UNRESOLVED)
	openNoResult   = uint32(bpfobj.OpenOpenXflagsOPEN_NO_RESULT)
)

func (s *openSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	if kind != kindOpen {
		return fmt.Errorf("open sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	o := &event.Open{Syscall: openSyscalls[bpfobj.ProcessOpenSyscall(r.Syscall)], Path: cstring(slice(r.Data[:], 0, r.FilenameLen)),
		Dirfd: r.Dirfd, Flags: r.Flags, Mode: r.Mode, Result: r.Result,
		FixedFile:  r.Xflags&openFixedFile != 0,
		Unresolved: r.Xflags&openUnresolved != 0,
		NoResult:   r.Xflags&openNoResult != 0}
	if r.Xflags&openIOUring != 0 {
		o.Via = event.ViaIOUring
	}
	if r.PathLen > 0 {
		o.ResolvedPath = joinPath(slice(r.Data[:], r.FilenameLen, r.PathLen), r.FileFlags)
	}
	ev.Open = o
	return nil
}
