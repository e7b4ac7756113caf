package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// listenLoopback makes a TCP listener on 127.0.0.1 with the system
// calls and returns it and its port.
func listenLoopback(t *testing.T) (int, int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 4); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// TestMonitorNetPolicy: vigil monitor with the network types and a
// policy whose log rules use the network matchers (port, CIDR, family)
// tags the real connects, accepts and unix connects it reports; the
// in-kernel port filter drops the others.
func TestMonitorNetPolicy(t *testing.T) {
	lfd, port := listenLoopback(t)
	sock := filepath.Join(t.TempDir(), "s")
	p := writePolicy(t, fmt.Sprintf(`rules:
  - name: to-the-listener
    event: connect
    match:
      remote_port: [%d]
      remote_addr: [127.0.0.0/8]
    action: log
  - name: accepted-on-it
    event: accept
    match:
      local_port: [%d]
      family: [inet]
    action: log
`, port, port))
	a := startAgent(t, "--events", "connect,accept,listen", "--policy", p, "--connect-port", fmt.Sprint(port))
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		t.Fatal(err)
	}
	afd, _, err := unix.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(afd)
	// A unix connect, which the port filter leaves out.
	ufd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	defer unix.Close(ufd)
	_ = unix.Connect(ufd, &unix.SockaddrUnix{Name: sock})

	pid := uint32(os.Getpid())
	ev := a.waitEvent(t, "the tagged connect", func(e *event.Event) bool {
		return e.Type == event.TypeConnect && e.Process.Pid == pid && e.Verdict != nil
	})
	if ev.Verdict.Rule != "to-the-listener" || ev.Verdict.Action != "log" || ev.Net.Remote == nil || int(ev.Net.Remote.Port) != port {
		t.Errorf("connect: verdict %+v remote %v", ev.Verdict, ev.Net.Remote)
	}
	ev = a.waitEvent(t, "the tagged accept", func(e *event.Event) bool {
		return e.Type == event.TypeAccept && e.Process.Pid == pid && e.Verdict != nil
	})
	if ev.Verdict.Rule != "accepted-on-it" || ev.Net.Listener == nil || int(ev.Net.Listener.Port) != port {
		t.Errorf("accept: verdict %+v listener %v", ev.Verdict, ev.Net.Listener)
	}
	if strings.Contains(a.out.String(), sock) {
		t.Errorf("the unix connect passed the port filter:\n%s", a.out.String())
	}
}

// TestMonitorNetPolicyRefused: rules the kernel cannot carry out are
// refused at load with their position: a kill rule on a port (matched
// only in userspace), and, where BPF LSM is missing, a deny on connect.
func TestMonitorNetPolicyRefused(t *testing.T) {
	vmtest.RequireRoot(t)
	p := writePolicy(t, `rules:
  - name: kill-port
    event: connect
    match:
      remote_port: [4444]
    action: kill
`)
	code, _, errOut := run(t, "monitor", "--events", "connect", "--policy", p, "--count", "1")
	if code == 0 || !strings.Contains(errOut, "rules[0].match.remote_port") || !strings.Contains(errOut, "cannot evaluate remote_port for connect events") {
		t.Errorf("kill on a port: exit %d, stderr:\n%s", code, errOut)
	}
	if doctor.ProbeBPFLSM() == nil {
		return
	}
	p = writePolicy(t, `rules:
  - name: deny-connect
    event: connect
    match:
      comm: [nc]
    action: deny
`)
	code, _, errOut = run(t, "monitor", "--events", "connect", "--policy", p, "--count", "1")
	if code == 0 || !strings.Contains(errOut, "rules[0].action") || !strings.Contains(errOut, "BPF LSM") {
		t.Errorf("deny connect without BPF LSM: exit %d, stderr:\n%s", code, errOut)
	}
}
