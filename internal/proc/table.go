// Package proc parses /proc and keeps vigil's process table: what is known
// of every live process (parent, comm, executable), seeded from /proc at
// start-up and kept current by fork, exec and exit events, so that events
// from processes older than vigil still carry their executable and
// ancestry.
//
// It is vigil's one reader of /proc/PID/status (ParseStatus, FS.Status),
// exe and comm: the fanotify engine, the seccomp supervisor and hooks read
// processes through it. Errors: FS.Status wraps the error of the read (a
// process that has ended gives one matching fs.ErrNotExist or ESRCH) or
// says which line did not parse; FS.Exe and FS.Comm return "" when the
// process has none or is gone.
//
// The table is bounded: entries leave on exit, and when it reaches its
// capacity (a lost exit event leaves a stale entry), entries whose process
// is gone from /proc are pruned. Lookups of unknown pids fall back to
// /proc once and cache the answer.
package proc

import (
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Entry is what the table knows of one process (thread group).
type Entry struct {
	Pid  uint32
	Ppid uint32
	Uid  uint32
	Comm string
	Exe  string
	// Start is when the process was forked (from the fork event, or
	// /proc/PID/stat for processes older than vigil); zero when unknown.
	Start time.Time
	// Args is the argv of its last exec, bounded by MaxArgs and
	// MaxArgBytes; nil when unknown. Never modified once stored.
	Args []string
	// Container is the container the process runs in, as the last
	// event from it said (a fork passes it on); nil on the host or when
	// no event said. Shared, never modified.
	Container *event.Container
}

// The bounds on Entry.Args: with DefaultCapacity entries the args take
// at most 128 MiB, and a host's few thousand processes a few MiB.
const (
	MaxArgs     = 16
	MaxArgBytes = 512
)

// Table maps pids to entries. It is safe for concurrent use.
type Table struct {
	fs FS // Host outside tests

	mu  sync.RWMutex
	m   map[uint32]*Entry
	cap int
}

// DefaultCapacity bounds the table: far above the live processes of any
// host, far below the memory target.
const DefaultCapacity = 1 << 18

// NewTable returns an empty table reading procfs at fs (Host) that holds
// at most capacity entries (DefaultCapacity when <= 0).
func NewTable(fs FS, capacity int) *Table {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Table{fs: fs, m: make(map[uint32]*Entry), cap: capacity}
}

// Len returns the number of entries.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// Get returns the entry for pid, reading /proc when the table has none.
func (t *Table) Get(pid uint32) (Entry, bool) {
	t.mu.RLock()
	e, ok := t.m[pid]
	var v Entry
	if ok {
		v = *e
	}
	t.mu.RUnlock()
	if ok {
		return v, true
	}
	fresh, err := ReadEntry(t.fs, pid)
	if err != nil {
		return Entry{}, false
	}
	t.put(&fresh)
	return fresh, true
}

// Fork records a new process child of parent, started at start: it
// starts with the parent's executable, comm and args, as fork does.
func (t *Table) Fork(parent, child uint32, start time.Time) {
	t.mu.Lock()
	e := &Entry{Pid: child, Ppid: parent, Start: start}
	if p, ok := t.m[parent]; ok {
		e.Comm, e.Exe, e.Uid, e.Args, e.Container = p.Comm, p.Exe, p.Uid, p.Args, p.Container
	}
	t.putLocked(e)
	t.mu.Unlock()
}

// Exec records that pid now runs exe under the given comm with args
// (copied, within MaxArgs and MaxArgBytes; the caller may reuse them).
func (t *Table) Exec(pid, ppid, uid uint32, comm, exe string, args []string) {
	kept := boundArgs(args)
	t.mu.Lock()
	e, ok := t.m[pid]
	if !ok {
		e = &Entry{Pid: pid}
		t.putLocked(e)
	}
	e.Ppid, e.Uid, e.Comm, e.Exe, e.Args = ppid, uid, comm, exe, kept
	t.mu.Unlock()
}

// SetContainer records that pid runs in container c (nil: on the host).
// It takes the write lock only when that changes what the table holds,
// so calling it for every event costs a read lock.
func (t *Table) SetContainer(pid uint32, c *event.Container) {
	t.mu.RLock()
	e, ok := t.m[pid]
	same := !ok || e.Container == c
	t.mu.RUnlock()
	if same {
		return
	}
	t.mu.Lock()
	if e, ok := t.m[pid]; ok {
		e.Container = c
	}
	t.mu.Unlock()
}

// boundArgs copies args, all their bytes in one string, cutting at
// MaxArgs arguments and MaxArgBytes bytes.
func boundArgs(args []string) []string {
	if args == nil {
		return nil
	}
	n, size := 0, 0
	for _, a := range args {
		if n == MaxArgs || size+len(a) > MaxArgBytes {
			break
		}
		n++
		size += len(a)
	}
	var b strings.Builder
	b.Grow(size)
	for _, a := range args[:n] {
		b.WriteString(a)
	}
	all := b.String()
	out := make([]string, n)
	off := 0
	for i, a := range args[:n] {
		out[i] = all[off : off+len(a)]
		off += len(a)
	}
	return out
}

// AppendAncestors appends to dst up to max ancestors of pid, parent
// first, stopping after pid 1 or at a process the table does not hold.
// Unlike Get it never reads /proc and, given room in dst, never
// allocates: it is meant for every event.
func (t *Table) AppendAncestors(dst []event.Ancestor, pid uint32, max int) []event.Ancestor {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.m[pid]
	for n := 0; ok && n < max && e.Ppid != 0 && e.Ppid != e.Pid; n++ {
		if e, ok = t.m[e.Ppid]; ok {
			dst = append(dst, event.Ancestor{Pid: e.Pid, Comm: e.Comm, Exe: e.Exe, Start: e.Start, Args: e.Args})
		}
	}
	return dst
}

// Snapshot returns a copy of every entry, in no particular order.
func (t *Table) Snapshot() []Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Entry, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, *e)
	}
	return out
}

// Exit removes pid: its whole thread group has ended.
func (t *Table) Exit(pid uint32) {
	t.mu.Lock()
	delete(t.m, pid)
	t.mu.Unlock()
}

// Ancestors returns up to max ancestors of pid, parent first, stopping at
// pid 0 or at a process the table cannot find.
func (t *Table) Ancestors(pid uint32, max int) []Entry {
	var out []Entry
	e, ok := t.Get(pid)
	for ok && len(out) < max && e.Ppid != 0 && e.Ppid != e.Pid {
		e, ok = t.Get(e.Ppid)
		if ok {
			out = append(out, e)
		}
	}
	return out
}

func (t *Table) put(e *Entry) {
	t.mu.Lock()
	t.putLocked(e)
	t.mu.Unlock()
}

func (t *Table) putLocked(e *Entry) {
	if _, ok := t.m[e.Pid]; !ok && len(t.m) >= t.cap {
		t.pruneLocked()
	}
	t.m[e.Pid] = e
}

// pruneLocked drops entries whose process no longer exists, and if that
// frees nothing, an arbitrary eighth of the table: memory stays bounded
// even if /proc cannot tell.
func (t *Table) pruneLocked() {
	for pid := range t.m {
		if !t.fs.alive(pid) {
			delete(t.m, pid)
		}
	}
	if len(t.m) < t.cap {
		return
	}
	n := t.cap / 8
	for pid := range t.m {
		if n == 0 {
			break
		}
		delete(t.m, pid)
		n--
	}
}
