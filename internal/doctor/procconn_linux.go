package doctor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Proc connector ABI (include/uapi/linux/connector.h, cn_proc.h).
const (
	cnIdxProc         = 1 // CN_IDX_PROC
	cnValProc         = 1 // CN_VAL_PROC
	procCnMcastListen = 1 // PROC_CN_MCAST_LISTEN
	procCnMcastIgnore = 2 // PROC_CN_MCAST_IGNORE
	procEventNone     = 0 // PROC_EVENT_NONE, used for acks
	nlmsgHdrLen       = 16
	cnMsgLen          = 20
)

// ProbeProcConnector subscribes to the proc connector (netlink
// NETLINK_CONNECTOR, CONFIG_PROC_EVENTS) and waits for the kernel's
// acknowledgement, whose error field says whether the subscription was
// accepted (it needs CAP_NET_ADMIN), then unsubscribes. vigil's process
// table can fall back to it when no BPF process sensor runs.
func ProbeProcConnector() error {
	s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return judge("opening a NETLINK_CONNECTOR socket", err)
	}
	defer unix.Close(s)
	if err := unix.Bind(s, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		return judge("binding to the proc connector group", err)
	}
	tv := unix.NsecToTimeval(int64(2 * time.Second))
	if err := unix.SetsockoptTimeval(s, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("setting receive timeout: %w", err)
	}
	seq, ack := rand.Uint32(), rand.Uint32()>>1
	if err := unix.Sendto(s, cnProcMsg(seq, ack, procCnMcastListen), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return judge("subscribing to the proc connector", err)
	}
	defer unix.Sendto(s, cnProcMsg(seq+1, ack, procCnMcastIgnore), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	buf := make([]byte, 4096)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		n, _, err := unix.Recvfrom(s, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("reading proc connector: %w", err)
		}
		if errno, ok := parseCnProcAck(buf[:n], ack+1); ok {
			if errno != 0 {
				return judge("subscribing to the proc connector", syscall.Errno(errno))
			}
			return nil
		}
	}
	return errors.New("subscribing to the proc connector: no acknowledgement within 2s")
}

// cnProcMsg builds a netlink message carrying a proc connector control op.
func cnProcMsg(seq, ack, op uint32) []byte {
	ne := binary.NativeEndian
	b := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.NLMSG_DONE)
	ne.PutUint32(b[8:], seq)
	ne.PutUint32(b[16:], cnIdxProc)
	ne.PutUint32(b[20:], cnValProc)
	ne.PutUint32(b[24:], seq)
	ne.PutUint32(b[28:], ack)
	ne.PutUint16(b[32:], 4)
	ne.PutUint32(b[36:], op)
	return b
}

// parseCnProcAck returns the error of a PROC_EVENT_NONE acknowledgement
// whose ack field is ack (the kernel answers a request's ack+1; it
// overwrites seq with its own counter), and false for any other message,
// such as other processes' events or other listeners' acks.
func parseCnProcAck(b []byte, ack uint32) (uint32, bool) {
	ne := binary.NativeEndian
	const evOff = nlmsgHdrLen + cnMsgLen // struct proc_event
	if len(b) < evOff+20 {
		return 0, false
	}
	if ne.Uint32(b[16:]) != cnIdxProc || ne.Uint32(b[28:]) != ack {
		return 0, false
	}
	if ne.Uint32(b[evOff:]) != procEventNone {
		return 0, false
	}
	return ne.Uint32(b[evOff+16:]), true
}
