package fanotify

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// mustHavePerm skips unless permission events work, and only for a
// reason a probe gave.
func mustHavePerm(t *testing.T) {
	t.Helper()
	vmtest.RequireRoot(t)
	vmtest.Require(t, "fanotify permission events", refusal(ProbePerm()))
}

// refusal makes this package's ErrNotSupported one that vmtest.Require
// counts as the kernel's refusal (it knows cilium/ebpf's sentinel, which
// doctor's ErrNotSupported is); other errors pass unchanged.
func refusal(err error) error {
	if errors.Is(err, ErrNotSupported) {
		return fmt.Errorf("%w: %w", ebpf.ErrNotSupported, err)
	}
	return err
}

// TestProbeDenyErrno checks ProbeDenyErrno against a real answer: an open
// of a marked file denied with FAN_DENY_ERRNO(EIO). A kernel with it
// fails the open with EIO; an older one refuses the answer. Since 6.14
// every kernel has it.
func TestProbeDenyErrno(t *testing.T) {
	mustHavePerm(t)
	probed := ProbeDenyErrno()
	if probed != nil && !errors.Is(probed, ErrNotSupported) {
		t.Fatalf("ProbeDenyErrno could not tell: %v", probed)
	}
	answered := denyWithErrno(t, unix.EIO)
	switch {
	case probed == nil && answered != nil:
		t.Errorf("ProbeDenyErrno says yes, but the kernel refused a real answer: %v", answered)
	case probed != nil && answered == nil:
		t.Errorf("ProbeDenyErrno says %v, but a real FAN_DENY_ERRNO(EIO) answer worked", probed)
	case probed != nil && vmtest.KernelAtLeast(t, 6, 14):
		t.Errorf("ProbeDenyErrno on a 6.14+ kernel: %v", probed)
	}
	t.Logf("FAN_DENY_ERRNO: probe %v, real answer %v", probed, answered)
}

// denyWithErrno answers an open of a marked file with FAN_DENY_ERRNO(errno)
// from a FAN_CLASS_PRE_CONTENT group. It returns nil when the kernel took
// the answer (the test fails unless the open then failed with errno), or
// the kernel's refusal of the answer, after which the open is allowed.
func denyWithErrno(t *testing.T, errno syscall.Errno) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Init(unix.FAN_CLASS_PRE_CONTENT, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close() // allows whatever is still pending
	if err := g.Mark(unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, path); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		f, err := os.Open(path)
		if f != nil {
			f.Close()
		}
		opened <- err
	}()
	if err := g.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := g.Read(buf)
	if err != nil {
		t.Fatalf("no permission event for the open: %v", err)
	}
	evs, err := Decode(buf[:n], nil)
	if err != nil || len(evs) != 1 || evs[0].Fd < 0 || evs[0].Mask&unix.FAN_OPEN_PERM == 0 {
		t.Fatalf("events %+v (%v), want one FAN_OPEN_PERM", evs, err)
	}
	fd := evs[0].Fd
	defer unix.Close(int(fd))
	answerErr := g.Respond(fd, DenyErrno(errno))
	if answerErr != nil {
		if err := g.Respond(fd, unix.FAN_ALLOW); err != nil {
			t.Fatalf("FAN_DENY_ERRNO refused (%v), and then FAN_ALLOW: %v", answerErr, err)
		}
	}
	var openErr error
	select {
	case openErr = <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("open still blocked 5s after the answer")
	}
	switch {
	case answerErr != nil && openErr != nil:
		t.Fatalf("open after FAN_ALLOW: %v", openErr)
	case answerErr == nil && !errors.Is(openErr, errno):
		t.Fatalf("the kernel took FAN_DENY_ERRNO(%v), but the open returned %v", errno, openErr)
	}
	return answerErr
}

// answerAll reads g and answers every permission event with resp until g
// is closed; it reports the events it saw on seen.
func answerAll(g *Group, resp uint32, seen chan<- Event) {
	buf := make([]byte, 4096)
	for {
		n, err := g.Read(buf)
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		evs, _ := Decode(buf[:n], nil)
		for _, ev := range evs {
			if ev.Fd >= 0 {
				g.Respond(ev.Fd, resp)
				unix.Close(int(ev.Fd))
			}
			select {
			case seen <- ev:
			default:
			}
		}
	}
}

// TestDenyOpen marks one file (an inode mark: nothing else on the system
// is affected) and denies its opens, plainly and with an errno.
func TestDenyOpen(t *testing.T) {
	mustHavePerm(t)
	for _, c := range []struct {
		desc  string
		class uint
		resp  uint32
		want  error
	}{
		{"FAN_DENY is EPERM", unix.FAN_CLASS_CONTENT, unix.FAN_DENY, unix.EPERM},
		{"FAN_DENY_ERRNO(EIO)", unix.FAN_CLASS_PRE_CONTENT, DenyErrno(unix.EIO), unix.EIO},
		{"FAN_ALLOW", unix.FAN_CLASS_CONTENT, unix.FAN_ALLOW, nil},
	} {
		t.Run(c.desc, func(t *testing.T) {
			if c.resp != unix.FAN_DENY && c.resp != unix.FAN_ALLOW {
				if err := ProbeDenyErrno(); err != nil {
					t.Skipf("FAN_DENY_ERRNO: %v", err)
				}
			}
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			g, err := Init(c.class|unix.FAN_UNLIMITED_QUEUE, unix.O_RDONLY|unix.O_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Mark(unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, path); err != nil {
				t.Fatal(err)
			}
			seen := make(chan Event, 4)
			done := make(chan struct{})
			go func() { answerAll(g, c.resp, seen); close(done) }()
			defer func() { g.Close(); <-done }()
			f, err := os.Open(path)
			if f != nil {
				f.Close()
			}
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Errorf("open = %v, want %v", err, c.want)
			}
			ev := <-seen
			if ev.Mask&unix.FAN_OPEN_PERM == 0 || int(ev.Pid) != os.Getpid() {
				t.Errorf("event %+v, want FAN_OPEN_PERM from pid %d", ev, os.Getpid())
			}
		})
	}
}

// TestCloseAllowsPending blocks a child process on an unanswered
// permission event and checks that closing the group lets it through.
func TestCloseAllowsPending(t *testing.T) {
	mustHavePerm(t)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Init(unix.FAN_CLASS_CONTENT, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Mark(unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, path); err != nil {
		g.Close()
		t.Fatal(err)
	}
	cmd := exec.Command("cat", path)
	out := make(chan []byte, 1)
	go func() { b, _ := cmd.Output(); out <- b }()
	// Wait until the event is queued: the child is blocked in open.
	buf := make([]byte, 4096)
	var evs []Event
	giveUp := time.AfterFunc(5*time.Second, func() { g.Close() })
	for len(evs) == 0 {
		n, err := g.Read(buf)
		if errors.Is(err, os.ErrClosed) {
			t.Fatal("no permission event for cat's open within 5s")
		}
		if err == nil {
			evs, _ = Decode(buf[:n], evs)
		}
	}
	giveUp.Stop()
	select {
	case b := <-out:
		t.Fatalf("cat finished (%q) before any answer", b)
	case <-time.After(100 * time.Millisecond):
	}
	g.Close() // no answer: the kernel allows
	for _, ev := range evs {
		unix.Close(int(ev.Fd))
	}
	select {
	case b := <-out:
		if string(b) != "content" {
			t.Errorf("cat printed %q after close, want the content", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cat still blocked 5s after the group was closed")
	}
}
