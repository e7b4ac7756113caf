package sensor

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

var netTypes = []event.Type{event.TypeConnect, event.TypeAccept, event.TypeListen}

// tcpListener makes a TCP socket listening on 127.0.0.1 with the
// system calls themselves (the net package would use accept4 and a
// non-blocking connect) and returns it and its port.
func tcpListener(t *testing.T, typ int) (int, int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, 7); err != nil {
			t.Fatal(err)
		}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// checkNetMechanisms: in the matrix guests, where fentry and fexit load,
// the network types use them unless the kernel lacks bpf_loop (5.10),
// where the tracepoints' compat build is the rung.
func checkNetMechanisms(t *testing.T, m *Manager) {
	t.Helper()
	if !vmtest.InGuest() {
		return
	}
	fns := map[event.Type]string{event.TypeConnect: "__sys_connect", event.TypeAccept: "__sys_accept4", event.TypeListen: "__sys_listen"}
	for _, ch := range m.Choices() {
		fn, ok := fns[ch.Type]
		if !ok {
			continue
		}
		want := doctor.NetFentry(fn)
		if _, err := doctor.Check("bpf-loop"); err != nil {
			want = netTracepoints[ch.Type].mechanism + " (" + doctor.CompatNet + ")"
		}
		if ch.Mechanism != want {
			t.Errorf("%s events use %s in the guest, want %s (refused: %v)", ch.Type, ch.Mechanism, want, ch.Refused)
		}
	}
}

// mine matches the test process's events of type typ.
func mine(typ event.Type, pred func(n *event.Net) bool) func(*event.Event) bool {
	pid := uint32(os.Getpid())
	return func(e *event.Event) bool {
		return e.Type == typ && e.Process.Pid == pid && e.Net != nil && pred(e.Net)
	}
}

func isAddr(a *event.Addr, ip string, port int) bool {
	return a != nil && a.IP == netip.MustParseAddr(ip) && (port < 0 || int(a.Port) == port)
}

