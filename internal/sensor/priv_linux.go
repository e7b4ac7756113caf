package sensor

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// privSensor reports changes of credentials, ptrace of other processes
// and entries into namespaces (bpf/priv.c).
type privSensor struct {
	cred bpfobj.PrivCredEvent
	pt   bpfobj.PrivPtraceEvent
	ns   bpfobj.PrivNamespaceEvent
}

// credCalls are the calls of the cred rung, and privSyscalls the names
// of every call the sensor reports, by x86_64 number.
var (
	credCalls    = []string{"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups", "capset", "execve", "execveat"}
	privSyscalls = map[uint32]string{
		59: "execve", 101: "ptrace", 157: "prctl", 105: "setuid", 106: "setgid", 113: "setreuid", 114: "setregid",
		116: "setgroups", 117: "setresuid", 119: "setresgid", 122: "setfsuid", 123: "setfsgid", 126: "capset",
		272: "unshare", 308: "setns", 311: "process_vm_writev", 322: "execveat",
	}
)

// credArity is how many of its arguments each cred call has (execve's
// are pointers into the old image: none kept).
var credArity = map[string]int{
	"setuid": 1, "setgid": 1, "setfsuid": 1, "setfsgid": 1,
	"setreuid": 2, "setregid": 2, "setgroups": 2, "capset": 2,
	"setresuid": 3, "setresgid": 3,
}

// nsNrFork is namespace_event.nr for a fork seen at sched_process_fork.
const nsNrFork = 0xffffffff

// syscallSections returns tracepoint/syscalls/sys_<which>_<call> for calls.
func syscallSections(which string, calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = "tracepoint/syscalls/sys_" + which + "_" + c
	}
	return out
}

var privRungs = func() []rung {
	rs := []rung{
		{mechanism: doctor.CredCommit, kind: "fentry", progs: []string{"cred_commit"}},
		{mechanism: doctor.CredSyscalls, kind: "tracepoint", progs: []string{"cred_enter", "cred_exit"},
			also: map[string][]string{
				"cred_enter": syscallSections("enter", credCalls[1:]),
				"cred_exit":  syscallSections("exit", credCalls[1:]),
			}},
		{mechanism: doctor.PtraceSyscalls, kind: "tracepoint", progs: []string{"ptrace_enter", "vm_writev_enter", "ptrace_exit"},
			also: map[string][]string{"ptrace_exit": {"tracepoint/syscalls/sys_exit_process_vm_writev"}}},
		{mechanism: doctor.NamespaceFentry, kind: "fentry",
			progs: []string{"unshare_fentry", "unshare_fexit", "setns_fentry", "setns_fexit", "ns_fork"}},
		{mechanism: doctor.NamespaceSyscalls, kind: "tracepoint", progs: []string{"unshare_enter", "setns_enter", "ns_exit", "ns_fork"},
			also: map[string][]string{"ns_exit": {"tracepoint/syscalls/sys_exit_setns"}}},
	}
	var out []rung
	for _, r := range rs {
		out = append(out, r, compat(r, doctor.CompatLoops, bpfobj.LoadPrivCompat))
	}
	return out
}()

func (s *privSensor) name() string { return "priv" }
func (s *privSensor) types() []event.Type {
	return []event.Type{event.TypeCred, event.TypePtrace, event.TypeNamespace}
}
func (s *privSensor) rungs() []rung                           { return privRungs }
func (s *privSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadPriv() }

func (s *privSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	switch kind {
	case kindCred:
		load(&s.cred, raw)
		r := &s.cred
		ev.Cred = &event.Cred{Syscall: privSyscalls[r.Nr], Args: r.Args, Old: creds(&r.Old), New: creds(&r.New),
			Groups: r.Flags&uint32(bpfobj.PrivCredFlagsCRED_GROUPS) != 0, Result: r.Result}
		// The record holds three arguments whatever the call's arity.
		for i := credArity[ev.Cred.Syscall]; i < len(ev.Cred.Args); i++ {
			ev.Cred.Args[i] = 0
		}
	case kindPtrace:
		load(&s.pt, raw)
		r := &s.pt
		p := &event.Ptrace{Syscall: privSyscalls[r.Nr], RequestRaw: r.Request, Target: r.Target, Addr: r.Addr, Result: r.Result}
		if p.Syscall == "ptrace" {
			p.Request = event.PtraceRequestName(r.Request)
		}
		ev.Ptrace = p
	case kindNamespace:
		load(&s.ns, raw)
		r := &s.ns
		n := &event.Namespace{Syscall: privSyscalls[r.Nr], Flags: r.Flags, Fd: r.Fd, ChildPid: r.Child, Result: r.Result}
		if r.Nr == nsNrFork {
			n.Syscall = "clone"
		}
		n.Old, n.New = r.OldNs, r.NewNs
		ev.Namespace = n
	default:
		return fmt.Errorf("priv sensor: unexpected record kind %d", kind)
	}
	return nil
}

func creds(c *bpfobj.PrivCredIds) event.Creds {
	return event.Creds{Uid: c.Uid, Gid: c.Gid, Suid: c.Suid, Sgid: c.Sgid, Euid: c.Euid, Egid: c.Egid,
		Fsuid: c.Fsuid, Fsgid: c.Fsgid, CapInheritable: c.CapInheritable, CapPermitted: c.CapPermitted,
		CapEffective: c.CapEffective, CapBounding: c.CapBset, CapAmbient: c.CapAmbient,
		Groups: c.Ngroups, Securebits: c.Securebits}
}

// enrichPriv adds what the process table knows of a ptrace's target.
func (m *Manager) enrichPriv(ev *event.Event) {
	if ev.Ptrace == nil {
		return
	}
	if e, ok := m.table.Get(ev.Ptrace.Target); ok {
		ev.Ptrace.TargetExe = e.Exe
	}
}
