package seccomp

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// supervisor answers the notifications of one listener. Workers call
// NOTIF_RECV themselves (the kernel hands each notification to one of
// them). One worker is the common case: every extra thread waiting in
// NOTIF_RECV is woken for each notification. So that a slow call (an open
// that blocks on a FIFO, a slow disk) cannot stall the others, a
// watchdog adds a worker whenever all workers have been busy, with no
// call finished, for a whole tick; at most maxWorkers. A worker that
// finishes a call while another waits retires.
type supervisor struct {
	fd         int
	plan       *Plan
	ids        *identities // the deny rules' files, by identity
	trace      *tracer
	own        creds
	shimPid    uint32
	maxWorkers int32

	shimExeced   atomic.Bool
	credsChanged atomic.Bool // a process in the tree may have other credentials than vigil
	viewChanged  atomic.Bool // a process in the tree may have another root or mount namespace

	wg      sync.WaitGroup
	workers atomic.Int32
	idle    atomic.Int32
	handled atomic.Uint64
	stop    chan struct{}
	dogDone chan struct{}
}

// watchdogTick is how long every worker may be busy before another starts.
const watchdogTick = 5 * time.Millisecond

// start starts the first worker and the watchdog.
func (s *supervisor) start() {
	s.stop, s.dogDone = make(chan struct{}), make(chan struct{})
	s.spawn()
	go s.watchdog()
}

// wait waits until every worker has stopped, which happens once the
// listener reports that no process uses the filter any more, then stops
// the watchdog.
func (s *supervisor) wait() {
	s.wg.Wait()
	close(s.stop)
	<-s.dogDone
}

func (s *supervisor) watchdog() {
	defer close(s.dogDone)
	t := time.NewTicker(watchdogTick)
	defer t.Stop()
	last := s.handled.Load()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		h := s.handled.Load()
		if h == last && s.idle.Load() == 0 && s.workers.Load() > 0 && s.workers.Load() < s.maxWorkers {
			s.spawn()
		}
		last = h
	}
}

func (s *supervisor) spawn() {
	s.workers.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.workers.Add(-1)
		// Never unlocked: the thread may carry borrowed credentials and
		// must die with the goroutine.
		runtime.LockOSThread()
		if err := s.work(); err != nil {
			slog.Error("seccomp supervisor worker stopped", "err", err)
		}
	}()
}

// work is one worker's loop.
func (s *supervisor) work() error {
	tc, err := newThreadCreds(s.own)
	if err != nil {
		return err
	}
	w := &worker{s: s, tc: tc, path: make([]byte, pathMax)}
	var n Notif
	for {
		s.idle.Add(1)
		err := RecvNotif(s.fd, &n)
		s.idle.Add(-1)
		switch {
		case err == nil:
			w.handle(&n)
			s.handled.Add(1)
			if w.broken != nil {
				s.spawn() // a replacement with a clean thread
				return w.broken
			}
			if s.idle.Load() > 0 && s.workers.Load() > 1 {
				// Another worker waits already: this one was added for a
				// stall that is over, and would only be woken in vain.
				return nil
			}
		case errors.Is(err, unix.ENOENT):
			// The caller was killed before we read it, or (Linux 6.6+)
			// the filter has no users left.
			if hungUp(s.fd) {
				return nil
			}
		default:
			if errors.Is(err, unix.EBADF) {
				return nil
			}
			return err
		}
	}
}

// hungUp reports whether the listener has no filter users left
// (seccomp_notify_poll reports EPOLLHUP once the last task is gone).
func hungUp(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd)}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0 && p[0].Revents&unix.POLLHUP != 0
}

// worker is the state of one worker thread.
type worker struct {
	s    *supervisor
	tc   *threadCreds
	path []byte
	line []byte
	// broken is set when the thread can no longer serve (its
	// credentials could not be restored); the worker then stops.
	broken error
}

// respond answers n with a return value or an errno.
func (w *worker) respond(n *Notif, val int64, errno syscall.Errno) {
	r := NotifResp{ID: n.ID, Val: val, Error: -int32(errno)}
	SendResp(w.s.fd, &r) // ENOENT: the caller is gone, nothing to do
}

// cont lets the call run in the kernel as made. Safe only where nothing
// was decided from memory the caller can still change.
func (w *worker) cont(n *Notif) {
	r := NotifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	SendResp(w.s.fd, &r)
}

// handle decides one notification.
func (w *worker) handle(n *Notif) {
	s := w.s
	nr := uint32(n.Data.Nr)
	isOpen := slices.Contains(openSyscalls, nr)
	if r := s.plan.syscallRule(nr); r != nil && !(isOpen && r.Action == ActionAllow) {
		w.syscallRule(n, r)
		return
	}
	switch {
	case isOpen && s.plan.Paths:
		w.open(n)
		return
	case slices.Contains(credSyscalls, nr):
		s.credsChanged.Store(true)
	case nr == sysUnshare || nr == sysClone:
		// unshare is sent for any flags, clone only with CLONE_NEWNS.
		if n.Data.Args[0]&cloneNewNS != 0 {
			s.viewChanged.Store(true)
		}
	case slices.Contains(viewSyscalls, nr):
		s.viewChanged.Store(true)
	}
	w.cont(n)
}

