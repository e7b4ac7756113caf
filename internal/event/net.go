package event

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The network event types (opt-in: monitor.DefaultTypes leaves them out).
const (
	TypeConnect Type = "connect"
	TypeAccept  Type = "accept"
	TypeListen  Type = "listen"
)

// Net is a connect, accept, accept4 or listen call (Event.Type says
// which of the three event types), or an io_uring request that does the
// same: the socket and the addresses it has after the call.
type Net struct {
	Syscall string // "connect", "accept", "accept4" or "listen"
	// Fd is the descriptor the call was made on: for accept, the
	// listening socket's (the new one is Result).
	Fd int32
	// Family, SockType and Protocol describe the socket (AF_*, SOCK_*,
	// IPPROTO_*); 0 when no socket could be read (SockUnresolved).
	Family   uint16
	SockType uint16
	Protocol uint16
	// Local is the socket's own address after the call, nil when it has
	// none (an unbound client). Remote is the peer: for connect, the
	// address the caller passed. Listener is, for accept, the listening
	// socket's address.
	Local, Remote, Listener *Addr
	Backlog                 int32 // listen's backlog
	Result                  int64 // connect, listen: 0 or -errno; accept: the new fd or -errno
	// Via is "" for a system call, ViaIOUring for an io_uring request.
	Via string
	// RemoteUnresolved: the caller's address could not be read; Remote,
	// when set, comes from the socket instead.
	RemoteUnresolved bool
	// SockUnresolved: no socket could be read behind the descriptor.
	SockUnresolved bool
}

// Addr is a socket address. Family is its own AF_* number, reported for
// every family; the other fields are set for the families vigil decodes:
// IP and Port for AF_INET and AF_INET6, Path for AF_UNIX (an abstract
// name starts with "@"; "" is an unnamed socket).
type Addr struct {
	Family uint16
	IP     netip.Addr
	Port   uint16
	Path   string
}

// Address families and socket types vigil names (include/linux/socket.h,
// include/linux/net.h).
const (
	AFUnix  = 1
	AFInet  = 2
	AFInet6 = 10
)

var familyNames = map[uint16]string{1: "unix", 2: "inet", 10: "inet6", 16: "netlink", 17: "packet", 40: "vsock", 44: "xdp"}

// FamilyName returns the name of address family f ("inet", "unix"), or
// "af_N" for a family vigil does not name.
func FamilyName(f uint16) string {
	if n, ok := familyNames[f]; ok {
		return n
	}
	return "af_" + strconv.Itoa(int(f))
}

var sockTypeNames = map[uint16]string{1: "stream", 2: "dgram", 3: "raw", 4: "rdm", 5: "seqpacket", 6: "dccp", 10: "packet"}

// SockTypeName returns the name of socket type t ("stream", "dgram"), or
// "type_N".
func SockTypeName(t uint16) string {
	if n, ok := sockTypeNames[t]; ok {
		return n
	}
	return "type_" + strconv.Itoa(int(t))
}

