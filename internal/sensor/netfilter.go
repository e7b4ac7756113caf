package sensor

import "fmt"

// NetFilter selects, in the kernel, which connect, accept and listen
// calls are reported. An empty filter reports them all.
type NetFilter struct {
	// Ports are the service ports to report: a connect's remote port,
	// an accept's or a listen's local port. Calls on sockets without
	// ports (AF_UNIX) are not reported when Ports is set.
	Ports []uint16
}

// MaxNetPorts bounds NetFilter.Ports (the net_ports map of bpf/net.c).
const MaxNetPorts = 64

func (f *NetFilter) validate() error {
	if len(f.Ports) > MaxNetPorts {
		return fmt.Errorf("net filter: %d ports, at most %d", len(f.Ports), MaxNetPorts)
	}
	for _, p := range f.Ports {
		if p == 0 {
			return fmt.Errorf("net filter: port 0 names no service")
		}
	}
	return nil
}
