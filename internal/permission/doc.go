// Package permission is the fanotify permission engine: it answers
// FAN_OPEN_EXEC_PERM and FAN_OPEN_PERM permission events for the exec and
// open deny rules that policy.Set.Plan gave to fanotify, and kills the
// caller of an exec that a kill rule's fanotify shadow catches (a script,
// which the kernel's exec hook sees only as its interpreter). Kill through
// bpf_send_signal and deny through BPF LSM are carried out by the sensors'
// programs (bpf/, internal/sensor); docs/architecture.md has the table of
// which mechanism decides which verdict.
//
// The engine decides from the file the kernel is about to open, as the
// event fd's /proc/self/fd link names it, so symlinks and relative paths
// cannot slip past a path rule; and from /proc for the process, read only
// when a rule's path already matched. Every permission event is answered
// within a time bound, and on shutdown or death the kernel answers allow
// for everything left (see internal/fanotify).
//
// Errors: New returns errors wrapping fanotify.ErrNotSupported (the same
// sentinel as doctor.ErrNotSupported and ebpf.ErrNotSupported) when the
// kernel cannot do what the rules need; Run returns nil when its context
// ends and an error only when it cannot read the group at all.
package permission
