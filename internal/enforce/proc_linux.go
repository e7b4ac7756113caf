package enforce

import (
	"bytes"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procStatus is what the engine reads from /proc/PID/status.
type procStatus struct {
	comm            string
	tgid, ppid, uid uint32
	gid             uint32
}

// readStatus reads /proc/<id>/status (id may be a tid: /proc resolves any
// thread id even though it lists only thread-group leaders).
func readStatus(id uint32) (procStatus, bool) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(id), 10) + "/status")
	if err != nil {
		return procStatus{}, false
	}
	var st procStatus
	seen := 0
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch string(k) {
		case "Name":
			// status escapes \n and \\ in the name; comm matchers
			// compare the escaped form only for such odd names.
			st.comm = string(v)
			seen++
		case "Tgid":
			st.tgid = firstUint(v)
			seen++
		case "PPid":
			st.ppid = firstUint(v)
			seen++
		case "Uid":
			st.uid = firstUint(v)
			seen++
		case "Gid":
			st.gid = firstUint(v)
			seen++
		}
		if seen == 5 {
			break
		}
	}
	return st, seen == 5
}

// firstUint parses the first whitespace-separated number in v.
func firstUint(v []byte) uint32 {
	if i := bytes.IndexAny(v, " \t"); i >= 0 {
		v = v[:i]
	}
	n, _ := strconv.ParseUint(string(v), 10, 32)
	return uint32(n)
}

// readComm returns /proc/<pid>/comm without its newline.
func readComm(pid uint32) string {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// readExe returns the target of /proc/<pid>/exe, "" when unknown.
func readExe(pid uint32) string {
	s, err := os.Readlink("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/exe")
	if err != nil {
		return ""
	}
	return s
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
			if !ok || st.ppid == 0 {
				return
			}
			pid = st.ppid
			if !yield(readExe(pid)) {
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
