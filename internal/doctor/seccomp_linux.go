package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/seccomp"
)

// SeccompSupport is what ProbeSeccomp found, one error per mechanism with
// the package's error contract.
type SeccompSupport struct {
	// Filter: installing a seccomp BPF filter (Linux 3.5).
	Filter error
	// Notify: SECCOMP_RET_USER_NOTIF with a listener fd (Linux 5.0),
	// receiving a notification and answering it.
	Notify error
	// AddFD: SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND
	// (Linux 5.14), installing an fd and answering in one step, as vigil
	// run's supervisor does.
	AddFD error
	// NotifyWake: a NOTIF_RECV blocked on the listener returns once every
	// filtered task has exited (fixed in Linux 6.11); without the fix a
	// supervisor hangs after its last child dies.
	NotifyWake error
}

// seccompReport is SeccompSupport as the helper sends it.
type seccompReport struct {
	Filter, Notify, AddFD, NotifyWake stepResult
}

// ProbeSeccomp runs the seccomp probes in a child process: the running
// executable re-executed with HelperEnv=seccomp (see HelperMain), since a
// filter stays on its thread for good. The child is killed after a
// bounded time.
func ProbeSeccomp(ctx context.Context) SeccompSupport {
	out, err := runHelper(ctx, "seccomp")
	if err == nil {
		var rep seccompReport
		if err = json.Unmarshal(out, &rep); err == nil {
			return SeccompSupport{rep.Filter.err(), rep.Notify.err(), rep.AddFD.err(), rep.NotifyWake.err()}
		}
		err = fmt.Errorf("decoding seccomp helper output %q: %w", out, err)
	}
	return SeccompSupport{err, err, err, err}
}

// nativeArch is the AUDIT_ARCH_* value seccomp_data.arch holds for this
// build's architecture.
var nativeArch = map[string]uint32{
	"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64,
	"386": unix.AUDIT_ARCH_I386, "riscv64": unix.AUDIT_ARCH_RISCV64,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE, "s390x": unix.AUDIT_ARCH_S390X,
}[runtime.GOARCH]

// notifyGetppidFilter returns SECCOMP_RET_USER_NOTIF for getppid, which
// the Go runtime never calls, and allows everything else.
func notifyGetppidFilter() ([]bpf.RawInstruction, error) {
	return bpf.Assemble([]bpf.Instruction{
		// A = seccomp_data.arch; if A != native goto allow
		bpf.LoadAbsolute{Off: 4, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: nativeArch, SkipTrue: 3},
		// A = seccomp_data.nr; if A != getppid goto allow
		bpf.LoadAbsolute{Off: 0, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_GETPPID, SkipTrue: 1},
		bpf.RetConstant{Val: unix.SECCOMP_RET_USER_NOTIF},
		// allow:
		bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW},
	})
}

// target is the filtered thread's side of the seccomp probe.
type target struct {
	filter    chan error // result of installing the plain filter
	listener  chan int   // listener fd, or -1 after sending notifyErr
	notifyErr error
	answer    chan uintptr  // what the trapped getppid returned
	exit      chan struct{} // closed to end the thread
}

// run installs the filters on the calling (locked, non-main) thread and
// makes the trapped call; it returns, ending the thread, once told to.
func (t *target) run() {
	// No new privileges lets an unprivileged thread install filters.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		t.filter <- judge("setting no_new_privs", err)
		return
	}
	allow, _ := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}})
	if _, err := seccomp.InstallFilter(allow, 0); err != nil {
		t.filter <- judge("installing seccomp filter", err)
		return
	}
	t.filter <- nil
	insns, err := notifyGetppidFilter()
	if err == nil {
		var fd int
		if fd, err = seccomp.InstallFilter(insns, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER); err == nil {
			t.listener <- fd
			r, _, errno := unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
			if errno != 0 {
				r = ^uintptr(0)
			}
			t.answer <- r
			<-t.exit
			return
		}
		err = judge("installing seccomp filter with SECCOMP_FILTER_FLAG_NEW_LISTENER", err)
	}
	t.notifyErr = err
	t.listener <- -1
}

