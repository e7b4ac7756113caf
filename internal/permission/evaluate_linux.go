package permission

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/cgroup"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
)

// evaluate builds the event p stands for, reading from /proc only what
// the candidate rules need, and returns it with the first rule that
// matches (nil for none).
//
// What cannot be read fails closed: a matcher whose data is missing (the
// process vanished, /proc/TID/syscall is refused, the call is openat2)
// counts as matching, because every candidate's path already matched a
// deny rule and an attacker should not escape by making /proc fail.
func (e *Engine) evaluate(p *pending) (*event.Event, *policy.Rule) {
	tid := uint32(p.ev.Pid)
	exec := p.ev.Mask&unix.FAN_OPEN_EXEC_PERM != 0
	ev := &event.Event{Time: time.Now(), Process: event.Process{Tid: tid}}
	var st unix.Stat_t
	statOK := unix.Fstat(int(p.ev.Fd), &st) == nil
	if exec {
		ev.Type = event.TypeExec
		ev.Exec = &event.Exec{Path: p.path, Deleted: p.deleted}
		if statOK {
			ev.Exec.Dev, ev.Exec.Ino = uint64(st.Dev), st.Ino
		}
	} else {
		ev.Type = event.TypeOpen
		ev.Open = &event.Open{ResolvedPath: p.path, Result: -int64(unix.EPERM)}
	}

	ctxOK := cgroup.FromProc(int(tid), &ev.Process)
	need := needsOf(p.candidates)
	ps, psOK := readStatus(tid)
	if psOK {
		ev.Process.Pid, ev.Process.Ppid, ev.Process.Uid, ev.Process.Gid, ev.Process.Comm = ps.Tgid, ps.Ppid, ps.Uid[0], ps.Gid[0], ps.Name
	}
	if need.parent && psOK {
		ev.Process.ParentComm = proc.Host.Comm(ps.Ppid)
		ev.Process.ParentExe = proc.Host.Exe(ps.Ppid)
	}
	flagsOK := false
	if need.flags && !exec {
		if nr, args, ok := readSyscall(tid); ok {
			ev.Open.Flags, flagsOK = openFlags(nr, args)
		}
	}
	// For exec, comm matchers compare the name the program will run
	// under; the event reports the caller as it is.
	match := *ev
	if exec {
		match.Process.Comm = taskComm(p.path)
	}
	for _, r := range p.candidates {
		if (r.Event == event.TypeExec) != exec {
			continue
		}
		if failClosed(r, &match, psOK, flagsOK, ctxOK, p.byInode).Matches(&match, procAncestry{}) {
			return ev, r
		}
	}
	return ev, nil
}

// needs says which /proc reads a set of rules calls for.
type needs struct{ parent, flags bool }

func needsOf(rules []*policy.Rule) needs {
	var n needs
	for _, r := range rules {
		n.parent = n.parent || r.Match.ParentComm != nil
		n.flags = n.flags || r.Match.OpenFlags != nil
	}
	return n
}

// failClosed returns r, or a copy of r without the matchers whose data
// could not be read, so that they count as matching, and without its
// path matchers when the file matched by inode under another name.
func failClosed(r *policy.Rule, ev *event.Event, procOK, flagsOK, ctxOK, byInode bool) *policy.Rule {
	m := r.Match
	changed := false
	if !ctxOK && (m.Container != nil || m.ContainerID != nil || m.CgroupPrefix != nil) {
		m.Container, m.ContainerID, m.CgroupPrefix = nil, nil, nil
		changed = true
	}
	if byInode {
		m.Path, m.PathPrefix = nil, nil
		changed = true
	}
	if !procOK && (m.Comm != nil || m.Uid != nil || m.ParentComm != nil || m.AncestorPathPrefix != nil) {
		m.Comm, m.Uid, m.ParentComm, m.AncestorPathPrefix = nil, nil, nil, nil
		changed = true
	}
	if ev.Type == event.TypeOpen && m.OpenFlags != nil && !flagsOK {
		m.OpenFlags = nil
		changed = true
	}
	if !changed {
		return r
	}
	c := *r
	c.Match = m
	return &c
}
