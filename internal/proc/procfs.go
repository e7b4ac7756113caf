package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FS is a procfs mount point: Host on a running system, a directory laid
// out like procfs in tests.
type FS string

// Host is procfs at its standard place.
const Host FS = "/proc"

// path returns the path of file in the directory of pid.
func (fs FS) path(pid uint32, file string) string {
	return string(fs) + "/" + strconv.FormatUint(uint64(pid), 10) + "/" + file
}

// Pids returns the ids of the processes (thread-group leaders) procfs
// lists. A process may end at any moment after.
func (fs FS) Pids() ([]uint32, error) {
	ents, err := os.ReadDir(string(fs))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", fs, err)
	}
	pids := make([]uint32, 0, len(ents))
	for _, d := range ents {
		if pid, err := strconv.ParseUint(d.Name(), 10, 32); err == nil {
			pids = append(pids, uint32(pid))
		}
	}
	return pids, nil
}

// Status reads and parses /proc/PID/status. pid may be a thread id:
// procfs resolves every thread id, though it lists only the leaders.
func (fs FS) Status(pid uint32) (Status, error) {
	b, err := os.ReadFile(fs.path(pid, "status"))
	if err != nil {
		return Status{}, fmt.Errorf("reading status of %d: %w", pid, err)
	}
	s, err := ParseStatus(b)
	if err != nil {
		return s, fmt.Errorf("parsing status of %d: %w", pid, err)
	}
	return s, nil
}

// Exe returns the target of /proc/PID/exe, "" when there is none: a
// kernel thread, a process that has ended, or one vigil may not inspect.
func (fs FS) Exe(pid uint32) string {
	s, err := os.Readlink(fs.path(pid, "exe"))
	if err != nil {
		return ""
	}
	return s
}

// Comm returns /proc/PID/comm without its newline, "" when unknown.
// Unlike the Name line of status, comm is not escaped.
func (fs FS) Comm(pid uint32) string {
	b, err := os.ReadFile(fs.path(pid, "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// HasModules reports whether the kernel supports loadable modules
// (CONFIG_MODULES): /proc/modules exists exactly then (kernel/module/procfs.c).
func (fs FS) HasModules() bool {
	_, err := os.Stat(string(fs) + "/modules")
	return !errors.Is(err, os.ErrNotExist)
}

// KernelRelease returns the running kernel's release, as uname -r prints
// it (/proc/sys/kernel/osrelease, the UTS namespace's utsname()->release),
// "" when unknown.
func (fs FS) KernelRelease() string {
	b, err := os.ReadFile(string(fs) + "/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Seed fills the table from every process under its procfs root. A
// process that ends while it is read is skipped.
func (t *Table) Seed() error {
	pids, err := t.fs.Pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		e, err := ReadEntry(t.fs, pid)
		if err != nil {
			continue
		}
		t.put(&e)
	}
	return nil
}

// ReadEntry reads what the table keeps of pid from fs.
func ReadEntry(fs FS, pid uint32) (Entry, error) {
	st, err := fs.Status(pid)
	if err != nil {
		return Entry{}, err
	}
	e, err := entryOf(st)
	if err != nil {
		return Entry{}, fmt.Errorf("parsing status of %d: %w", pid, err)
	}
	e.Pid = pid
	// Kernel threads have no executable; Exe stays "" and Args nil.
	e.Exe = fs.Exe(pid)
	e.Start = fs.StartTime(pid)
	if e.Exe != "" {
		e.Args = boundArgs(fs.Cmdline(pid))
	}
	return e, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on
// every architecture Linux runs vigil on (include/asm-generic/param.h).
const clockTicks = 100

// StartTime returns when pid started, from field 22 (starttime, clock
// ticks after boot) of /proc/PID/stat and btime of /proc/stat; zero when
// either cannot be read.
func (fs FS) StartTime(pid uint32) time.Time {
	b, err := os.ReadFile(fs.path(pid, "stat"))
	if err != nil {
		return time.Time{}
	}
	// comm (field 2) may hold spaces and parentheses: count fields after
	// its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return time.Time{}
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 20 {
		return time.Time{}
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return time.Time{}
	}
	bt := fs.bootTime()
	if bt.IsZero() {
		return time.Time{}
	}
	return bt.Add(time.Duration(ticks) * time.Second / clockTicks)
}

// bootTimes caches btime per FS: seeding asks once per process, and
// /proc/stat is long on hosts with many CPUs.
var bootTimes sync.Map // FS -> time.Time

// bootTime returns btime of /proc/stat; zero when unknown.
func (fs FS) bootTime() time.Time {
	if v, ok := bootTimes.Load(fs); ok {
		return v.(time.Time)
	}
	bt := fs.readBootTime()
	if !bt.IsZero() {
		bootTimes.Store(fs, bt)
	}
	return bt
}

func (fs FS) readBootTime() time.Time {
	b, err := os.ReadFile(string(fs) + "/stat")
	if err != nil {
		return time.Time{}
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
}

// Cmdline returns the argv in /proc/PID/cmdline; nil when it cannot be
// read or is empty (kernel threads, zombies).
func (fs FS) Cmdline(pid uint32) []string {
	b, err := os.ReadFile(fs.path(pid, "cmdline"))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// entryOf takes an Entry's Comm, Ppid and Uid (the real one) from st.
func entryOf(st Status) (Entry, error) {
	if !st.Has(FieldName | FieldPpid | FieldUid) {
		return Entry{}, fmt.Errorf("missing Name, PPid or Uid")
	}
	return Entry{Comm: st.Name, Ppid: st.Ppid, Uid: st.Uid[0]}, nil
}

func (fs FS) alive(pid uint32) bool {
	_, err := os.Stat(fs.path(pid, ""))
	return err == nil
}