// seccompSteps runs in the helper process and probes each mechanism in
// turn, stopping where one fails.
func seccompSteps() (rep seccompReport) {
	t := &target{filter: make(chan error, 1), listener: make(chan int, 1),
		answer: make(chan uintptr, 1), exit: make(chan struct{})}
	onOwnThread(t.run)
	skip := stepResult{Text: "not probed: an earlier seccomp step failed"}
	if err := <-t.filter; err != nil {
		rep.Filter = stepOf(err)
		rep.Notify, rep.AddFD, rep.NotifyWake = skip, skip, skip
		return rep
	}
	fd := <-t.listener
	if fd < 0 {
		rep.Notify = stepOf(t.notifyErr)
		rep.AddFD, rep.NotifyWake = skip, skip
		return rep
	}
	notifyErr, addErr := answerOne(fd, t.answer)
	rep.Notify, rep.AddFD = stepOf(notifyErr), stepOf(addErr)
	if notifyErr != nil {
		rep.NotifyWake = skip
		return rep
	}
	rep.NotifyWake = stepOf(wakeOnExit(fd, t.exit))
	return rep
}

// answerOne receives the target's getppid notification and answers it
// by installing a copy of /dev/null in the target with ADDFD and
// SECCOMP_ADDFD_FLAG_SEND (the new fd's number is the call's result),
// then checks the target saw that answer and that the fd is a /dev/null.
// Where ADDFD fails, the call is answered with a plain NOTIF_SEND so that
// the notification step can still be judged.
func answerOne(fd int, answer <-chan uintptr) (notifyErr, addErr error) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 2000); err != nil || n == 0 {
		return fmt.Errorf("polling seccomp listener: no notification in 2s (%v)", err), nil
	}
	var n seccomp.Notif
	if err := seccomp.RecvNotif(fd, &n); err != nil {
		return judge("receiving seccomp notification", err), nil
	}
	val := int64(4242)
	src, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	defer src.Close()
	newfd, err := seccomp.AddFDSend(fd, n.ID, int(src.Fd()), true)
	if err != nil {
		addErr = judge("adding fd with SECCOMP_IOCTL_NOTIF_ADDFD", err)
		if err := seccomp.SendResp(fd, &seccomp.NotifResp{ID: n.ID, Val: val}); err != nil {
			return judge("answering seccomp notification", err), addErr
		}
	} else {
		val = int64(newfd)
	}
	select {
	case got := <-answer:
		if int64(got) != val {
			return fmt.Errorf("answering seccomp notification: target saw %d, want %d", int64(got), val), addErr
		}
	case <-time.After(2 * time.Second):
		return errors.New("answering seccomp notification: target still blocked after 2s"), addErr
	}
	if addErr == nil {
		defer unix.Close(newfd)
		addErr = sameFile(src, newfd)
	}
	return nil, addErr
}

// sameFile checks that fd refers to the file f is open on.
func sameFile(f *os.File, fd int) error {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		return fmt.Errorf("checking added fd: %w", err)
	}
	if err := unix.Fstat(fd, &b); err != nil {
		return fmt.Errorf("checking added fd %d: %w", fd, err)
	}
	if a.Dev != b.Dev || a.Ino != b.Ino || a.Rdev != b.Rdev {
		return fmt.Errorf("checking added fd %d: not the file sent", fd)
	}
	return nil
}

// wakeOnExit blocks in NOTIF_RECV, ends the only filtered thread, and
// checks that the receive returns then (Linux 6.11 returns ENOENT).
// Without the fix it stays blocked until the helper exits. A receive that
// returns before the thread ends proves nothing, so it means "could not
// tell".
func wakeOnExit(fd int, exit chan struct{}) error {
	done := make(chan error, 1)
	go func() {
		var n seccomp.Notif
		done <- seccomp.RecvNotif(fd, &n)
	}()
	select {
	case err := <-done:
		close(exit)
		return fmt.Errorf("receiving with no pending notification: returned %v before the filtered thread exited", err)
	case <-time.After(50 * time.Millisecond): // blocked, as it should be
	}
	close(exit)
	select {
	case err := <-done:
		if err == nil {
			return errors.New("receiving after the filtered thread exited: got a notification")
		}
		return nil
	case <-time.After(2 * time.Second):
		return missing("NOTIF_RECV still blocked 2s after the last filtered task exited (fixed in Linux 6.11)", nil)
	}
}
