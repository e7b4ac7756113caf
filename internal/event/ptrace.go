package event

// Ptrace is a ptrace request that takes hold of or changes another
// process (traceme, attach, seize, poke*, set*regs*), or a
// process_vm_writev into another process.
type Ptrace struct {
	Syscall string // "ptrace" or "process_vm_writev"
	// Request is the ptrace request's name ("attach", "seize",
	// "traceme", "poketext", ...; see PtraceRequestName); "" for
	// process_vm_writev.
	Request    string
	RequestRaw int64  // PTRACE_* number; -1 for process_vm_writev
	Target     uint32 // the target pid as passed; traceme: the parent, which becomes the tracer
	// TargetExe is the target's executable from the process table, ""
	// when unknown (no /proc read on the hot path).
	TargetExe string
	Addr      uint64 // ptrace: the addr argument; process_vm_writev: the local iovec count
	Result    int64  // 0 (process_vm_writev: bytes written) or -errno
}

// ptraceRequests names the PTRACE_* requests vigil reports
// (include/uapi/linux/ptrace.h, arch/x86/include/uapi/asm/ptrace-abi.h).
var ptraceRequests = map[int64]string{
	0: "traceme", 4: "poketext", 5: "pokedata", 6: "pokeuser", 13: "setregs", 15: "setfpregs",
	16: "attach", 19: "setfpxregs", 0x4205: "setregset", 0x4206: "seize",
}

// PtraceRequestName returns the name of a PTRACE_* request, or its number
// as a decimal string for one vigil does not know.
func PtraceRequestName(req int64) string {
	if n, ok := ptraceRequests[req]; ok {
		return n
	}
	return itoa(req)
}

// PtraceRequests returns every request name PtraceRequestName knows.
func PtraceRequests() []string {
	out := make([]string, 0, len(ptraceRequests))
	for _, n := range ptraceRequests {
		out = append(out, n)
	}
	return out
}

func (p *Ptrace) appendJSON(w *objWriter) {
	w.str("syscall", p.Syscall)
	if p.Syscall == "ptrace" {
		w.str("request", p.Request)
	}
	w.int("request_raw", p.RequestRaw)
	w.uint("target_pid", uint64(p.Target))
	w.str("target_exe", p.TargetExe)
	w.uint("addr", p.Addr)
	w.result(p.Result)
}

func decodePtrace(d *decoder) *Ptrace {
	return &Ptrace{Syscall: d.str("syscall"), Request: d.str("request"), RequestRaw: d.i64("request_raw"),
		Target: d.u32("target_pid"), TargetExe: d.str("target_exe"), Addr: d.u64("addr"), Result: d.i64("result")}
}
