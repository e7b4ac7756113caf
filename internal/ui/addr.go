package ui

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// ErrExposed is returned by ListenAddr for an address other hosts could
// reach when exposure was not allowed.
var ErrExposed = errors.New("not a loopback address: the view has no authentication (allow it with --ui-expose)")

// ListenAddr returns the host:port to listen on for addr. A port alone
// ("9465", ":9465") means loopback (127.0.0.1). Any host that is not a
// loopback IP or "localhost" is refused with ErrExposed unless expose is
// set: like the metrics endpoint, the view has no authentication, so
// reaching it from elsewhere must be asked for (and put behind a proxy
// that authenticates, see docs/operations.md).
func ListenAddr(addr string, expose bool) (string, error) {
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("ui address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if !expose && !loopback(host) {
		return "", fmt.Errorf("ui address %q: %w", addr, ErrExposed)
	}
	return net.JoinHostPort(host, port), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
