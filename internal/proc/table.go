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
	"sync"
)

// Entry is what the table knows of one process (thread group).
type Entry struct {
	Pid  uint32
	Ppid uint32
	Uid  uint32
	Comm string
	Exe  string
}

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

// Fork records a new process child of parent: it starts with the
// parent's executable and comm, as fork does.
func (t *Table) Fork(parent, child uint32) {
	t.mu.Lock()
	e := &Entry{Pid: child, Ppid: parent}
	if p, ok := t.m[parent]; ok {
		e.Comm, e.Exe, e.Uid = p.Comm, p.Exe, p.Uid
	}
	t.putLocked(e)
	t.mu.Unlock()
}

// Exec records that pid now runs exe under the given comm.
func (t *Table) Exec(pid, ppid, uid uint32, comm, exe string) {
	t.mu.Lock()
	e, ok := t.m[pid]
	if !ok {
		e = &Entry{Pid: pid}
		t.putLocked(e)
	}
	e.Ppid, e.Uid, e.Comm, e.Exe = ppid, uid, comm, exe
	t.mu.Unlock()
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
