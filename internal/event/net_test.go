package event

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestNetJSONRoundTrip: each network event's JSON names its family, type
// and protocol, writes each address in its family's form, and decodes
// back to the same event.
func TestNetJSONRoundTrip(t *testing.T) {
	v4 := func(s string, port uint16) *Addr {
		return &Addr{Family: AFInet, IP: netip.MustParseAddr(s), Port: port}
	}
	cases := []struct {
		desc string
		ev   Event
		want []string
	}{
		{"tcp connect", Event{Type: TypeConnect, Net: &Net{Syscall: "connect", Fd: 3, Family: AFInet, SockType: 1, Protocol: 6,
			Local: v4("127.0.0.1", 40000), Remote: v4("127.0.0.1", 8080)}},
			[]string{`"family":"inet"`, `"sock_type":"stream"`, `"protocol":"tcp"`, `"local":{"family":"inet","addr":"127.0.0.1","port":40000}`,
				`"remote":{"family":"inet","addr":"127.0.0.1","port":8080}`, `"result":0`}},
		{"refused ipv6 connect", Event{Type: TypeConnect, Net: &Net{Syscall: "connect", Fd: 4, Family: AFInet6, SockType: 1, Protocol: 6,
			Remote: &Addr{Family: AFInet6, IP: netip.MustParseAddr("::1"), Port: 9}, Result: -111}},
			[]string{`"remote":{"family":"inet6","addr":"::1","port":9}`, `"error":"ECONNREFUSED"`}},
		{"accept", Event{Type: TypeAccept, Net: &Net{Syscall: "accept4", Fd: 3, Family: AFInet, SockType: 1, Protocol: 6,
			Local: v4("127.0.0.1", 8080), Remote: v4("127.0.0.1", 40000), Listener: v4("127.0.0.1", 8080), Result: 5}},
			[]string{`"listener":{"family":"inet","addr":"127.0.0.1","port":8080}`, `"result":5`}},
		{"unix listen", Event{Type: TypeListen, Net: &Net{Syscall: "listen", Fd: 3, Family: AFUnix, SockType: 1,
			Local: &Addr{Family: AFUnix, Path: "/run/x.sock"}, Backlog: 128}},
			[]string{`"local":{"family":"unix","path":"/run/x.sock"}`, `"backlog":128`}},
		{"odd family, unreadable", Event{Type: TypeConnect, Net: &Net{Syscall: "connect", Fd: 3, Family: AFInet, SockType: 2, Protocol: 17,
			Remote: &Addr{Family: 5}, Result: -97}},
			[]string{`"remote":{"family":"af_5","family_raw":5}`, `"protocol":"udp"`}},
		{"no socket", Event{Type: TypeConnect, Net: &Net{Syscall: "connect", Fd: 99, RemoteUnresolved: true, SockUnresolved: true, Result: -9}},
			[]string{`"remote_unresolved":true`, `"sock_unresolved":true`, `"error":"EBADF"`}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			b := c.ev.AppendJSON(nil)
			for _, w := range c.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("JSON lacks %s:\n%s", w, b)
				}
			}
			if !json.Valid(b) {
				t.Fatalf("invalid JSON: %s", b)
			}
			var back Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Net, c.ev.Net) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back.Net, c.ev.Net)
			}
		})
	}
}