// TestNetTCP: a TCP listen, connect and accept on 127.0.0.1, each with
// both ends and its result; a refused connect still names where it went.
func TestNetTCP(t *testing.T) {
	m, c := startMonitor(t, Config{Types: netTypes})
	checkNetMechanisms(t, m)
	lfd, port := tcpListener(t, unix.SOCK_STREAM)
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		t.Fatal(err)
	}
	local, err := unix.Getsockname(cfd)
	if err != nil {
		t.Fatal(err)
	}
	cport := local.(*unix.SockaddrInet4).Port
	afd, _, err := unix.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(afd)

	ev := c.waitFor(t, 1, 5*time.Second, "the listen", mine(event.TypeListen, func(n *event.Net) bool {
		return isAddr(n.Local, "127.0.0.1", port)
	}))[0].Net
	if ev.Syscall != "listen" || ev.Family != unix.AF_INET || ev.SockType != unix.SOCK_STREAM || ev.Protocol != unix.IPPROTO_TCP ||
		ev.Backlog != 7 || ev.Result != 0 || ev.Fd != int32(lfd) {
		t.Errorf("listen: %+v", ev)
	}
	ev = c.waitFor(t, 1, 5*time.Second, "the connect", mine(event.TypeConnect, func(n *event.Net) bool {
		return isAddr(n.Remote, "127.0.0.1", port)
	}))[0].Net
	if ev.Syscall != "connect" || ev.Result != 0 || !isAddr(ev.Local, "127.0.0.1", cport) || ev.Protocol != unix.IPPROTO_TCP ||
		ev.Fd != int32(cfd) || ev.RemoteUnresolved || ev.SockUnresolved {
		t.Errorf("connect: %+v local %v", ev, ev.Local)
	}
	ev = c.waitFor(t, 1, 5*time.Second, "the accept", mine(event.TypeAccept, func(n *event.Net) bool {
		return isAddr(n.Listener, "127.0.0.1", port)
	}))[0].Net
	if ev.Syscall != "accept4" && ev.Syscall != "accept" {
		t.Errorf("accept: syscall %q", ev.Syscall)
	}
	if ev.Result != int64(afd) || !isAddr(ev.Local, "127.0.0.1", port) || !isAddr(ev.Remote, "127.0.0.1", cport) || ev.Fd != int32(lfd) {
		t.Errorf("accept: %+v local %v remote %v", ev, ev.Local, ev.Remote)
	}

	// A refused connect: the port of the closed listener.
	unix.Close(lfd)
	rfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	if err := unix.Connect(rfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != unix.ECONNREFUSED {
		t.Fatalf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
	ev = c.waitFor(t, 1, 5*time.Second, "the refused connect", mine(event.TypeConnect, func(n *event.Net) bool {
		return isAddr(n.Remote, "127.0.0.1", port) && n.Fd == int32(rfd)
	}))[0].Net
	if ev.Result != -int64(unix.ECONNREFUSED) {
		t.Errorf("refused connect: result %d, want -ECONNREFUSED", ev.Result)
	}
}

// TestNetUDPAndUnix: a UDP connect (local address bound by the call), a
// connect to a unix socket by path, and a connect with an address family
// vigil does not decode, reported by number.
func TestNetUDPAndUnix(t *testing.T) {
	_, c := startMonitor(t, Config{Types: netTypes})
	_, port := tcpListener(t, unix.SOCK_DGRAM)
	ufd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ufd)
	if err := unix.Connect(ufd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, 1, 5*time.Second, "the UDP connect", mine(event.TypeConnect, func(n *event.Net) bool {
		return isAddr(n.Remote, "127.0.0.1", port)
	}))[0].Net
	if ev.Result != 0 || ev.SockType != unix.SOCK_DGRAM || ev.Protocol != unix.IPPROTO_UDP || !isAddr(ev.Local, "127.0.0.1", -1) || ev.Local.Port == 0 {
		t.Errorf("UDP connect: %+v local %v", ev, ev.Local)
	}

	path := filepath.Join(t.TempDir(), "sock")
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 3); err != nil {
		t.Fatal(err)
	}
	cfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	afd, _, err := unix.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(afd)
	isPath := func(a *event.Addr) bool { return a != nil && a.Family == unix.AF_UNIX && a.Path == path }
	ev = c.waitFor(t, 1, 5*time.Second, "the unix connect", mine(event.TypeConnect, func(n *event.Net) bool { return isPath(n.Remote) }))[0].Net
	if ev.Result != 0 || ev.Family != unix.AF_UNIX || ev.SockType != unix.SOCK_STREAM || ev.Local != nil {
		t.Errorf("unix connect: %+v local %v", ev, ev.Local)
	}
	c.waitFor(t, 1, 5*time.Second, "the unix listen", mine(event.TypeListen, func(n *event.Net) bool { return isPath(n.Local) && n.Backlog == 3 }))
	ev = c.waitFor(t, 1, 5*time.Second, "the unix accept", mine(event.TypeAccept, func(n *event.Net) bool { return isPath(n.Listener) }))[0].Net
	if ev.Result != int64(afd) || !isPath(ev.Local) {
		t.Errorf("unix accept: %+v local %v", ev, ev.Local)
	}

	// AF_APPLETALK (5): the kernel refuses it on an inet socket; vigil
	// reports the family by number.
	sa := [16]byte{5, 0}
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(ufd), uintptr(unsafe.Pointer(&sa)), uintptr(len(sa)))
	if errno == 0 {
		t.Fatal("connect with family 5 succeeded")
	}
	ev = c.waitFor(t, 1, 5*time.Second, "the odd-family connect", mine(event.TypeConnect, func(n *event.Net) bool {
		return n.Remote != nil && n.Remote.Family == 5
	}))[0].Net
	if ev.Result != -int64(errno) || ev.Remote.String() != "af_5" {
		t.Errorf("odd family: result %d remote %v, want -%d and af_5", ev.Result, ev.Remote, errno)
	}

	// An address the kernel cannot read: reported, flagged.
	_, _, errno = unix.Syscall(unix.SYS_CONNECT, uintptr(ufd), 8, 16)
	if errno != unix.EFAULT {
		t.Fatalf("connect with a bad pointer: %v, want EFAULT", errno)
	}
	c.waitFor(t, 1, 5*time.Second, "the unreadable connect", mine(event.TypeConnect, func(n *event.Net) bool {
		return n.RemoteUnresolved && n.Result == -int64(unix.EFAULT)
	}))
}

