// Package hooks lists every hook installed in the running kernel, by
// anyone: loaded BPF programs with their attach points and owning
// processes, processes under seccomp filters, ftrace-hooked functions,
// kprobe and uprobe events, live patches, loaded modules and the kernel
// taint, and the active LSMs. It is the defender's view: a rootkit that
// hooks kernel_clone through ftrace or a module shows up here.
//
// Collect never fails as a whole: what it cannot read (another user's
// /proc entries without root, tracefs that cannot be mounted) is recorded
// in Snapshot.Problems and the rest is still reported. Snapshots are
// compared with Diff on stable identities (Hook.Key) rather than on
// kernel ids, which change when the same hook is reloaded.
package hooks
