package permission

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fanotify"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
)

// pending is a permission event whose path matched a rule, waiting for a
// worker. Exactly one of the worker and the watchdog answers it; mu makes
// answering and closing the event fd exclusive, so that the watchdog can
// never write an answer to a number the kernel has already reused for
// another event.
type pending struct {
	ev         fanotify.Event
	path       string
	deleted    bool
	candidates []*policy.Rule
	byInode    bool // the candidates matched by inode, not by path
	watchdog   *time.Timer
	start      time.Time // when the event was read

	e *Engine

	mu       sync.Mutex
	answered bool
	closed   bool
}

// close closes the event fd once no answer can be in flight.
func (p *pending) close() {
	p.watchdog.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		unix.Close(int(p.ev.Fd))
		p.e.inflight.Delete(p)
	}
}

// first handles an event in the reader: events that are not permission
// events, come from vigil itself or name a file no rule's path matches
// are answered at once; the rest go to a worker.
func (e *Engine) first(ev fanotify.Event, linkBuf []byte) {
	e.stats.events.Add(1)
	if ev.Fd < 0 {
		if ev.Mask&unix.FAN_Q_OVERFLOW != 0 {
			e.log.Error("fanotify queue overflow")
		}
		return
	}
	perm := ev.Mask & (unix.FAN_OPEN_PERM | unix.FAN_OPEN_EXEC_PERM)
	if perm == 0 {
		unix.Close(int(ev.Fd))
		return
	}
	if ev.Pid == e.ownPid || e.stopping.Load() {
		e.respond(ev.Fd, unix.FAN_ALLOW)
		unix.Close(int(ev.Fd))
		return
	}
	path, deleted := fdPath(ev.Fd, linkBuf)
	var cands []*policy.Rule
	if ev.Mask&unix.FAN_OPEN_EXEC_PERM != 0 {
		cands = appendPathMatches(cands, e.exec, path)
	}
	if ev.Mask&unix.FAN_OPEN_PERM != 0 {
		cands = appendPathMatches(cands, e.open, path)
	}
	byInode := false
	if len(cands) == 0 && len(e.inodes) > 0 {
		cands = e.appendInodeMatches(cands, ev)
		byInode = len(cands) > 0
	}
	// A candidate from one of vigil's own threads (one reading /proc for
	// a decision, say) is allowed here, never queued behind itself.
	if len(cands) == 0 || isOwnThread(uint32(ev.Pid)) {
		e.respond(ev.Fd, unix.FAN_ALLOW)
		unix.Close(int(ev.Fd))
		return
	}
	p := &pending{ev: ev, path: path, deleted: deleted, candidates: cands, byInode: byInode, e: e, start: time.Now()}
	e.inflight.Store(p, nil)
	p.watchdog = time.AfterFunc(e.cfg.Timeout, func() {
		if e.answer(p, e.cfg.OnTimeout, nil) {
			e.stats.timeouts.Add(1)
			e.log.Warn("fanotify decision timed out", "path", p.path, "tid", p.ev.Pid, "answer", answerName(e.cfg.OnTimeout))
		}
	})
	select {
	case e.queue <- p:
	default:
		if e.answer(p, e.cfg.OnTimeout, nil) {
			e.stats.overloads.Add(1)
		}
		p.close()
	}
}

func answerName(a Answer) string {
	if a == AnswerAllow {
		return "allow"
	}
	return "deny"
}

// fdPath returns the path of the file behind an event fd, from
// /proc/self/fd: the file the kernel is opening, after every symlink and
// relative path was resolved. A file with no link left reads as
// "PATH (deleted)"; the suffix is cut when fstat confirms it.
func fdPath(fd int32, buf []byte) (string, bool) {
	var name [32]byte
	link := strconv.AppendInt(append(name[:0], "/proc/self/fd/"...), int64(fd), 10)
	n, err := unix.Readlink(string(link), buf)
	if err != nil || n <= 0 {
		return "", false
	}
	path := string(buf[:n])
	if s, ok := strings.CutSuffix(path, " (deleted)"); ok {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) == nil && st.Nlink == 0 {
			return s, true
		}
	}
	return path, false
}