var protocolNames = map[uint16]string{1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp", 136: "udplite", 262: "mptcp"}

// ProtocolName returns the name of the socket's protocol for family
// ("tcp", "udp"): "" for protocol 0 of AF_UNIX, "proto_N" for a number
// vigil does not name. Protocol numbers are IPPROTO_* only for inet
// families; others give "proto_N".
func ProtocolName(family, p uint16) string {
	if family == AFInet || family == AFInet6 {
		if n, ok := protocolNames[p]; ok {
			return n
		}
	}
	if p == 0 {
		return ""
	}
	return "proto_" + strconv.Itoa(int(p))
}

// String returns the address as "1.2.3.4:80", "[::1]:80", the unix path,
// or "af_N" for a family vigil does not decode.
func (a *Addr) String() string {
	switch a.Family {
	case AFInet, AFInet6:
		if !a.IP.IsValid() {
			return FamilyName(a.Family)
		}
		return netip.AddrPortFrom(a.IP, a.Port).String()
	case AFUnix:
		if a.Path == "" {
			return "unix:(unnamed)"
		}
		return "unix:" + a.Path
	}
	return FamilyName(a.Family)
}

func (a *Addr) appendJSON(dst []byte) []byte {
	w := objWriter{b: dst}
	w.open()
	w.str("family", FamilyName(a.Family))
	switch a.Family {
	case AFInet, AFInet6:
		if a.IP.IsValid() {
			w.str("addr", a.IP.String())
		}
		w.uint("port", uint64(a.Port))
	case AFUnix:
		w.str("path", a.Path)
	default:
		w.uint("family_raw", uint64(a.Family))
	}
	w.close()
	return w.b
}

func (n *Net) appendJSON(w *objWriter) {
	w.str("syscall", n.Syscall)
	w.int("fd", int64(n.Fd))
	if !n.SockUnresolved || n.Family != 0 {
		w.str("family", FamilyName(n.Family))
		w.uint("family_raw", uint64(n.Family))
		w.str("sock_type", SockTypeName(n.SockType))
		if p := ProtocolName(n.Family, n.Protocol); p != "" {
			w.str("protocol", p)
		}
		w.uint("protocol_raw", uint64(n.Protocol))
	}
	addr := func(k string, a *Addr) {
		if a != nil {
			w.key(k)
			w.b = a.appendJSON(w.b)
		}
	}
	addr("local", n.Local)
	addr("remote", n.Remote)
	addr("listener", n.Listener)
	if n.Syscall == "listen" {
		w.int("backlog", int64(n.Backlog))
	}
	if n.Via != "" {
		w.str("via", n.Via)
	}
	if n.RemoteUnresolved {
		w.bool("remote_unresolved", true)
	}
	if n.SockUnresolved {
		w.bool("sock_unresolved", true)
	}
	w.result(n.Result)
}

// decodeNet reads a network event's members written by appendJSON.
func decodeNet(d *decoder) (*Net, error) {
	n := &Net{Syscall: d.str("syscall"), Fd: int32(d.i64("fd")), Family: uint16(d.u32("family_raw")),
		SockType: sockTypeFromName(d.str("sock_type")), Protocol: uint16(d.u32("protocol_raw")),
		Backlog: int32(d.i64("backlog")), Result: d.i64("result"), Via: d.str("via"),
		RemoteUnresolved: d.bool("remote_unresolved"), SockUnresolved: d.bool("sock_unresolved")}
	for k, dst := range map[string]**Addr{"local": &n.Local, "remote": &n.Remote, "listener": &n.Listener} {
		raw, ok := d.m[k]
		if !ok {
			continue
		}
		a, err := decodeAddr(raw)
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", k, err)
		}
		*dst = a
	}
	return n, d.err
}

func decodeAddr(raw json.RawMessage) (*Addr, error) {
	d, err := newDecoder(raw)
	if err != nil {
		return nil, err
	}
	a := &Addr{Family: familyFromName(d.str("family")), Port: uint16(d.u32("port")), Path: d.str("path")}
	if _, ok := d.m["family_raw"]; ok {
		a.Family = uint16(d.u32("family_raw"))
	}
	if s := d.str("addr"); s != "" {
		if a.IP, err = netip.ParseAddr(s); err != nil {
			return nil, fmt.Errorf("decoding addr: %w", err)
		}
	}
	return a, d.err
}

func familyFromName(s string) uint16 {
	for f, n := range familyNames {
		if n == s {
			return f
		}
	}
	v, _ := strconv.Atoi(strings.TrimPrefix(s, "af_"))
	return uint16(v)
}

func sockTypeFromName(s string) uint16 {
	for t, n := range sockTypeNames {
		if n == s {
			return t
		}
	}
	v, _ := strconv.Atoi(strings.TrimPrefix(s, "type_"))
	return uint16(v)
}
