// Package kernfs finds, and mounts when they are missing, the kernel's
// pseudo file systems vigil reads: tracefs (tracepoint ids, ftrace state,
// kprobe events), securityfs (active LSMs, lockdown) and the unified
// cgroup hierarchy (cgroup2: the paths of the cgroups events name).
//
// Mounting is the only side effect, and it is idempotent: each function
// first looks for an existing mount (statfs magic) and mounts at the
// standard place only when there is none. A mount needs CAP_SYS_ADMIN;
// without it the functions return an error wrapping the errno, which
// callers report as "could not check".
package kernfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Tracefs returns the tracefs mount point, mounting tracefs at
// /sys/kernel/tracing if neither it nor /sys/kernel/debug/tracing holds
// one. tracefs exists from Linux 4.1.
func Tracefs() (string, error) {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if is(dir, unix.TRACEFS_MAGIC) {
			return dir, nil
		}
	}
	return ensure("/sys/kernel/tracing", "tracefs", unix.TRACEFS_MAGIC)
}

// Securityfs returns the securityfs mount point, mounting it at
// /sys/kernel/security when it is not mounted.
func Securityfs() (string, error) {
	return ensure("/sys/kernel/security", "securityfs", unix.SECURITYFS_MAGIC)
}

// Bpffs returns the mount points of every BPF file system instance
// mounted in this mount namespace. It never mounts one: a new bpffs
// instance is empty, so mounting it shows nothing pinned by others.
func Bpffs() ([]string, error) {
	return mountsOfType("bpf")
}

// ensure mounts fstype at dir unless dir already holds a file system with
// the given magic.
func ensure(dir, fstype string, magic int64) (string, error) {
	if is(dir, magic) {
		return dir, nil
	}
	err := unix.Mount(fstype, dir, fstype, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return "", fmt.Errorf("mounting %s at %s: %w", fstype, dir, err)
	}
	if !is(dir, magic) {
		return "", fmt.Errorf("mounting %s at %s: no %s there after mount", fstype, dir, fstype)
	}
	return dir, nil
}

// is reports whether dir is the root of a file system with the given magic.
func is(dir string, magic int64) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return int64(st.Type) == magic
}
