package sensor

import (
	"errors"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// io_uring opcodes (include/uapi/linux/io_uring.h).
const (
	ioringOpAccept  = 13
	ioringOpConnect = 16
)

// TestNetIOUring: IORING_OP_CONNECT and IORING_OP_ACCEPT produce connect
// and accept events marked io_uring, with the addresses, where the
// fentry rung's io_uring programs load (the matrix guests).
func TestNetIOUring(t *testing.T) {
	m, c := startMonitor(t, Config{Types: netTypes})
	if !vmtest.InGuest() {
		for _, ch := range m.Choices() {
			if ch.Type == event.TypeConnect && ch.Mechanism != doctor.NetFentry("__sys_connect") {
				t.Skipf("connect uses %s: io_uring requests are seen only by the fentry rung", ch.Mechanism)
			}
		}
	}
	if _, err := doctor.Check("bpf-loop"); err != nil {
		t.Skipf("no bpf_loop (%v): the tracepoint rung, which does not see io_uring", err)
	}
	r, err := newUring()
	if err != nil {
		t.Skipf("io_uring: %v", err)
	}
	defer r.close()
	lfd, port := tcpListener(t, unix.SOCK_STREAM)
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	// struct sockaddr_in: family, port (big-endian), address.
	sa := [16]byte{unix.AF_INET, 0, byte(port >> 8), byte(port), 127, 0, 0, 1}
	res, err := r.do(uringSqe{Opcode: ioringOpConnect, Fd: int32(cfd), Addr: uint64(uintptr(unsafe.Pointer(&sa))), Off: uint64(len(sa))}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("IORING_OP_CONNECT: %d", res)
	if res != 0 {
		t.Fatalf("IORING_OP_CONNECT = %d", res)
	}
	ares, err := r.do(uringSqe{Opcode: ioringOpAccept, Fd: int32(lfd)}, false)
	if err != nil || ares < 0 {
		t.Fatalf("IORING_OP_ACCEPT = %d, %v", ares, err)
	}
	unix.Close(int(ares))
	pid := uint32(os.Getpid())
	uring := func(typ event.Type) func(*event.Event) bool {
		return func(e *event.Event) bool {
			return e.Type == typ && e.Process.Pid == pid && e.Net != nil && e.Net.Via == event.ViaIOUring
		}
	}
	ev := c.waitFor(t, 1, 5*time.Second, "the io_uring connect", uring(event.TypeConnect))[0].Net
	// io_uring tries the connect without blocking and, on EINPROGRESS,
	// waits for the socket without calling into the connect again: the
	// event has the attempt's result, as for a non-blocking connect(2).
	if !isAddr(ev.Remote, "127.0.0.1", port) || ev.Fd != -1 || (ev.Result != 0 && ev.Result != -int64(unix.EINPROGRESS)) || ev.Protocol != unix.IPPROTO_TCP {
		t.Errorf("io_uring connect: %+v remote %v", ev, ev.Remote)
	}
	ev = c.waitFor(t, 1, 5*time.Second, "the io_uring accept", uring(event.TypeAccept))[0].Net
	if !isAddr(ev.Listener, "127.0.0.1", port) || !isAddr(ev.Local, "127.0.0.1", port) || ev.Remote == nil || ev.Result != 0 {
		t.Errorf("io_uring accept: %+v listener %v local %v remote %v", ev, ev.Listener, ev.Local, ev.Remote)
	}
	// The system calls are not reported twice.
	if n := len(c.waitFor(t, 0, 0, "", func(e *event.Event) bool {
		return e.Type == event.TypeConnect && e.Process.Pid == pid && e.Net.Via != "" && e.Net.Fd != -1
	})); n != 0 {
		t.Errorf("%d system call connects marked io_uring", n)
	}
}

// TestNetIOUringPrograms: where the fentry rung loads, its io_uring
// programs (optional in the rung, so a failure there would be silent)
// load too, each on its own.
func TestNetIOUringPrograms(t *testing.T) {
	vmtest.RequireRoot(t)
	if _, err := doctor.Check("fexit"); err != nil {
		t.Skipf("no fexit: %v", err)
	}
	if _, err := doctor.Check("bpf-loop"); err != nil {
		t.Skipf("no bpf_loop: %v", err)
	}
	for _, p := range []string{"connect_uring", "accept_uring"} {
		spec, err := bpfobj.LoadNet()
		if err != nil {
			t.Fatal(err)
		}
		for name := range spec.Programs {
			if name != p {
				delete(spec.Programs, name)
			}
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			var ve *ebpf.VerifierError
			if errors.As(err, &ve) {
				t.Errorf("%s: %+v", p, ve)
			} else {
				t.Errorf("%s: %v", p, err)
			}
			continue
		}
		coll.Close()
	}
}
