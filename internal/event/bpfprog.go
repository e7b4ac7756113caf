package event

import "github.com/cilium/ebpf"

// TypeBPF is a BPF program loaded or attached by another process (BPF).
const TypeBPF Type = "bpf"

// BPF is a bpf(2) call that loads or attaches a program: the live form
// of what vigil hooks lists.
type BPF struct {
	// Cmd is the command: "BPF_PROG_LOAD", "BPF_PROG_ATTACH",
	// "BPF_RAW_TRACEPOINT_OPEN" or "BPF_LINK_CREATE".
	Cmd string
	// ProgType is the program's type, named as vigil hooks names it
	// (cilium/ebpf's names: "SocketFilter", "Kprobe", "Tracing", "LSM");
	// ProgTypeRaw is the number (enum bpf_prog_type). For attach
	// commands it is known only once the call succeeded.
	ProgType    string
	ProgTypeRaw uint32
	// ProgName is the name the loader gave the program (at most 15
	// bytes).
	ProgName string
	// ProgID is the kernel's id of the program loaded or attached (what
	// bpftool prog and vigil hooks show); 0 when the call failed.
	ProgID uint32
	// AttachType is the attach type (enum bpf_attach_type, named as in
	// the uapi: "BPF_TRACE_FENTRY", "BPF_CGROUP_INET_INGRESS"): the
	// expected attach type of a load, the attach type of an attach or a
	// link. HasAttachType is false where it does not apply (a load that
	// names none, a raw tracepoint).
	AttachType    string
	AttachTypeRaw uint32
	HasAttachType bool
	// AttachName is where the program attaches, where known: the raw
	// tracepoint's name, or the kernel function of a tracing or LSM
	// program ("security_file_open", "bpf_lsm_file_open").
	AttachName string
	// AttachBTFID is a load's BTF id of its attach target; 0 for none.
	AttachBTFID uint32
	// TargetFd is an attach's or a link's target descriptor (a cgroup, a
	// network namespace; an interface index for XDP); -1 otherwise.
	TargetFd int32
	// LinkID is the id of the link created (BPF_LINK_CREATE,
	// BPF_RAW_TRACEPOINT_OPEN); 0 for none.
	LinkID uint32
	Result int64 // a descriptor, 0, or -errno
}

// BPF commands that the bpf sensor reports (enum bpf_cmd).
var bpfCmds = map[uint32]string{5: "BPF_PROG_LOAD", 8: "BPF_PROG_ATTACH", 17: "BPF_RAW_TRACEPOINT_OPEN", 28: "BPF_LINK_CREATE"}

// BPFCmdName returns the name of bpf(2) command cmd among those vigil
// reports, or "" for another.
func BPFCmdName(cmd uint32) string { return bpfCmds[cmd] }

// BPFCmdNames lists the commands vigil reports, by number.
func BPFCmdNames() []string {
	return []string{bpfCmds[5], bpfCmds[8], bpfCmds[17], bpfCmds[28]}
}

// ProgTypeName names a BPF program type as vigil hooks does
// (cilium/ebpf's ProgramType names).
func ProgTypeName(t uint32) string { return ebpf.ProgramType(t).String() }

// ParseProgType returns the program type named name (ProgTypeName's
// names), and false for a name it does not know.
func ParseProgType(name string) (uint32, bool) {
	for t := uint32(1); t < 64; t++ {
		if n := ProgTypeName(t); n == name {
			return t, true
		}
	}
	return 0, false
}

// AttachTypeName names an attach type as the uapi does
// ("BPF_TRACE_FENTRY"), or as "attach type N" for one it does not know.
func AttachTypeName(t uint32) string {
	if n, ok := attachTypes[t]; ok {
		return n
	}
	return "attach type " + itoa(int64(t))
}