// TestNetPortFilter: with --connect-port, only connects to the listed
// ports (and listens and accepts on them) are reported.
func TestNetPortFilter(t *testing.T) {
	_, skipPort := tcpListener(t, unix.SOCK_DGRAM)
	_, port := tcpListener(t, unix.SOCK_DGRAM)
	_, c := startMonitor(t, Config{Types: netTypes, Net: NetFilter{Ports: []uint16{uint16(port)}}})
	for _, p := range []int{skipPort, port} {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: p}); err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	c.waitFor(t, 1, 5*time.Second, "the connect to the filtered port", mine(event.TypeConnect, func(n *event.Net) bool {
		return isAddr(n.Remote, "127.0.0.1", port)
	}))
	if got := c.waitFor(t, 0, 0, "", mine(event.TypeConnect, func(n *event.Net) bool { return isAddr(n.Remote, "127.0.0.1", skipPort) })); len(got) != 0 {
		t.Errorf("connect to port %d reported despite the filter: %+v", skipPort, got[0].Net)
	}
}

// helperConnect connects a TCP socket to 127.0.0.1:port, then creates
// the file marker: a process killed at the connect never does.
func helperConnect(port, marker string) int {
	p, err := strconv.Atoi(port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: p})
	f, ferr := os.Create(marker)
	if ferr != nil {
		fmt.Fprintln(os.Stderr, ferr)
		return 1
	}
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		return 1
	}
	return 0
}

// TestNetKillConnect: a kill rule on the connecting program's name ends
// it inside its connect call, before it runs another instruction; the
// event carries the verdict. Another program's connect is untouched.
func TestNetKillConnect(t *testing.T) {
	vmtest.RequireRoot(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "vigilconnect")
	if err := copyFile(os.Args[0], prog); err != nil {
		t.Fatal(err)
	}
	rules := kernelRules(t, `rules:
  - name: no-connect
    event: connect
    match:
      comm: [vigilconnect]
    action: kill
`)
	m, c := startMonitor(t, Config{Types: netTypes, Rules: rules})
	_, port := tcpListener(t, unix.SOCK_STREAM)
	marker := filepath.Join(dir, "marker")
	cmd := vmtest.AsHelper(exec.Command(prog, strconv.Itoa(port), marker), "connect")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); !killedBySIGKILL(err) {
		t.Fatalf("connect helper: %v, want killed by SIGKILL", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the marker exists: the killed process returned from connect")
	}
	pid := uint32(cmd.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the killed connect", func(e *event.Event) bool {
		return e.Type == event.TypeConnect && e.Process.Pid == pid
	})[0]
	if v := ev.Verdict; v == nil || v.Rule != "no-connect" || v.Action != "kill" || !v.Enforced || v.Mechanism != "bpf_send_signal" {
		t.Errorf("verdict %+v, want no-connect, kill, enforced, bpf_send_signal", v)
	}
	if !isAddr(ev.Net.Remote, "127.0.0.1", port) {
		t.Errorf("killed connect's remote %v, want 127.0.0.1:%d", ev.Net.Remote, port)
	}
	// The same helper under its usual name connects.
	other := helper("connect", strconv.Itoa(port), marker)
	if err := other.Run(); err != nil {
		t.Fatalf("connect helper outside the rule: %v", err)
	}
	for _, ch := range m.Choices() {
		if ch.Type == event.TypeConnect {
			vmtest.Mechanism(t, "enforced kill connect", "bpf_send_signal at "+ch.Mechanism)
		}
	}
}

