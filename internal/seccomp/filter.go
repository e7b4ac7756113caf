package seccomp

import (
	"fmt"
	"slices"
	"syscall"

	"golang.org/x/net/bpf"
)

// Constants of the filter ABI (include/uapi/linux/seccomp.h,
// include/uapi/linux/audit.h), spelled out so this file builds anywhere.
const (
	auditArchX8664 = 0xc000003e // AUDIT_ARCH_X86_64
	x32SyscallBit  = 0x40000000 // __X32_SYSCALL_BIT

	retKillProcess = 0x80000000
	retErrno       = 0x00050000
	retUserNotif   = 0x7fc00000
	retAllow       = 0x7fff0000

	// Offsets in struct seccomp_data: int nr; __u32 arch; __u64
	// instruction_pointer; __u64 args[6]. The kernel loads words in host
	// order, so on x86_64 the low half of args[i] is at 16+8i.
	offNr    = 0
	offArch  = 4
	offArgLo = 16
)

// Verdict is what the filter does with one system call. The argument
// checks look at the low 32 bits of args[0] (the flags of clone and
// unshare) and come first.
type Verdict struct {
	Notify bool          // send it to the supervisor
	Errno  syscall.Errno // else fail it in the kernel with this errno (0: allow)
	// ArgDeny fails the call with EPERM when args[0] has any of these bits.
	ArgDeny uint32
	// ArgNotify sends the call to the supervisor when args[0] has any of
	// these bits.
	ArgNotify uint32
}

// Filter describes a seccomp filter for the x86_64 ABI. Calls it does not
// name run unfiltered, at native speed apart from the filter itself.
type Filter struct {
	// Syscalls maps a syscall number to its verdict.
	Syscalls map[uint32]Verdict
}

// Assemble returns the filter program. Its shape, in pseudo-code:
//
//	if arch != AUDIT_ARCH_X86_64: return ERRNO(ENOSYS)   // i386 (int 0x80), anything else
//	if nr & __X32_SYSCALL_BIT:    return ERRNO(ENOSYS)   // the x32 ABI
//	for each named syscall, ascending:
//	    if nr == N:
//	        if args[0] & ArgDeny:   return ERRNO(EPERM)
//	        if args[0] & ArgNotify: return NOTIFY
//	        return NOTIFY or ERRNO(e) or ALLOW
//	return ALLOW
//
// Another ABI therefore never reaches the kernel unfiltered: it fails as
// if the kernel had been built without it. Every block ends in a return,
// so no jump spans more than one block and the program may name every
// syscall without overflowing classic BPF's 8-bit jump offsets.
func (f *Filter) Assemble() ([]bpf.RawInstruction, error) {
	a := newAsm()
	enosys := bpf.RetConstant{Val: retErrno | uint32(syscall.ENOSYS)}

	// if arch != AUDIT_ARCH_X86_64: return ERRNO(ENOSYS)
	a.emit(bpf.LoadAbsolute{Off: offArch, Size: 4})
	a.jump(bpf.JumpEqual, auditArchX8664, "native", "")
	a.emit(enosys)
	a.label("native")
	// if nr & __X32_SYSCALL_BIT: return ERRNO(ENOSYS)
	a.emit(bpf.LoadAbsolute{Off: offNr, Size: 4})
	a.jump(bpf.JumpBitsSet, x32SyscallBit, "", "x64")
	a.emit(enosys)
	a.label("x64")

	nrs := make([]uint32, 0, len(f.Syscalls))
	for nr := range f.Syscalls {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	for _, nr := range nrs {
		v := f.Syscalls[nr]
		next := fmt.Sprintf("after.%d", nr)
		// if nr == N:
		a.jump(bpf.JumpEqual, nr, "", next)
		if v.ArgDeny != 0 || v.ArgNotify != 0 {
			a.emit(bpf.LoadAbsolute{Off: offArgLo, Size: 4})
		}
		if v.ArgDeny != 0 {
			// if args[0] & ArgDeny: return ERRNO(EPERM)
			ok := fmt.Sprintf("argok.%d", nr)
			a.jump(bpf.JumpBitsSet, v.ArgDeny, "", ok)
			a.emit(bpf.RetConstant{Val: retErrno | uint32(syscall.EPERM)})
			a.label(ok)
		}
		if v.ArgNotify != 0 && !v.Notify {
			// if args[0] & ArgNotify: return NOTIFY
			plain := fmt.Sprintf("plain.%d", nr)
			a.jump(bpf.JumpBitsSet, v.ArgNotify, "", plain)
			a.emit(bpf.RetConstant{Val: retUserNotif})
			a.label(plain)
		}
		a.emit(bpf.RetConstant{Val: v.ret()})
		a.label(next)
	}
	a.emit(bpf.RetConstant{Val: retAllow})
	return a.assemble()
}

// ret returns the SECCOMP_RET_* value of v.
func (v Verdict) ret() uint32 {
	switch {
	case v.Notify:
		return retUserNotif
	case v.Errno != 0:
		return retErrno | uint32(v.Errno)&0xffff
	}
	return retAllow
}
