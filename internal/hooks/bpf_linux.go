package hooks

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// collectBPF lists every loaded BPF program (BPF_PROG_GET_NEXT_ID, needs
// CAP_SYS_ADMIN) and adds the attach point of every link to its program.
// It returns nil when it cannot list programs at all.
func collectBPF() (map[uint32]*BPFProgram, []string) {
	progs := map[uint32]*BPFProgram{}
	var problems []string
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("listing BPF programs: %v", err))
			if id == 0 {
				return nil, problems
			}
			break
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // unloaded since listed
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("opening BPF program %d: %v", id, err))
			continue
		}
		info, err := p.Info()
		p.Close()
		if err != nil {
			problems = append(problems, fmt.Sprintf("reading BPF program %d: %v", id, err))
			continue
		}
		progs[uint32(id)] = &BPFProgram{ID: uint32(id), Type: info.Type.String(), Name: info.Name, Tag: info.Tag}
	}
	var it link.Iterator
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil {
			problems = append(problems, fmt.Sprintf("reading BPF link %d: %v", it.ID, err))
			continue
		}
		if p := progs[uint32(info.Program)]; p != nil {
			p.Links = append(p.Links, uint32(info.ID))
			p.Attach = append(p.Attach, describeLink(info))
		}
	}
	if err := it.Err(); err != nil && len(progs) > 0 {
		problems = append(problems, fmt.Sprintf("listing BPF links: %v", err))
	}
	return progs, problems
}

// describeLink says where a link attaches its program, as far as the
// kernel's link info tells.
func describeLink(info *link.Info) string {
	switch info.Type {
	case link.TracingType:
		if t := info.Tracing(); t != nil {
			return describeTracing(ebpf.AttachType(t.AttachType), btfName(t.TargetObjectId, btf.TypeID(t.TargetBtfId)))
		}
	case link.RawTracepointType:
		if r := info.RawTracepoint(); r != nil {
			return "raw_tracepoint " + r.Name
		}
	case link.PerfEventType:
		if pe := info.PerfEvent(); pe != nil {
			return describePerfEvent(pe)
		}
	case link.CgroupType:
		if c := info.Cgroup(); c != nil {
			return fmt.Sprintf("cgroup %s cgroup-id %d", ebpf.AttachType(c.AttachType), c.CgroupId)
		}
	case link.XDPType:
		if x := info.XDP(); x != nil {
			return "xdp " + ifname(x.Ifindex)
		}
	case link.TCXType:
		if x := info.TCX(); x != nil {
			return fmt.Sprintf("tcx %s %s", ebpf.AttachType(x.AttachType), ifname(x.Ifindex))
		}
	case link.NetkitType:
		if x := info.Netkit(); x != nil {
			return fmt.Sprintf("netkit %s %s", ebpf.AttachType(x.AttachType), ifname(x.Ifindex))
		}
	case link.NetNsType:
		if x := info.NetNs(); x != nil {
			return fmt.Sprintf("netns %s netns-ino %d", ebpf.AttachType(x.AttachType), x.NetnsInode)
		}
	case link.NetfilterType:
		if x := info.Netfilter(); x != nil {
			return fmt.Sprintf("netfilter pf %d hook %d priority %d", x.ProtocolFamily, x.Hook, x.Priority)
		}
	case link.KprobeMultiType:
		if x := info.KprobeMulti(); x != nil {
			return fmt.Sprintf("kprobe_multi %d functions", x.Count)
		}
	case link.UprobeMultiType:
		if x := info.UprobeMulti(); x != nil {
			return "uprobe_multi " + x.File
		}
	case link.IterType:
		return "iter"
	case link.StructOpsType:
		return "struct_ops"
	}
	return fmt.Sprintf("link type %d", info.Type)
}

// describeTracing names a tracing link's attach point the way section
// names do: "fentry kernel_clone", "lsm bprm_check_security".
func describeTracing(at ebpf.AttachType, target string) string {
	switch at {
	case ebpf.AttachTraceFEntry:
		return "fentry " + target
	case ebpf.AttachTraceFExit:
		return "fexit " + target
	case ebpf.AttachModifyReturn:
		return "fmod_ret " + target
	case ebpf.AttachLSMMac:
		return "lsm " + strings.TrimPrefix(target, "bpf_lsm_")
	case ebpf.AttachLSMCgroup:
		return "lsm_cgroup " + strings.TrimPrefix(target, "bpf_lsm_")
	case ebpf.AttachTraceRawTp:
		return "tp_btf " + strings.TrimPrefix(target, "btf_trace_")
	}
	return fmt.Sprintf("%s %s", at, target)
}

func describePerfEvent(pe *link.PerfEventInfo) string {
	switch pe.Type {
	case link.PerfEventTracepoint:
		if t := pe.Tracepoint(); t != nil {
			return "tracepoint " + t.Tracepoint
		}
	case link.PerfEventKprobe, link.PerfEventKretprobe:
		if k := pe.Kprobe(); k != nil {
			kind := "kprobe"
			if pe.Type == link.PerfEventKretprobe {
				kind = "kretprobe"
			}
			return fmt.Sprintf("%s %s+%d", kind, k.Function, k.Offset)
		}
	case link.PerfEventUprobe, link.PerfEventUretprobe:
		if u := pe.Uprobe(); u != nil {
			return fmt.Sprintf("uprobe %s+%#x", u.File, u.Offset)
		}
	case link.PerfEventEvent:
		if e := pe.Event(); e != nil {
			return fmt.Sprintf("perf_event type %d config %#x", e.Type, e.Config)
		}
	}
	return fmt.Sprintf("perf_event kind %d", pe.Type)
}

// btfName resolves a type in the BTF object obj (vmlinux or a module).
func btfName(obj uint32, id btf.TypeID) string {
	fallback := fmt.Sprintf("btf-object %d type %d", obj, id)
	h, err := btf.NewHandleFromID(btf.ID(obj))
	if err != nil {
		return fallback
	}
	defer h.Close()
	hi, err := h.Info()
	if err != nil {
		return fallback
	}
	base, err := btf.LoadKernelSpec()
	if err != nil {
		return fallback
	}
	spec := base
	if !hi.IsVmlinux() {
		if spec, err = h.Spec(base); err != nil {
			return fallback
		}
	}
	t, err := spec.TypeByID(id)
	if err != nil {
		return fallback
	}
	return t.TypeName()
}

func ifname(index uint32) string {
	if ifc, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifc.Name
	}
	return fmt.Sprintf("ifindex %d", index)
}
