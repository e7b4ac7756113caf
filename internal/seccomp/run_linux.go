package seccomp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Config is one supervised run.
type Config struct {
	// Args is the command and its arguments.
	Args []string
	// Shim is the argv that starts a fresh vigil which calls Shim with the
	// arguments that follow it; Run appends Args. It must not parse them.
	Shim []string
	// Rules are the rules to enforce; first match wins.
	Rules Rules
	// Trace, when set, receives one JSON event line per intercepted call.
	Trace io.Writer
	// Stdin, Stdout and Stderr are the command's standard files.
	Stdin          *os.File
	Stdout, Stderr *os.File
	// Env is the command's environment; nil means vigil's own.
	Env []string
	// NoSyncWakeUp leaves SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP off (for
	// measuring what it brings).
	NoSyncWakeUp bool
	// MaxWorkers bounds the supervisor threads; 0 means 8.
	MaxWorkers int
}

// hupGrace is how long Run waits for workers blocked in NOTIF_RECV after
// the listener hung up. From Linux 6.6 they wake at once; before, they
// stay blocked until the process exits, and Run returns without them.
const hupGrace = 100 * time.Millisecond

// Run runs the command under a seccomp user-notification supervisor and
// returns its exit status: the code it exited with, or 128+signal when a
// signal killed it. Run returns when the command and every process it
// started have exited (the listener hangs up), or, after the command
// itself exited, when ctx is done or SIGINT/SIGTERM arrives; until the
// command exits those signals are forwarded to it, and ctx ending sends
// it SIGTERM unless it ended with one of them. An error means the
// supervision could not be set up; the command's own failures are
// statuses (127: not found, 126: not executable).
//
// When Run returns before every worker has stopped (a worker stuck in a
// call, a kernel before 6.6, an early stop), it leaves them and the
// listener fd to the process exit: Run is meant to be the last thing a
// process does.
//
// Run needs Linux 5.14 (SECCOMP_ADDFD_FLAG_SEND) and x86_64.
func Run(ctx context.Context, c Config) (int, error) {
	if len(c.Args) == 0 {
		return 0, errors.New("running: no command")
	}
	plan, err := NewPlan(&c.Rules, c.Trace != nil)
	if err != nil {
		return 0, err
	}
	prog, err := plan.Filter.Assemble()
	if err != nil {
		return 0, err
	}
	// The denied files' identities, taken before the command runs.
	var ids *identities
	if plan.Paths {
		ids = newIdentities(plan.Rules)
	}
	self, err := readStatus(uint32(os.Getpid()))
	if err != nil {
		return 0, err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	defer signal.Stop(sigs)
	sh, err := startShim(&c, prog)
	if err != nil {
		return 0, err
	}
	defer unix.Close(sh.sock)
	lfd, err := recvListener(sh.sock)
	if err != nil {
		// The shim failed before installing the filter (and said why on
		// stderr), or it is gone: its status is the answer.
		<-sh.waited
		return exitStatus(sh.cmd.ProcessState), nil
	}
	if !c.NoSyncWakeUp {
		if err := setSyncWakeUp(lfd); err != nil {
			slog.Debug("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP not available", "err", err)
		}
	}
	if plan.Paths {
		// Files are created by the supervisor with each caller's umask,
		// applied by hand.
		defer unix.Umask(unix.Umask(0))
	}
	maxw := int32(c.MaxWorkers)
	if maxw <= 0 {
		maxw = 8
	}
	s := &supervisor{fd: lfd, plan: plan, ids: ids, own: self.Creds, shimPid: uint32(sh.cmd.Process.Pid), maxWorkers: maxw}
	if c.Trace != nil {
		s.trace = &tracer{w: c.Trace}
	}
	s.start()
	code, stopped := waitTree(ctx, sh, lfd, s, sigs)
	if stopped {
		// Only now: a worker still in the kernel could otherwise meet a
		// new file under the same fd number.
		unix.Close(lfd)
	}
	return code, nil
}

// shimProc is the started shim: the command to be.
type shimProc struct {
	cmd    *exec.Cmd
	sock   int           // vigil's end of the socket pair
	waited chan struct{} // closed once cmd.Wait returned
}

// startShim starts the shim with the filter waiting on its socket.
func startShim(c *Config, prog []bpf.RawInstruction) (*shimProc, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating the shim socket: %w", err)
	}
	child := os.NewFile(uintptr(pair[1]), "vigil-shim")
	defer child.Close()
	if _, err := unix.Write(pair[0], encodeFilter(prog)); err != nil {
		unix.Close(pair[0])
		return nil, fmt.Errorf("sending the filter to the shim: %w", err)
	}
	cmd := exec.Command(c.Shim[0], append(append([]string(nil), c.Shim[1:]...), c.Args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.Env = c.Env
	cmd.ExtraFiles = []*os.File{child}
	if err := cmd.Start(); err != nil {
		unix.Close(pair[0])
		return nil, fmt.Errorf("starting the shim: %w", err)
	}
	sh := &shimProc{cmd: cmd, sock: pair[0], waited: make(chan struct{})}
	go func() { cmd.Wait(); close(sh.waited) }()
	return sh, nil
}

// waitTree forwards signals to the command until it exits, then waits
// until no process of the tree is left, and returns the command's status
// and whether the supervisor's workers have all stopped.
func waitTree(ctx context.Context, sh *shimProc, lfd int, s *supervisor, sigs chan os.Signal) (int, bool) {
	workersDone := make(chan struct{})
	go func() { s.wait(); close(workersDone) }()
	hup := make(chan struct{})
	go func() { waitHup(lfd); close(hup) }()
	done, waited := ctx.Done(), sh.waited
	exited, hungUp, forwarded := false, false, false
	for !exited || !hungUp {
		select {
		case <-waited:
			exited, waited = true, nil
		case <-hup:
			hungUp, hup = true, nil
		case sig := <-sigs:
			if exited {
				// Stop supervising what the command left running: its
				// intercepted calls fail with ENOSYS once vigil exits.
				return exitStatus(sh.cmd.ProcessState), false
			}
			sh.cmd.Process.Signal(sig)
			forwarded = true
		case <-done:
			if exited {
				return exitStatus(sh.cmd.ProcessState), false
			}
			done = nil
			if forwarded {
				continue
			}
			// Usually a signal ended ctx and reaches sigs too; if none
			// does (it came before Run was listening, or ctx ended for
			// another reason), the command gets SIGTERM.
			select {
			case sig := <-sigs:
				sh.cmd.Process.Signal(sig)
			case <-time.After(50 * time.Millisecond):
				sh.cmd.Process.Signal(unix.SIGTERM)
			}
		}
	}
	select {
	case <-workersDone:
		return exitStatus(sh.cmd.ProcessState), true
	case <-time.After(hupGrace):
		return exitStatus(sh.cmd.ProcessState), false
	}
}

// waitHup blocks until the listener reports EPOLLHUP: no task uses the
// filter any more. It works on every kernel with user notification,
// including those where NOTIF_RECV does not wake when the last task
// exits.
func waitHup(fd int) {
	p := []unix.PollFd{{Fd: int32(fd)}} // no events asked: only HUP and ERR
	for {
		_, err := unix.Poll(p, -1)
		if err == nil && p[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// recvListener receives the listener fd the shim sends with SCM_RIGHTS.
func recvListener(sock int) (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("receiving the seccomp listener: %w", err)
	}
	if n == 0 {
		return -1, errors.New("receiving the seccomp listener: the shim exited")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("receiving the seccomp listener: bad control message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("receiving the seccomp listener: bad rights: %v", err)
	}
	return fds[0], nil
}

// exitStatus is the shell's view of how a process ended.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
