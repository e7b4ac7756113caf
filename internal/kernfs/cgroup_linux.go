package kernfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Cgroup2 returns a mount point of the unified (v2) cgroup hierarchy:
// the first cgroup2 mount of this mount namespace, or, when there is
// none, a new one at /sys/fs/cgroup when nothing is mounted there (a
// cgroup-v2-less boot, a minimal guest), else at /sys/fs/cgroup/unified
// (the place systemd's hybrid layout uses) when that directory exists.
// The unified hierarchy exists from Linux 4.5 whether or not it is
// mounted; mounting it changes no task's cgroup.
func Cgroup2() (string, error) {
	mounts, err := mountsOfType("cgroup2")
	if err != nil {
		return "", err
	}
	if len(mounts) > 0 {
		return mounts[0], nil
	}
	dir := "/sys/fs/cgroup"
	if !is(dir, unix.SYSFS_MAGIC) {
		// Something (a v1 tmpfs) is mounted there already.
		dir = "/sys/fs/cgroup/unified"
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			return "", fmt.Errorf("finding a place to mount cgroup2: /sys/fs/cgroup is taken and %s: %w", dir, err)
		}
	}
	return ensure(dir, "cgroup2", unix.CGROUP2_SUPER_MAGIC)
}
