package monitor

import (
	"fmt"
	"net"
	"os"
)

// notifyReady sends READY=1 to systemd when NOTIFY_SOCKET is set
// (sd_notify(3)); without it, it does nothing.
func notifyReady() error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("connecting to NOTIFY_SOCKET: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("READY=1")); err != nil {
		return fmt.Errorf("writing READY=1: %w", err)
	}
	return nil
}
