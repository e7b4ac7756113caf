package sensor

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// bpfSensor reports BPF program loads and attachments by other processes
// (bpf/bpfprog.c).
type bpfSensor struct {
	rec bpfobj.BpfprogBpfEvent
}

var bpfRung = rung{mechanism: doctor.BPFSyscalls, kind: "tracepoint", progs: []string{"bpf_enter", "bpf_exit"}}

var bpfRungs = []rung{bpfRung, compat(bpfRung, doctor.CompatLoops, bpfobj.LoadBpfprogCompat)}

func (s *bpfSensor) name() string                            { return "bpf" }
func (s *bpfSensor) types() []event.Type                     { return []event.Type{event.TypeBPF} }
func (s *bpfSensor) rungs() []rung                           { return bpfRungs }
func (s *bpfSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadBpfprog() }

const (
	bpfxProg       = uint32(bpfobj.BpfprogBpfXflagsBPFX_PROG)
	bpfxAttachName = uint32(bpfobj.BpfprogBpfXflagsBPFX_ATTACH_NAME)
	bpfCmdLoad     = 5  // BPF_PROG_LOAD
	bpfCmdRawTP    = 17 // BPF_RAW_TRACEPOINT_OPEN
)

func (s *bpfSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	if kind != kindBPF {
		return fmt.Errorf("bpf sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	cmd := event.BPFCmdName(r.Cmd)
	if cmd == "" {
		return fmt.Errorf("bpf sensor: unexpected command %d", r.Cmd)
	}
	b := &event.BPF{Cmd: cmd, ProgName: cstring(r.ProgName[:]), ProgID: r.ProgId,
		AttachBTFID: r.AttachBtfId, TargetFd: r.TargetFd, LinkID: r.LinkId, Result: r.Result}
	// A load names its type; an attach knows it once the kernel found the
	// program (BPFX_PROG).
	if r.Cmd == bpfCmdLoad || r.Xflags&bpfxProg != 0 {
		b.ProgTypeRaw = r.ProgType
		b.ProgType = event.ProgTypeName(r.ProgType)
	}
	// A load's expected attach type is 0 (a valid type) for most
	// programs: it is reported only where the program names a target.
	if (r.Cmd == bpfCmdLoad && (r.AttachType != 0 || r.AttachBtfId != 0)) || (r.Cmd != bpfCmdLoad && r.Cmd != bpfCmdRawTP) {
		b.HasAttachType = true
		b.AttachTypeRaw = r.AttachType
		b.AttachType = event.AttachTypeName(r.AttachType)
	}
	if r.Xflags&bpfxAttachName != 0 {
		b.AttachName = cstring(r.AttachName[:])
	}
	ev.BPF = b
	return nil
}
