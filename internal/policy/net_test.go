package policy

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestNetMatch(t *testing.T) {
	set := mustLoad(t, "testdata/net/good.yaml")
	ip := func(s string, port uint16) *event.Addr {
		a := netip.MustParseAddr(s)
		f := uint16(event.AFInet)
		if a.Is6() {
			f = event.AFInet6
		}
		return &event.Addr{Family: f, IP: a, Port: port}
	}
	ev := func(typ event.Type, n *event.Net) *event.Event {
		if n.Family == 0 {
			n.Family = event.AFInet
			if n.Remote != nil {
				n.Family = n.Remote.Family
			}
		}
		return &event.Event{Type: typ, Process: event.Process{Comm: "x"}, Net: n}
	}
	cases := []struct {
		desc string
		ev   *event.Event
		want string
	}{
		{"connect to 4444", ev(event.TypeConnect, &event.Net{Remote: ip("198.51.100.1", 4444)}), "reverse-shell-port"},
		{"connect to 443 elsewhere", ev(event.TypeConnect, &event.Net{Remote: ip("198.51.100.1", 443)}), ""},
		{"connect into 10/8", ev(event.TypeConnect, &event.Net{Remote: ip("10.1.2.3", 443)}), "leaves-private-range"},
		{"connect to 11.0.0.1", ev(event.TypeConnect, &event.Net{Remote: ip("11.0.0.1", 443)}), ""},
		{"a single address", ev(event.TypeConnect, &event.Net{Remote: ip("192.0.2.7", 80)}), "leaves-private-range"},
		{"IPv6 in fd00::/8", ev(event.TypeConnect, &event.Net{Remote: ip("fd12::1", 80)}), "leaves-private-range"},
		{"v4-mapped matches the IPv4 prefix", ev(event.TypeConnect, &event.Net{Remote: ip("::ffff:10.9.9.9", 80)}), "leaves-private-range"},
		{"connect with no remote", ev(event.TypeConnect, &event.Net{RemoteUnresolved: true}), ""},
		{"listen on 31337", ev(event.TypeListen, &event.Net{Local: ip("0.0.0.0", 31337)}), "new-listener"},
		{"listen on 80", ev(event.TypeListen, &event.Net{Local: ip("0.0.0.0", 80)}), ""},
		{"unix connect by curl", &event.Event{Type: event.TypeConnect, Process: event.Process{Comm: "curl"},
			Net: &event.Net{Family: event.AFUnix, Remote: &event.Addr{Family: event.AFUnix, Path: "/run/docker.sock"}}}, "unix-docker"},
		{"accept on 22 from the range", ev(event.TypeAccept, &event.Net{Local: ip("10.0.0.2", 22), Remote: ip("203.0.113.9", 50000)}), "accept-ssh-from"},
		{"accept on 22 from elsewhere", ev(event.TypeAccept, &event.Net{Local: ip("10.0.0.2", 22), Remote: ip("198.51.100.9", 50000)}), ""},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if got := names(set.Match(c.ev, nil)); got != c.want {
				t.Errorf("Match = %q, want %q", got, c.want)
			}
		})
	}
}

// TestNetKillNeedsProcessMatchers: kill and deny rules on network events
// are evaluated in the kernel, which matches the process (comm, uid,
// parent_comm), not the addresses: a port is refused with its position.
func TestNetKillNeedsProcessMatchers(t *testing.T) {
	set := mustLoad(t, "testdata/net/good.yaml")
	if len(set.ByEvent(event.TypeConnect)) != 3 {
		t.Fatalf("connect rules: %d", len(set.ByEvent(event.TypeConnect)))
	}
	k, err := (&Set{Rules: []*Rule{{Name: "k", Event: event.TypeConnect, Action: ActionKill, Match: Match{Comm: []string{"nc"}}}}}).
		Kernel(map[*Rule]Mechanism{}, nil)
	if err != nil || len(k.Rules) != 0 {
		t.Fatalf("Kernel without a plan: %v %d", err, len(k.Rules))
	}
	r := &Rule{Name: "k", Event: event.TypeConnect, Action: ActionKill, Match: Match{Comm: []string{"nc"}, Net: NetMatch{RemotePort: []uint16{80}}}}
	_, err = (&Set{Rules: []*Rule{r}}).Kernel(map[*Rule]Mechanism{r: MechKill}, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot evaluate remote_port for connect events") {
		t.Errorf("kill rule with remote_port: %v", err)
	}
	r.Match.Net = NetMatch{}
	k, err = (&Set{Rules: []*Rule{r}}).Kernel(map[*Rule]Mechanism{r: MechKill}, nil)
	if err != nil || k.Sets[event.TypeConnect] == nil || k.Sets[event.TypeConnect].UseComm != 1 || k.Comms["nc"] != 1 {
		t.Errorf("kill rule on comm: %v %+v", err, k)
	}
}
