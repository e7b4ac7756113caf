package fanotify

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mustHavePerm skips unless permission events work, and only for a
// reason a probe gave.
func mustHavePerm(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fanotify permission events need root (CAP_SYS_ADMIN)")
	}
	if err := ProbePerm(); errors.Is(err, ErrNotSupported) {
		t.Skipf("fanotify permission events: %v", err)
	} else if err != nil {
		t.Fatalf("probing fanotify: %v", err)
	}
}

func kernelAtLeast(t *testing.T, major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	rel := unix.ByteSliceToString(u.Release[:])
	for i, part := range strings.SplitN(rel, ".", 3)[:2] {
		n := 0
		for _, c := range part {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		if i == 0 {
			ma = n
		} else {
			mi = n
		}
	}
	return ma > major || (ma == major && mi >= minor)
}

func TestProbeDenyErrno(t *testing.T) {
	mustHavePerm(t)
	err := ProbeDenyErrno()
	if kernelAtLeast(t, 6, 13) && err != nil {
		t.Fatalf("ProbeDenyErrno on a 6.13+ kernel: %v", err)
	}
	t.Logf("FAN_DENY_ERRNO: %v", err)
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
