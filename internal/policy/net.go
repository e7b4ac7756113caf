package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/event"
)

// netEvents are the network event types; remoteEvents those with a peer.
var (
	netEvents    = []event.Type{event.TypeConnect, event.TypeAccept, event.TypeListen}
	remoteEvents = []event.Type{event.TypeConnect, event.TypeAccept}
)

// NetMatch holds the matchers of connect, accept and listen events,
// evaluated in userspace (log, and deny through fanotify's peers: none).
// Each list matches when any element does.
type NetMatch struct {
	// RemotePort lists the peer's ports (connect: the port connected to).
	RemotePort []uint16
	// RemoteAddr lists prefixes (CIDR, or one address) holding the
	// peer's IP address. An IPv4-mapped IPv6 peer matches IPv4 prefixes.
	RemoteAddr []netip.Prefix
	// LocalPort lists the socket's own ports (accept, listen: the
	// service's port).
	LocalPort []uint16
	// Family lists socket address families (AF_* numbers).
	Family []uint16
}

// portsInto parses a list of port numbers, 1 to 65535.
func portsInto(dst func(*Match) *[]uint16) func(*parser, *yaml.Node, string, *Match) bool {
	return func(p *parser, n *yaml.Node, f string, m *Match) bool {
		var ok bool
		*dst(m), ok = listOf(p, n, f, func(e *yaml.Node, f string) (uint16, bool) {
			v, ok := p.Int(e, f)
			if !ok {
				return 0, false
			}
			if v < 1 || v > 65535 {
				p.Errorf(e, f, "port %d out of range (1 to 65535)", v)
				return 0, false
			}
			return uint16(v), true
		})
		return ok
	}
}

// parsePrefix reads "10.0.0.0/8", "::1/128" or a single address.
func parsePrefix(s string) (netip.Prefix, string) {
	if pf, err := netip.ParsePrefix(s); err == nil {
		if pf != pf.Masked() {
			return pf, fmt.Sprintf("%q has bits set past its prefix length (write %q)", s, pf.Masked().String())
		}
		return pf, ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Sprintf("%q is neither an IP address nor a CIDR prefix (such as 10.0.0.0/8 or fd00::/8)", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), ""
}

// parseFamily reads "inet", "inet6", "unix" or a number (0 to 45).
func parseFamily(s string) (uint16, string) {
	for _, f := range []uint16{event.AFUnix, event.AFInet, event.AFInet6} {
		if event.FamilyName(f) == s {
			return f, ""
		}
	}
	if v, err := strconv.Atoi(s); err == nil && v >= 0 && v < 46 {
		return uint16(v), ""
	}
	return 0, fmt.Sprintf("unknown address family %q (want inet, inet6, unix or an AF_* number below 46)", s)
}

// setNames adds the names of the network matchers written.
func (n *NetMatch) setNames(add func(bool, string)) {
	add(n.RemotePort != nil, "remote_port")
	add(n.RemoteAddr != nil, "remote_addr")
	add(n.LocalPort != nil, "local_port")
	add(n.Family != nil, "family")
}

// matches checks the network matchers against ev's Net part; an event
// without one (another type) matches only when none is set.
func (n *NetMatch) matches(ev *event.Event) bool {
	if n.RemotePort == nil && n.RemoteAddr == nil && n.LocalPort == nil && n.Family == nil {
		return true
	}
	x := ev.Net
	if x == nil {
		return false
	}
	if n.Family != nil && !slices.Contains(n.Family, x.Family) {
		return false
	}
	if n.LocalPort != nil && (x.Local == nil || !slices.Contains(n.LocalPort, x.Local.Port)) {
		return false
	}
	if n.RemotePort != nil && (x.Remote == nil || !slices.Contains(n.RemotePort, x.Remote.Port)) {
		return false
	}
	if n.RemoteAddr != nil {
		if x.Remote == nil || !x.Remote.IP.IsValid() {
			return false
		}
		ip := x.Remote.IP
		if !slices.ContainsFunc(n.RemoteAddr, func(p netip.Prefix) bool { return p.Contains(ip) || p.Contains(ip.Unmap()) }) {
			return false
		}
	}
	return true
}
