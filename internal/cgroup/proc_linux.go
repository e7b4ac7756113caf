package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernfs"
)

// ProcPath returns the unified-hierarchy cgroup path of process pid, as
// /proc/PID/cgroup gives it (relative to the reader's cgroup namespace).
func ProcPath(pid int) (string, error) { return ProcPathAt("/proc", pid) }

// ProcPathAt is ProcPath with procfs at root.
func ProcPathAt(root string, pid int) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", fmt.Errorf("reading cgroup of %d: %w", pid, err)
	}
	p, err := parseProcCgroup(b)
	if err != nil {
		return "", fmt.Errorf("reading cgroup of %d: %w", pid, err)
	}
	return p, nil
}

// ProcNamespaces returns the namespaces of process pid from the inode
// numbers of /proc/PID/ns/{pid,mnt,net,user}; those it cannot read are 0.
func ProcNamespaces(pid int) event.Namespaces {
	dir := "/proc/" + strconv.Itoa(pid) + "/ns/"
	ino := func(name string) uint32 {
		var st unix.Stat_t
		if unix.Stat(dir+name, &st) != nil {
			return 0
		}
		return uint32(st.Ino)
	}
	return event.Namespaces{Pid: ino("pid"), Mnt: ino("mnt"), Net: ino("net"), User: ino("user")}
}

// FromProc fills p's cgroup, namespaces and container from /proc/PID,
// for event sources that read /proc anyway (the seccomp supervisor,
// fanotify): a read of /proc/PID/cgroup, four stats of /proc/PID/ns/*
// and one of the cgroup's directory for its id. What cannot be read (the
// process is gone, no cgroup2 hierarchy) is left unset; it reports
// whether the cgroup path was read.
func FromProc(pid int, p *event.Process) bool {
	p.Namespaces = ProcNamespaces(pid)
	path, err := ProcPath(pid)
	if err != nil {
		return false
	}
	p.Cgroup.Path = path
	p.Container = ParseContainer(path)
	if root := hierarchy(); root != "" {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(root, path), &st) == nil {
			p.Cgroup.ID = st.Ino
		}
	}
	return true
}

var (
	rootOnce sync.Once
	root     string
)

// hierarchy returns the cgroup2 mount point, found (or mounted) once;
// "" when there is none.
func hierarchy() string {
	rootOnce.Do(func() {
		root, _ = kernfs.Cgroup2()
	})
	return root
}
