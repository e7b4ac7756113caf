package doctor

// Mechanisms of the connect, accept and listen ladders, shared with the
// network sensor's rungs (bpf/net.c).
const (
	NetConnectSyscalls = "tracepoint/syscalls/sys_{enter,exit}_connect"
	NetAcceptSyscalls  = "tracepoint/syscalls/sys_{enter,exit}_{accept,accept4}"
	NetListenSyscalls  = "tracepoint/syscalls/sys_{enter,exit}_listen"
	CompatNet          = "compat: bounded loops"
)

// netLadder is the ladder of one network event type: fentry and fexit on
// the system call's function in net/socket.c (fn), which spares every
// other system call the slow path that syscall tracepoints put them on;
// then the system calls' tracepoints, and their compat build for kernels
// without bpf_loop (the in-kernel rule matcher, bpf/include/rules.h,
// walks with it). The fentry rung has no compat twin: every kernel with
// bpf_loop (5.17) has what it needs, and before that the tracepoints do.
func netLadder(name, mechanism, fn string, syscalls ...string) Ladder {
	return Ladder{Name: name, Kind: Event, IfNone: "no " + name + " events", Rungs: append([]Rung{
		{NetFentry(fn), []string{"fentry", "fexit", "bpf-loop"}, []Point{{BTFFunc, fn, false}}},
	}, withCompat(CompatNet,
		Rung{mechanism, []string{"tracepoint", "syscall-tracepoints", "bpf-loop"}, syscallPoints("both", syscalls...)},
	)...)}
}

// NetFentry names the fentry rung of a network event type on function fn.
func NetFentry(fn string) string { return "fentry+fexit/" + fn }

// netDenyLadder is the deny ladder of one network event type: its BPF
// LSM hook (security_socket_connect, _accept, _listen in
// security/security.c), called before the kernel acts.
func netDenyLadder(name, hook string) Ladder {
	return Ladder{Name: "deny " + name, Kind: Action, IfNone: "policy with deny " + name + " refused", Rungs: []Rung{
		{"lsm/" + hook, []string{"bpf-lsm", "lsm-bpf-active"}, []Point{{BTFFunc, "bpf_lsm_" + hook, false}}},
	}}
}

var (
	denyConnectLadder = netDenyLadder("connect", "socket_connect")
	denyAcceptLadder  = netDenyLadder("accept", "socket_accept")
	denyListenLadder  = netDenyLadder("listen", "socket_listen")
)

var (
	connectLadder = netLadder("connect", NetConnectSyscalls, "__sys_connect", "connect")
	acceptLadder  = netLadder("accept", NetAcceptSyscalls, "__sys_accept4", "accept", "accept4")
	listenLadder  = netLadder("listen", NetListenSyscalls, "__sys_listen", "listen")
)
