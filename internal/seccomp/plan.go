package seccomp

import (
	"fmt"
	"syscall"
)

// Clone flags the plan looks at (include/uapi/linux/sched.h).
const (
	cloneNewNS   = 0x00020000 // CLONE_NEWNS
	cloneNewUser = 0x10000000 // CLONE_NEWUSER
)

// Syscall numbers the supervisor treats specially.
var (
	sysOpen    = sysnumX8664["open"]
	sysOpenat  = sysnumX8664["openat"]
	sysOpenat2 = sysnumX8664["openat2"]
	sysCreat   = sysnumX8664["creat"]
	sysExecve  = sysnumX8664["execve"]
	sysSendmsg = sysnumX8664["sendmsg"]
	sysClone   = sysnumX8664["clone"]
	sysClone3  = sysnumX8664["clone3"]
	sysUnshare = sysnumX8664["unshare"]
)

// openSyscalls are the calls path rules cover.
var openSyscalls = []uint32{sysOpen, sysOpenat, sysOpenat2, sysCreat}

// credSyscalls change the credentials the supervisor must use when it
// opens on a process's behalf; they are sent to the supervisor (which
// lets them run) so it knows to stop assuming the tree has vigil's own.
var credSyscalls = names("setuid", "setgid", "setreuid", "setregid", "setresuid",
	"setresgid", "setfsuid", "setfsgid", "setgroups", "capset", "prctl")

// viewSyscalls change what a path means to a process (root, cwd aside,
// and mount namespace); after one, absolute paths resolve under
// /proc/PID/root instead of vigil's root.
var viewSyscalls = names("chroot", "pivot_root", "setns", "unshare")

// bypassSyscalls reach files without open, openat or openat2, so path
// rules could not see them; they fail while path rules are in force.
var bypassSyscalls = map[uint32]syscall.Errno{
	sysnumX8664["io_uring_setup"]:    syscall.ENOSYS, // IORING_OP_OPENAT opens in the kernel, unfiltered
	sysnumX8664["open_by_handle_at"]: syscall.EPERM,  // opens by file handle, no path
}

func names(ns ...string) []uint32 {
	nrs := make([]uint32, len(ns))
	for i, n := range ns {
		nr, ok := sysnumX8664[n]
		if !ok {
			panic("seccomp: unknown syscall " + n)
		}
		nrs[i] = nr
	}
	return nrs
}

// Plan is what one vigil run intercepts, derived from its rules.
type Plan struct {
	Rules *Rules
	// Paths is set when opens go to the supervisor: path rules exist, or
	// the trace is on.
	Paths bool
	Trace bool
	// Filter is the seccomp filter to install.
	Filter Filter
	// syscalls holds the syscall rule for each number handled in the
	// supervisor.
	syscalls map[uint32]*SyscallRule
}

// NewPlan validates rules and derives the filter. Syscall deny rules fail
// in the kernel (no round trip) unless the trace is on, which needs to
// see them; execve is always denied in the supervisor, which must let
// vigil's own shim exec the command. sendmsg cannot be denied or logged:
// the shim needs it after the filter is in place, to pass the listener to
// the supervisor, which cannot answer before it has it (runc refuses
// notify on write for the same reason).
func NewPlan(rules *Rules, trace bool) (*Plan, error) {
	p := &Plan{Rules: rules, Trace: trace, Paths: len(rules.Paths) > 0 || trace,
		Filter: Filter{Syscalls: map[uint32]Verdict{}}, syscalls: map[uint32]*SyscallRule{}}
	v := p.Filter.Syscalls
	if p.Paths {
		for _, nr := range openSyscalls {
			v[nr] = Verdict{Notify: true}
		}
		for _, nr := range credSyscalls {
			v[nr] = Verdict{Notify: true}
		}
		for _, nr := range viewSyscalls {
			v[nr] = Verdict{Notify: true}
		}
		for nr, e := range bypassSyscalls {
			v[nr] = Verdict{Errno: e}
		}
		// A process in a new user namespace has capabilities vigil could
		// not reproduce when opening for it. clone3 hides its flags behind
		// a pointer, so it gets ENOSYS and libc falls back to clone.
		v[sysUnshare] = Verdict{Notify: true, ArgDeny: cloneNewUser}
		v[sysClone] = Verdict{ArgDeny: cloneNewUser, ArgNotify: cloneNewNS}
		v[sysClone3] = Verdict{Errno: syscall.ENOSYS}
	}
	for i := range rules.Syscalls {
		r := &rules.Syscalls[i]
		if _, dup := p.syscalls[r.Nr]; dup {
			continue // the first rule wins
		}
		if r.Nr == sysSendmsg && r.Action != ActionAllow {
			return nil, fmt.Errorf("rule %s: sendmsg cannot be denied or logged: vigil's shim needs it, unintercepted, to hand the seccomp listener to the supervisor", r.Name)
		}
		p.syscalls[r.Nr] = r
		switch {
		case r.Action == ActionAllow:
			// Nothing to do, but an open stays with the path rules.
		case r.Action == ActionDeny && !trace && r.Nr != sysExecve:
			v[r.Nr] = Verdict{Errno: r.Errno, ArgDeny: v[r.Nr].ArgDeny}
		default:
			v[r.Nr] = Verdict{Notify: true, ArgDeny: v[r.Nr].ArgDeny}
		}
	}
	return p, nil
}

// syscallRule returns the syscall rule for nr, or nil.
func (p *Plan) syscallRule(nr uint32) *SyscallRule {
	return p.syscalls[nr]
}
