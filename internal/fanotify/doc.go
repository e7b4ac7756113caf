// Package fanotify is a small binding for fanotify(7) permission events:
// creating a group (Init), marking filesystems or mounts (Group.Mark),
// reading and decoding event metadata (Group.Read, Decode) and answering
// permission events (Group.Respond). It holds no policy: internal/permission
// decides.
//
// Permission events block the task that caused them until the group
// answers, so whoever reads a Group must answer every permission event
// and close every event fd. When the group's fd is closed (including when
// the process dies, even by SIGKILL) the kernel answers allow for every
// event still pending (fs/notify/fanotify/fanotify_user.c,
// fanotify_release), so no task stays blocked on a dead reader.
//
// Error contract, as in cilium/ebpf's features package: a probe returns
// nil when the feature is supported, ErrNotSupported when the kernel lacks
// it, and any other error when it could not tell (for example EPERM
// without CAP_SYS_ADMIN).
package fanotify
