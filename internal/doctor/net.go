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

var (
	connectLadder = netLadder("connect", NetConnectSyscalls, "connect")
	acceptLadder  = netLadder("accept", NetAcceptSyscalls, "accept", "accept4")
	listenLadder  = netLadder("listen", NetListenSyscalls, "listen")
)