// appendPathMatches appends the rules whose path or path_prefix matches
// path; the other matchers are the worker's business.
func appendPathMatches(out, rules []*policy.Rule, path string) []*policy.Rule {
	if path == "" {
		return out
	}
	for _, r := range rules {
		m := &r.Match
		if m.Path != nil && !slices.Contains(m.Path, path) {
			continue
		}
		if m.PathPrefix != nil && !hasPrefix(path, m.PathPrefix) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// appendInodeMatches appends the rules whose exact path named, at start,
// the inode of the event's file: the same file under another name (a hard
// link, a bind mount).
func (e *Engine) appendInodeMatches(out []*policy.Rule, ev fanotify.Event) []*policy.Rule {
	var st unix.Stat_t
	if unix.Fstat(int(ev.Fd), &st) != nil {
		return out
	}
	exec := ev.Mask&unix.FAN_OPEN_EXEC_PERM != 0
	open := ev.Mask&unix.FAN_OPEN_PERM != 0
	for _, r := range e.inodes[devIno{st.Dev, st.Ino}] {
		if (r.Event == event.TypeExec && exec) || (r.Event == event.TypeOpen && open) {
			out = append(out, r)
		}
	}
	return out
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// respond writes an answer, counting failures: the only expected one is
// ErrClosed during shutdown, when the kernel has allowed the event.
func (e *Engine) respond(fd int32, resp uint32) bool {
	if err := e.g.Respond(fd, resp); err != nil {
		e.stats.errors.Add(1)
		return false
	}
	if resp == unix.FAN_ALLOW {
		e.stats.allowed.Add(1)
	} else {
		e.stats.denied.Add(1)
	}
	return true
}

// answer answers p once; it reports whether this call was the one. r is
// the rule that denied, nil for allow or a default answer.
func (e *Engine) answer(p *pending, a Answer, r *policy.Rule) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.answered || p.closed {
		return false
	}
	p.answered = true
	resp := uint32(unix.FAN_ALLOW)
	if a == AnswerDeny {
		resp = unix.FAN_DENY
		if r != nil && e.errno {
			resp = fanotify.DenyErrno(r.Errno)
		}
	}
	e.respond(p.ev.Fd, resp)
	if e.cfg.Observe != nil {
		e.cfg.Observe(time.Since(p.start))
	}
	return true
}

// decide runs in a worker: it reads what the candidate rules need from
// /proc, answers, and emits the denial.
func (e *Engine) decide(p *pending) {
	defer p.close()
	if e.testHook != nil {
		e.testHook()
	}
	if e.stopping.Load() {
		e.answer(p, AnswerAllow, nil)
		return
	}
	ev, rule := e.evaluate(p)
	if rule == nil {
		e.answer(p, AnswerAllow, nil)
		return
	}
	// The caller may be gone a moment after the answer: read what the
	// event reports about it first (denied calls only).
	enrich(ev)
	if rule.Action == policy.ActionKill {
		// SIGKILL first: the caller is still waiting for the answer, so
		// it dies inside the call and never runs another instruction.
		// The deny then covers the moment before the signal lands.
		_ = unix.Kill(int(ev.Process.Pid), unix.SIGKILL)
	}
	if !e.answer(p, AnswerDeny, rule) {
		return // the watchdog answered first
	}
	ev.Verdict = policy.Verdict(rule.Name, rule.Action, policy.MechFanotify, true)
	if e.cfg.Emit != nil {
		e.cfg.Emit(ev)
	}
}

// isOwnThread reports whether tid is a thread of vigil's own process.
func isOwnThread(tid uint32) bool {
	var st unix.Stat_t
	return unix.Stat("/proc/self/task/"+strconv.FormatUint(uint64(tid), 10), &st) == nil
}

// enrich fills in what the decision did not need to read: the executable of the process and its parent's name and exe.
func enrich(ev *event.Event) {
	p := &ev.Process
	if p.Pid != 0 && p.Exe == "" {
		p.Exe = proc.Host.Exe(p.Pid)
	}
	if p.Ppid != 0 && p.ParentComm == "" {
		p.ParentComm = proc.Host.Comm(p.Ppid)
		p.ParentExe = proc.Host.Exe(p.Ppid)
	}
}