// helperNetDeny expects EPERM from a connect to 127.0.0.1:port, a
// listen, and an accept on descriptor 3 (a listener with a connection
// waiting, from the test).
func helperNetDeny(port string) int {
	p, err := strconv.Atoi(port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bad := 0
	expect := func(what string, err error) {
		if err != unix.EPERM {
			fmt.Fprintf(os.Stderr, "%s: %v, want EPERM\n", what, err)
			bad = 1
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	expect("connect", unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: p}))
	expect("listen", unix.Listen(fd, 1))
	_, _, err = unix.Accept(3)
	expect("accept", err)
	return bad
}

// TestNetDenyThroughLSM: deny rules fail connect, listen and accept with
// EPERM through BPF LSM before the kernel acts, and each denial is an
// event with its verdict.
func TestNetDenyThroughLSM(t *testing.T) {
	k := lsmRules(t, `rules:
  - name: deny-connect
    event: connect
    match: {comm: [vigilnet]}
    action: deny
  - name: deny-listen
    event: listen
    match: {comm: [vigilnet]}
    action: deny
  - name: deny-accept
    event: accept
    match: {comm: [vigilnet]}
    action: deny
`)
	dir := t.TempDir()
	prog := filepath.Join(dir, "vigilnet")
	if err := copyFile(os.Args[0], prog); err != nil {
		t.Fatal(err)
	}
	m, c := startMonitor(t, Config{Types: netTypes, Rules: k})
	for _, ch := range m.Choices() {
		if ch.Type == "deny connect" {
			vmtest.Mechanism(t, "enforced deny connect", ch.Mechanism)
		}
	}
	lfd, port := tcpListener(t, unix.SOCK_STREAM)
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		t.Fatal(err)
	}
	cmd := vmtest.AsHelper(exec.Command(prog, strconv.Itoa(port)), "netdeny")
	cmd.Stderr = os.Stderr
	dup, err := unix.Dup(lfd)
	if err != nil {
		t.Fatal(err)
	}
	listener := os.NewFile(uintptr(dup), "listener")
	defer listener.Close()
	cmd.ExtraFiles = []*os.File{listener}
	if err := cmd.Run(); err != nil {
		t.Fatalf("netdeny helper: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	for _, tc := range []struct {
		typ  event.Type
		rule string
	}{{event.TypeConnect, "deny-connect"}, {event.TypeListen, "deny-listen"}, {event.TypeAccept, "deny-accept"}} {
		ev := c.waitFor(t, 1, 5*time.Second, "the denied "+string(tc.typ), func(e *event.Event) bool {
			return e.Type == tc.typ && e.Process.Pid == pid && e.Verdict != nil
		})[0]
		if v := ev.Verdict; v.Rule != tc.rule || v.Action != "deny" || !v.Enforced || v.Mechanism != "lsm" {
			t.Errorf("%s: verdict %+v, want %s, deny, enforced, lsm", tc.typ, v, tc.rule)
		}
		if ev.Net.Result != -int64(unix.EPERM) {
			t.Errorf("%s: result %d, want -EPERM", tc.typ, ev.Net.Result)
		}
		if tc.typ == event.TypeConnect && !isAddr(ev.Net.Remote, "127.0.0.1", port) {
			t.Errorf("denied connect: remote %v, want 127.0.0.1:%d", ev.Net.Remote, port)
		}
		if tc.typ == event.TypeAccept && !isAddr(ev.Net.Listener, "127.0.0.1", port) {
			t.Errorf("denied accept: listener %v, want 127.0.0.1:%d", ev.Net.Listener, port)
		}
	}
}
