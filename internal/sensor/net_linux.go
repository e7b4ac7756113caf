package sensor

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// netSensor reports connect, accept, accept4 and listen (bpf/net.c),
// filtered in the kernel by NetFilter.
type netSensor struct {
	rec bpfobj.NetNetEvent
}

// Record kinds of the network event types.
const (
	kindConnect = uint32(bpfobj.ProcessEventTypeEV_CONNECT)
	kindAccept  = uint32(bpfobj.ProcessEventTypeEV_ACCEPT)
	kindListen  = uint32(bpfobj.ProcessEventTypeEV_LISTEN)
)

// Flags of struct net_event (enum net_xflags).
const (
	netHasLocal         = uint32(bpfobj.NetNetXflagsNET_HAS_LOCAL)
	netHasRemote        = uint32(bpfobj.NetNetXflagsNET_HAS_REMOTE)
	netHasListener      = uint32(bpfobj.NetNetXflagsNET_HAS_LISTENER)
	netRemoteUnresolved = uint32(bpfobj.NetNetXflagsNET_REMOTE_UNRESOLVED)
	netSockUnresolved   = uint32(bpfobj.NetNetXflagsNET_SOCK_UNRESOLVED)
	netIOUring          = uint32(bpfobj.NetNetXflagsNET_IO_URING)
)

// netTracepoints are the system calls' rungs, one per event type.
var netTracepoints = map[event.Type]rung{
	event.TypeConnect: {mechanism: doctor.NetConnectSyscalls, kind: "tracepoint",
		progs: []string{"connect_enter", "connect_exit"}},
	event.TypeAccept: {mechanism: doctor.NetAcceptSyscalls, kind: "tracepoint",
		progs: []string{"accept_enter", "accept4_enter", "accept_exit"},
		also:  map[string][]string{"accept_exit": {"tracepoint/syscalls/sys_exit_accept4"}}},
	event.TypeListen: {mechanism: doctor.NetListenSyscalls, kind: "tracepoint",
		progs: []string{"listen_enter", "listen_exit"}},
}

// netFentry are the fentry/fexit rungs, one per event type. io_uring's
// connects and accepts are seen by fexit on __sys_connect_file and
// do_accept where those load (optional: not on every kernel).
var netFentry = map[event.Type]rung{
	event.TypeConnect: {mechanism: doctor.NetFentry("__sys_connect"), kind: "fentry", progs: []string{"connect_fentry", "connect_fexit"},
		optional: []string{"connect_uring"}},
	event.TypeAccept: {mechanism: doctor.NetFentry("__sys_accept4"), kind: "fentry", progs: []string{"accept_fentry", "accept_fexit"},
		optional: []string{"accept_uring"}},
	event.TypeListen: {mechanism: doctor.NetFentry("__sys_listen"), kind: "fentry", progs: []string{"listen_fentry", "listen_fexit"}},
}

// netRungs holds every type's rungs; ladderFor picks a type's by name.
var netRungs = func() []rung {
	var out []rung
	for _, t := range []event.Type{event.TypeConnect, event.TypeAccept, event.TypeListen} {
		r := netTracepoints[t]
		out = append(out, netFentry[t], r, compat(r, doctor.CompatNet, bpfobj.LoadNetCompat))
	}
	return out
}()

func (s *netSensor) name() string { return "net" }
func (s *netSensor) types() []event.Type {
	return []event.Type{event.TypeConnect, event.TypeAccept, event.TypeListen}
}
func (s *netSensor) rungs() []rung                           { return netRungs }
func (s *netSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadNet() }

var netSyscalls = map[bpfobj.NetNetSyscall]string{
	bpfobj.NetNetSyscallNET_CONNECT: "connect",
	bpfobj.NetNetSyscallNET_ACCEPT:  "accept",
	bpfobj.NetNetSyscallNET_ACCEPT4: "accept4",
	bpfobj.NetNetSyscallNET_LISTEN:  "listen",
}

func (s *netSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	if kind != kindConnect && kind != kindAccept && kind != kindListen {
		return fmt.Errorf("net sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	n := &event.Net{Syscall: netSyscalls[bpfobj.NetNetSyscall(r.Syscall)], Fd: r.Fd,
		Family: uint16(r.Family), SockType: uint16(r.Type), Protocol: uint16(r.Protocol),
		Backlog: r.Backlog, Result: r.Result,
		RemoteUnresolved: r.Xflags&netRemoteUnresolved != 0,
		SockUnresolved:   r.Xflags&netSockUnresolved != 0}
	if n.Syscall == "" {
		return fmt.Errorf("net sensor: unknown call %d", r.Syscall)
	}
	if r.Xflags&netIOUring != 0 {
		n.Via = event.ViaIOUring
	}
	if r.Xflags&netHasLocal != 0 {
		n.Local = netAddr(&r.Local)
	}
	if r.Xflags&netHasRemote != 0 {
		n.Remote = netAddr(&r.Remote)
	}
	if r.Xflags&netHasListener != 0 {
		n.Listener = netAddr(&r.Listener)
	}
	ev.Net = n
	return nil
}

// netAddr decodes a struct net_addr. An IPv4-mapped IPv6 address stays
// IPv6 (the socket is AF_INET6); an abstract unix name is "@name", its
// NULs shown as "@" as ss(8) does.
func netAddr(a *bpfobj.NetNetAddr) *event.Addr {
	out := &event.Addr{Family: a.Family, Port: a.Port}
	switch a.Family {
	case event.AFInet:
		out.IP = netip.AddrFrom4([4]byte(a.Addr[:4]))
	case event.AFInet6:
		out.IP = netip.AddrFrom16(a.Addr)
	case event.AFUnix:
		p := a.Path[:min(int(a.PathLen), len(a.Path))]
		if len(p) > 0 && p[0] == 0 {
			out.Path = "@" + strings.ReplaceAll(string(p[1:]), "\x00", "@")
		} else {
			out.Path = cstring(p)
		}
	}
	return out
}

func (s *netSensor) vars(cfg *Config) map[string]any {
	on := uint32(0)
	if len(cfg.Net.Ports) > 0 {
		on = 1
	}
	return map[string]any{"filter_ports": on}
}

func (s *netSensor) configure(coll *ebpf.Collection, cfg *Config) error {
	for _, p := range cfg.Net.Ports {
		if err := coll.Maps["net_ports"].Put(p, uint8(1)); err != nil {
			return fmt.Errorf("adding port %d to the net filter: %w", p, err)
		}
	}
	return nil
}
