package output

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// netDetails writes a connect, accept or listen event's details:
//
//	connect inet/stream/tcp 127.0.0.1:41234 -> 127.0.0.1:8080 = 0
//	accept inet/stream/tcp 127.0.0.1:8080 <- 127.0.0.1:41234 on 127.0.0.1:8080 = 4
//	listen unix/stream unix:/run/x.sock backlog=128 = 0
func netDetails(b *strings.Builder, n *event.Net) {
	b.WriteString(n.Syscall)
	if n.Via != "" {
		fmt.Fprintf(b, " via=%s", n.Via)
	}
	if n.Family != 0 || !n.SockUnresolved {
		fmt.Fprintf(b, " %s/%s", event.FamilyName(n.Family), event.SockTypeName(n.SockType))
		if p := event.ProtocolName(n.Family, n.Protocol); p != "" {
			fmt.Fprintf(b, "/%s", p)
		}
	}
	addr := func(a *event.Addr) string {
		if a == nil {
			return "?"
		}
		return q(a.String())
	}
	switch n.Syscall {
	case "connect":
		if n.Local != nil {
			fmt.Fprintf(b, " %s", addr(n.Local))
		}
		fmt.Fprintf(b, " -> %s", addr(n.Remote))
	case "listen":
		fmt.Fprintf(b, " %s backlog=%d", addr(n.Local), n.Backlog)
	default:
		if n.Local != nil || n.Remote != nil {
			fmt.Fprintf(b, " %s <- %s", addr(n.Local), addr(n.Remote))
		}
		if n.Listener != nil {
			fmt.Fprintf(b, " on %s", addr(n.Listener))
		}
	}
	if n.RemoteUnresolved {
		b.WriteString(" REMOTE_UNRESOLVED")
	}
	if n.SockUnresolved {
		b.WriteString(" SOCK_UNRESOLVED")
	}
	b.WriteString(result(n.Result))
}
