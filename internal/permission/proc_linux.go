package permission

import (
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/proc"
)

// readStatus reads /proc/<id>/status (id may be a tid) and reports
// whether it has every field the engine decides on.
func readStatus(id uint32) (proc.Status, bool) {
	st, err := proc.Host.Status(id)
	return st, err == nil && st.Has(proc.FieldName|proc.FieldTgid|proc.FieldPpid|proc.FieldUid|proc.FieldGid)
}

// readSyscall parses /proc/<tid>/syscall: the number and arguments of the
// call the task is blocked in ("nr a0 a1 a2 a3 a4 a5 sp pc"). It needs
// ptrace access to the task, which root has unless Yama's ptrace_scope
// is 3.
//
// fanotify queues the event before the task goes to sleep waiting for
// the answer. Kernels before 6.2 report such a task as "running" instead
// of waiting for it to be off the CPU, so a "running" task is read again
// for a few milliseconds.
func readSyscall(tid uint32) (nr int64, args [6]uint64, ok bool) {
	path := "/proc/" + strconv.FormatUint(uint64(tid), 10) + "/syscall"
	var f []string
	for try := 0; ; try++ {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, args, false
		}
		f = strings.Fields(string(b))
		if len(f) != 1 || f[0] != "running" || try == syscallRetries {
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	if len(f) < 7 {
		return 0, args, false // "running" or "-1 sp pc"
	}
	nr, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, args, false
	}
	for i := range args {
		v, err := strconv.ParseUint(strings.TrimPrefix(f[i+1], "0x"), 16, 64)
		if err != nil {
			return 0, args, false
		}
		args[i] = v
	}
	return nr, args, true
}

// syscallRetries bounds the rereads of a "running" task: 25 x 200 µs.
const syscallRetries = 25

// procAncestry implements policy.Ancestry from /proc, walking PPid links.
type procAncestry struct{}

// Ancestors yields the exe of pid's parent, grandparent, ... up to init.
func (procAncestry) Ancestors(pid uint32) iter.Seq[string] {
	return func(yield func(string) bool) {
		for range 64 { // a bound against a cycle through pid reuse
			st, ok := readStatus(pid)
			if !ok || st.Ppid == 0 {
				return
			}
			pid = st.Ppid
			if !yield(proc.Host.Exe(pid)) {
				return
			}
		}
	}
}

// taskComm returns the comm a process gets when it executes path: the
// base name, cut to 15 bytes (fs/exec.c, __set_task_comm(kbasename())).
// The kernel takes the name the caller passed; this takes the resolved
// one, so a symlink's own name does not hide the target.
func taskComm(path string) string {
	b := filepath.Base(path)
	if len(b) > 15 {
		b = b[:15]
	}
	return b
}