// attachTypes is enum bpf_attach_type, include/uapi/linux/bpf.h.
var attachTypes = map[uint32]string{
	0:  "BPF_CGROUP_INET_INGRESS",
	1:  "BPF_CGROUP_INET_EGRESS",
	2:  "BPF_CGROUP_INET_SOCK_CREATE",
	3:  "BPF_CGROUP_SOCK_OPS",
	4:  "BPF_SK_SKB_STREAM_PARSER",
	5:  "BPF_SK_SKB_STREAM_VERDICT",
	6:  "BPF_CGROUP_DEVICE",
	7:  "BPF_SK_MSG_VERDICT",
	8:  "BPF_CGROUP_INET4_BIND",
	9:  "BPF_CGROUP_INET6_BIND",
	10: "BPF_CGROUP_INET4_CONNECT",
	11: "BPF_CGROUP_INET6_CONNECT",
	12: "BPF_CGROUP_INET4_POST_BIND",
	13: "BPF_CGROUP_INET6_POST_BIND",
	14: "BPF_CGROUP_UDP4_SENDMSG",
	15: "BPF_CGROUP_UDP6_SENDMSG",
	16: "BPF_LIRC_MODE2",
	17: "BPF_FLOW_DISSECTOR",
	18: "BPF_CGROUP_SYSCTL",
	19: "BPF_CGROUP_UDP4_RECVMSG",
	20: "BPF_CGROUP_UDP6_RECVMSG",
	21: "BPF_CGROUP_GETSOCKOPT",
	22: "BPF_CGROUP_SETSOCKOPT",
	23: "BPF_TRACE_RAW_TP",
	24: "BPF_TRACE_FENTRY",
	25: "BPF_TRACE_FEXIT",
	26: "BPF_MODIFY_RETURN",
	27: "BPF_LSM_MAC",
	28: "BPF_TRACE_ITER",
	29: "BPF_CGROUP_INET4_GETPEERNAME",
	30: "BPF_CGROUP_INET6_GETPEERNAME",
	31: "BPF_CGROUP_INET4_GETSOCKNAME",
	32: "BPF_CGROUP_INET6_GETSOCKNAME",
	33: "BPF_XDP_DEVMAP",
	34: "BPF_CGROUP_INET_SOCK_RELEASE",
	35: "BPF_XDP_CPUMAP",
	36: "BPF_SK_LOOKUP",
	37: "BPF_XDP",
	38: "BPF_SK_SKB_VERDICT",
	39: "BPF_SK_REUSEPORT_SELECT",
	40: "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE",
	41: "BPF_PERF_EVENT",
	42: "BPF_TRACE_KPROBE_MULTI",
	43: "BPF_LSM_CGROUP",
	44: "BPF_STRUCT_OPS",
	45: "BPF_NETFILTER",
	46: "BPF_TCX_INGRESS",
	47: "BPF_TCX_EGRESS",
	48: "BPF_TRACE_UPROBE_MULTI",
	49: "BPF_CGROUP_UNIX_CONNECT",
	50: "BPF_CGROUP_UNIX_SENDMSG",
	51: "BPF_CGROUP_UNIX_RECVMSG",
	52: "BPF_CGROUP_UNIX_GETPEERNAME",
	53: "BPF_CGROUP_UNIX_GETSOCKNAME",
	54: "BPF_NETKIT_PRIMARY",
	55: "BPF_NETKIT_PEER",
	56: "BPF_TRACE_KPROBE_SESSION",
	57: "BPF_TRACE_UPROBE_SESSION",
}

// appendJSON writes a bpf event's members.
func (b *BPF) appendJSON(w *objWriter) {
	w.str("cmd", b.Cmd)
	if b.ProgType != "" {
		w.str("prog_type", b.ProgType)
		w.uint("prog_type_raw", uint64(b.ProgTypeRaw))
	}
	w.str("prog_name", b.ProgName)
	if b.ProgID != 0 {
		w.uint("prog_id", uint64(b.ProgID))
	}
	if b.HasAttachType {
		w.str("attach_type", b.AttachType)
		w.uint("attach_type_raw", uint64(b.AttachTypeRaw))
	}
	if b.AttachName != "" {
		w.str("attach_name", b.AttachName)
	}
	if b.AttachBTFID != 0 {
		w.uint("attach_btf_id", uint64(b.AttachBTFID))
	}
	if b.TargetFd >= 0 {
		w.int("target_fd", int64(b.TargetFd))
	}
	if b.LinkID != 0 {
		w.uint("link_id", uint64(b.LinkID))
	}
	w.result(b.Result)
}

// decodeBPF reads a bpf event's members.
func decodeBPF(d *decoder) *BPF {
	b := &BPF{Cmd: d.str("cmd"), ProgType: d.str("prog_type"), ProgTypeRaw: d.u32("prog_type_raw"),
		ProgName: d.str("prog_name"), ProgID: d.u32("prog_id"), AttachType: d.str("attach_type"),
		AttachTypeRaw: d.u32("attach_type_raw"), AttachName: d.str("attach_name"),
		AttachBTFID: d.u32("attach_btf_id"), TargetFd: -1, LinkID: d.u32("link_id"), Result: d.i64("result")}
	_, b.HasAttachType = d.m["attach_type"]
	if _, ok := d.m["target_fd"]; ok {
		b.TargetFd = int32(d.i64("target_fd"))
	}
	return b
}
