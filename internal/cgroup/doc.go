// Package cgroup turns the cgroup of an event into what an operator
// reads: the cgroup's path in the unified (v2) hierarchy and the
// container it belongs to.
//
// ParseContainer is pure: it recognises the path layouts of docker,
// containerd and CRI (Kubernetes), CRI-O, podman, systemd-nspawn and LXC.
// Resolver maps the cgroup ids the eBPF sensors report (the inode number
// of the cgroup's directory) to paths, with a cache; it is the only part
// that touches the kernel. FromProc reads the same context from
// /proc/PID for the sources that already read /proc (the seccomp
// supervisor, fanotify).
//
// Errors: NewResolver fails when no cgroup2 hierarchy can be found or
// mounted; Lookup never fails, it reports an unresolvable id with an
// empty path.
package cgroup
