package doctor

// Mechanisms of the connect, accept and listen ladders, shared with the
// network sensor's rungs (bpf/net.c).
const (
	NetConnectSyscalls = "tracepoint/syscalls/sys_{enter,exit}_connect"
	NetAcceptSyscalls  = "tracepoint/syscalls/sys_{enter,exit}_{accept,accept4}"
	NetListenSyscalls  = "tracepoint/syscalls/sys_{enter,exit}_listen"
	CompatNet          = "compat: bounded loops"
)

// netLadder is the ladder of one network event type: the system calls'
// tracepoints (opt-in types, so they cost only when selected), and their
// compat build for kernels without bpf_loop (the in-kernel rule matcher,
// bpf/include/rules.h, walks with it).
func netLadder(name, mechanism string, syscalls ...string) Ladder {
	return Ladder{Name: name, Kind: Event, IfNone: "no " + name + " events", Rungs: withCompat(CompatNet,
		Rung{mechanism, []string{"tracepoint", "syscall-tracepoints", "bpf-loop"}, syscallPoints("both", syscalls...)},
	)}
}

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
	connectLadder = netLadder("connect", NetConnectSyscalls, "connect")
	acceptLadder  = netLadder("accept", NetAcceptSyscalls, "accept", "accept4")
	listenLadder  = netLadder("listen", NetListenSyscalls, "listen")
)