// syscallRule applies a syscall rule. A deny answers with the errno
// without running the call; log and allow let it run, which is safe:
// the verdict depends on the syscall number alone.
func (w *worker) syscallRule(n *Notif, r *SyscallRule) {
	s := w.s
	if n.Data.Nr == int32(sysExecve) && !s.shimExeced.Load() {
		// The shim's own execve of the command: the first execve of the
		// shim's thread group (its thread may not be the leader).
		if st, err := readStatus(n.Pid); err == nil && st.Tgid == s.shimPid && idValid(s.fd, n.ID) &&
			s.shimExeced.CompareAndSwap(false, true) {
			w.cont(n)
			return
		}
	}
	var ev *event.Event
	if s.trace != nil {
		st, _ := readStatus(n.Pid)
		ev = newEvent(event.TypeSyscall, n.Pid, st)
	}
	var res int64
	if r.Action == ActionDeny {
		w.respond(n, 0, r.Errno)
		res = -int64(r.Errno)
	} else {
		w.cont(n)
	}
	if ev != nil {
		ev.Syscall = &event.Syscall{Name: r.Syscall, Nr: n.Data.Nr, Args: n.Data.Args, Result: res}
		ev.Verdict = verdict(r.Name, r.Action)
		w.line = s.trace.write(w.line, ev)
	}
}

// open emulates an open-family call (see opener) and injects the result.
func (w *worker) open(n *Notif) {
	s := w.s
	// One snapshot: the caller has been blocked since before it, so if no
	// credential change had been let through yet, it still has vigil's.
	borrow := s.credsChanged.Load()
	oc, st, o, base, extra, e := w.prepare(n, borrow)
	// The path and anything read through /proc/TID belong to the caller
	// only if it is still waiting in this call (the tid may otherwise
	// already name another process).
	if !idValid(s.fd, n.ID) {
		closeFd(base)
		return
	}
	c := &s.own
	if borrow && st != nil && st.HasCreds {
		c = &st.Creds
	}
	if e == 0 {
		if err := w.tc.apply(c); err != nil {
			slog.Error("borrowing credentials", "tid", n.Pid, "err", err)
			e = syscall.EPERM
		}
	}
	res := opened{fd: -1, errno: e}
	if e == 0 {
		res = o.open(&oc, base, extra)
	}
	closeFd(base)
	if c != &s.own {
		if err := w.tc.apply(&s.own); err != nil {
			// This thread is unusable for other callers: retire it.
			w.broken = fmt.Errorf("restoring the supervisor's credentials: %w", err)
		}
	}
	var ev *event.Event
	if s.trace != nil {
		// Before answering: the caller may exit right after.
		ev = newEvent(event.TypeOpen, n.Pid, st)
	}
	result := w.inject(n, &oc, res)
	if ev != nil {
		ev.Open = &event.Open{Syscall: oc.Syscall, Path: oc.Path, ResolvedPath: res.resolved,
			Dirfd: oc.Dirfd, Flags: uint32(oc.Flags), Mode: uint32(oc.Mode), Result: result}
		if res.rule != nil {
			ev.Verdict = verdict(res.rule.Name, res.rule.Action)
		}
		w.line = s.trace.write(w.line, ev)
	}
}

// prepare decodes an open and gathers what performing it needs, with
// vigil's own credentials (the caller's may not allow reading its own
// /proc/TID): its status where needed and the directory it resolves from.
func (w *worker) prepare(n *Notif, borrow bool) (oc openCall, st *procStatus, o opener, base int, extra uint64, e syscall.Errno) {
	s := w.s
	base = -1
	oc, e = decodeOpen(n, w.path)
	creates := oc.Flags&(unix.O_CREAT|unix.O_TMPFILE) != 0
	if e == 0 && (borrow || s.trace != nil || creates) {
		var err error
		if st, err = readStatus(n.Pid); err != nil {
			e = syscall.ESRCH
		}
	}
	o = opener{tid: n.Pid, rules: s.plan.Rules, ids: s.ids, view: s.viewChanged.Load()}
	if st != nil {
		o.tgid, o.umask = st.Tgid, st.Umask
	}
	if e == 0 {
		base, extra, e = o.baseFd(&oc)
	}
	return oc, st, o, base, extra, e
}

// inject answers an emulated open: the fd, installed in the caller with
// its O_CLOEXEC, or the errno. It returns what the caller got.
func (w *worker) inject(n *Notif, oc *openCall, res opened) int64 {
	if res.fd < 0 {
		w.respond(n, 0, res.errno)
		return -int64(res.errno)
	}
	newfd, err := AddFDSend(w.s.fd, n.ID, res.fd, oc.Flags&unix.O_CLOEXEC != 0)
	unix.Close(res.fd)
	if err != nil {
		// ENOENT: the caller went away; anything else: tell it.
		w.respond(n, 0, errnoOf(err))
		return -int64(errnoOf(err))
	}
	return int64(newfd)
}

func closeFd(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
