/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * events.h: every record that crosses the ring buffer from vigil's eBPF
 * programs to userspace. bpf2go generates the Go mirror of each struct
 * (-type), so the layouts here are the single definition.
 */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#define COMM_LEN 16
#define NAME_LEN 256         /* a path component, NAME_MAX + 1 */
#define FILENAME_LEN 256     /* a file name as the caller passed it */
#define ARGS_LEN 4096        /* bytes of argv kept for an exec */
#define PATH_LEN 4096        /* bytes of path components kept */
#define DATA_LEN 16384       /* variable data area; offsets are masked */
#define DATA_MASK (8192 - 1) /* offset mask: mask + one field < DATA_LEN */
#define MAX_PATH_DEPTH 48    /* path components walked before giving up */

enum event_type {
	EV_FORK = 1,
	EV_EXEC = 2,
	EV_EXIT = 3,
	EV_MODULE = 4,
	EV_MPROTECT = 5,
	EV_OPEN = 6,
	EV_CONNECT = 7,
	EV_ACCEPT = 8,
	EV_LISTEN = 9,
	EV_UNLINK = 10,
	EV_RENAME = 11,
	EV_LINK = 12,
	EV_SYMLINK = 13,
	EV_CHMOD = 14,
	EV_CHOWN = 15,
	EV_CRED = 16,
	EV_PTRACE = 17,
	EV_NAMESPACE = 18,
	EV_MOUNT = 19,
	EV_BPF = 20,
	EV_TYPE_MAX = 21,
};

/* mechanism: which program variant produced the record. */
enum mechanism {
	MECH_TRACEPOINT = 1, /* classic tracepoint (syscalls:*, sched:*) */
	MECH_TP_BTF = 2,     /* BTF-typed raw tracepoint */
	MECH_FENTRY = 3,     /* fentry/fexit ftrace trampoline */
	MECH_RAW_SYSCALL = 4, /* raw_syscalls sys_enter/sys_exit, filtered by nr */
	MECH_LSM = 5,         /* BPF LSM hook */
};

/* Flags in event_hdr.flags. */
enum hdr_flags {
	HDR_VERDICT = 1 << 0,  /* a kernel-side rule matched: rule/action set */
	HDR_ENFORCED = 1 << 1, /* the action was carried out */
};

/* Actions a kernel-side rule can take. */
enum action {
	ACT_LOG = 1,
	ACT_KILL = 2,
	ACT_DENY = 3,
};

struct event_hdr {
	__u64 ktime;
	__u32 type;
	__u32 mech;
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 ppid; /* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 flags;
	__u32 rule;   /* rule id, with HDR_VERDICT */
	__u32 action; /* enum action, with HDR_VERDICT */
	__u8 comm[COMM_LEN];
	/*
	 * Container context (fill_ctx in common.h): the task's cgroup in the
	 * default (v2) hierarchy, whose id is the inode number of its
	 * directory under the cgroup2 mount, and the inode numbers of its
	 * pid (active, not for children), mount, network and user
	 * namespaces, as in /proc/PID/ns/. 0 where unreadable.
	 */
	__u64 cgroup_id;
	__u32 pid_ns;
	__u32 mnt_ns;
	__u32 net_ns;
	__u32 user_ns;
};

enum fork_flags {
	FORK_HAS_CLONE_FLAGS = 1 << 0,
	FORK_THREAD = 1 << 1,
};

struct fork_event {
	struct event_hdr hdr;
	__u64 clone_flags;
	__u32 child_pid; /* child's tgid */
	__u32 child_tid;
	__u32 flags; /* enum fork_flags */
	__u32 _pad;
};

enum exit_flags {
	EXIT_THREAD = 1 << 0, /* other threads of the group live on */
};

struct exit_event {
	struct event_hdr hdr;
	__u32 code; /* kernel exit_code: status << 8 | core << 7 | signal */
	__u32 flags;
};

/* Flags of a resolved file (exec and module files). */
enum file_flags {
	FILE_UNLINKED = 1 << 0,   /* i_nlink == 0 */
	FILE_PATH_TRUNC = 1 << 1, /* the path walk stopped early */
	FILE_INTERNAL = 1 << 2,   /* on an internal mount: no path from / (memfd) */
	ARGS_TRUNC = 1 << 3,      /* argv was longer than ARGS_LEN */
};

/*
 * Variable data (data[]) holds, back to back: the file name as passed
 * (NUL-terminated), the path components of the file from leaf to root
 * (each NUL-terminated; path_len bytes), then argv (args_len bytes, each
 * argument NUL-terminated).
 */
struct exec_event {
	struct event_hdr hdr;
	__u64 base_addr; /* mm->start_code */
	__u64 ino;
	__u32 dev;
	__u32 euid;
	__u32 file_flags;
	__u32 filename_len;
	__u32 path_len;
	__u32 args_len;
	__u8 data[DATA_LEN];
};

enum module_syscall {
	MOD_INIT = 1,
	MOD_FINIT = 2,
	MOD_KERNEL = 3, /* seen inside the kernel at do_init_module */
};

/* data[] holds the module file's path components (finit_module). */
struct module_event {
	struct event_hdr hdr;
	__s64 result;
	__s32 fd;
	__u32 syscall;
	__u32 file_flags;
	__u32 path_len;
	__u8 name[64];
	__u8 data[DATA_LEN];
};

enum mprotect_flags {
	MPROT_HAS_OLD = 1 << 0,
	MPROT_PKEY = 1 << 1,
	MPROT_MMAP = 1 << 2, /* an mmap asking for PROT_EXEC, not an mprotect */
	MPROT_FILE = 1 << 3, /* dev and ino name the file mapped */
	MPROT_UNCHECKED = 1 << 4, /* exec rules on files: mappings of the range past the first two not checked (no bpf_find_vma) */
	MPROT_PENDING = 1 << 31, /* in-kernel only: enter seen, exit not yet */
};

struct mprotect_event {
	struct event_hdr hdr;
	__u64 addr;
	__u64 len;
	__s64 result;
	__u32 prot;
	__u32 old_prot; /* PROT_* of the mapping at addr before the call */
	__u32 flags;
	__u32 _pad;
	__u64 ino;       /* with MPROT_FILE */
	__u32 dev;       /* with MPROT_FILE */
	__u32 map_flags; /* mmap: MAP_* flags */
	__s32 fd;        /* mmap: the descriptor, -1 for none */
	__u32 _pad2;
};

enum open_syscall {
	OPEN_OPEN = 1,
	OPEN_OPENAT = 2,
	OPEN_OPENAT2 = 3,
};

/* open_event.xflags: how the open was made and what vigil could see of it. */
enum open_xflags {
	OPEN_IO_URING = 1 << 0,   /* an io_uring request (IORING_OP_OPENAT, _OPENAT2), not a system call */
	OPEN_FIXED_FILE = 1 << 1, /* io_uring: opened into a registered file slot, not a descriptor */
	OPEN_UNRESOLVED = 1 << 2, /* succeeded, but the file opened could not be looked up */
	OPEN_NO_RESULT = 1 << 3,  /* io_uring: no completion on success (IOSQE_CQE_SKIP_SUCCESS); seen at submission */
};

/* data[] holds the file name as passed, then the opened file's path components. */
struct open_event {
	struct event_hdr hdr;
	__s64 result;
	__s32 dirfd;
	__u32 flags;
	__u32 mode;
	__u32 syscall;
	__u32 file_flags;
	__u32 filename_len;
	__u32 path_len;
	__u32 xflags; /* enum open_xflags */
	__u8 data[DATA_LEN];
};

enum net_syscall {
	NET_CONNECT = 1,
	NET_ACCEPT = 2,
	NET_ACCEPT4 = 3,
	NET_LISTEN = 4,
};

/* net_event.xflags: what vigil could see of the socket and addresses. */
enum net_xflags {
	NET_HAS_LOCAL = 1 << 0,    /* local holds the socket's bound address */
	NET_HAS_REMOTE = 1 << 1,   /* remote holds the peer's address */
	NET_HAS_LISTENER = 1 << 2, /* accept: listener holds the listening socket's address */
	NET_REMOTE_UNRESOLVED = 1 << 3, /* connect: the caller's address could not be read */
	NET_SOCK_UNRESOLVED = 1 << 4,   /* no socket could be read behind the descriptor */
	NET_IO_URING = 1 << 5,          /* an io_uring request, not a system call */
};

#define NET_PATH_LEN 108 /* sizeof(sockaddr_un.sun_path) */

/*
 * A socket address. family is the address's own family (AF_*), which for
 * a family vigil does not decode is reported as is with nothing else.
 */
struct net_addr {
	__u16 family;
	__u16 port;     /* host order */
	__u32 path_len; /* AF_UNIX: bytes of sun_path (an abstract name starts with NUL) */
	__u8 addr[16];  /* AF_INET: the first 4 bytes; AF_INET6: all 16 */
	__u8 path[NET_PATH_LEN];
};

/* connect, accept and listen: the call, the socket and its addresses. */
struct net_event {
	struct event_hdr hdr;
	__s64 result;
	__s32 fd;       /* the descriptor the call was made on (accept: the listener) */
	__u32 syscall;  /* enum net_syscall */
	__u32 family;   /* the socket's family (sk_family) */
	__u32 type;     /* SOCK_STREAM, SOCK_DGRAM, ... (sk_type) */
	__u32 protocol; /* IPPROTO_* (sk_protocol) */
	__u32 xflags;   /* enum net_xflags */
	__s32 backlog;  /* listen */
	__u32 _pad;
	struct net_addr local;
	struct net_addr remote;
	struct net_addr listener;
};

/* file_event.syscall: the call that made a file-tampering event; 0 where
 * the hook does not tell (the fentry rung sees the kernel's do_* functions). */
enum file_syscall {
	FSC_UNLINK = 1,
	FSC_UNLINKAT = 2,
	FSC_RMDIR = 3,
	FSC_RENAME = 4,
	FSC_RENAMEAT = 5,
	FSC_RENAMEAT2 = 6,
	FSC_LINK = 7,
	FSC_LINKAT = 8,
	FSC_SYMLINK = 9,
	FSC_SYMLINKAT = 10,
	FSC_CHMOD = 11,
	FSC_FCHMOD = 12,
	FSC_FCHMODAT = 13,
	FSC_FCHMODAT2 = 14,
	FSC_CHOWN = 15,
	FSC_FCHOWN = 16,
	FSC_LCHOWN = 17,
	FSC_FCHOWNAT = 18,
};

/* file_event.xflags: how the paths were found. */
enum file_xflags {
	FX_BASE1 = 1 << 0,       /* path1 is the directory name1 is relative to (dirfd or cwd), not the file */
	FX_BASE2 = 1 << 1,       /* the same for path2 and name2 */
	FX_UNRESOLVED1 = 1 << 2, /* path1 could not be found (a bad dirfd): only name1 is known */
	FX_UNRESOLVED2 = 1 << 3, /* the same for path2 */
	FX_IO_URING = 1 << 4,    /* an io_uring request, not a system call */
	FX_FD = 1 << 5,          /* fchmod, fchown: path1 is the file of descriptor dirfd */
};

/*
 * A file-tampering record: unlink, rename, link, symlink, chmod, chown.
 * data[] holds, back to back: name1 as passed (the file; rename and link:
 * the old name; symlink: the target string), name2 as passed (rename and
 * link: the new name; symlink: the link's name), then the path
 * components (read_path, leaf first) of path1 and of path2. A path is the
 * object itself, or with FX_BASE1/FX_BASE2 the directory its name is
 * relative to. For symlink, path1 is unused and path2 is the link's.
 */
struct file_event {
	struct event_hdr hdr;
	__s64 result;
	__s32 dirfd;    /* of name1; fchmod, fchown: the descriptor */
	__s32 newdirfd; /* of name2 */
	__u32 syscall;  /* enum file_syscall */
	__u32 xflags;   /* enum file_xflags */
	__u32 flags;    /* AT_* flags (unlinkat, linkat, fchmodat, fchownat), RENAME_* flags */
	__u32 mode;     /* chmod: the new mode */
	__u32 uid;      /* chown: the new owner, (u32)-1 for unchanged */
	__u32 gid;      /* chown: the new group, (u32)-1 for unchanged */
	__u32 name1_len;
	__u32 name2_len;
	__u32 path1_len;
	__u32 path2_len;
	__u32 file_flags1; /* enum file_flags of path1 */
	__u32 file_flags2;
	__u8 data[DATA_LEN];
};

/*
 * Credentials of a task (struct cred), as seen from the initial user
 * namespace. Capability sets are 64-bit masks (kernel_cap_t).
 */
struct cred_ids {
	__u32 uid, gid, suid, sgid, euid, egid, fsuid, fsgid;
	__u64 cap_inheritable, cap_permitted, cap_effective, cap_bset, cap_ambient;
	__u32 ngroups; /* supplementary groups */
	__u32 securebits;
};

/* cred_event.flags */
enum cred_flags {
	CRED_GROUPS = 1 << 0, /* the supplementary groups were replaced */
};

/* A change of credentials: a set*id / setgroups / capset call, or an exec
 * that changed them (a setuid or setcap binary). */
struct cred_event {
	struct event_hdr hdr;
	__s64 result;
	__u64 args[3]; /* the call's first arguments */
	__u32 nr;      /* system call number (x86_64) */
	__u32 flags;   /* enum cred_flags */
	struct cred_ids old;
	struct cred_ids new_;
};

/* A ptrace request that reads or changes another process, or
 * process_vm_writev into another process. */
struct ptrace_event {
	struct event_hdr hdr;
	__s64 result;
	__s64 request; /* ptrace: PTRACE_*; process_vm_writev: -1 */
	__u64 addr;    /* ptrace: addr; process_vm_writev: local iovec count */
	__u64 data;    /* reserved, 0 */
	__u32 nr;      /* system call number (x86_64) */
	__u32 target;  /* target pid as passed (traceme: the tracer, the parent) */
};

/* Namespace kinds: indexes of namespace_event.old_ns/new_ns and bits of
 * namespace_event.changed. */
enum ns_kind {
	NS_MNT = 0,
	NS_UTS = 1,
	NS_IPC = 2,
	NS_NET = 3,
	NS_PID = 4, /* pid namespace for children */
	NS_USER = 5,
	NS_CGROUP = 6,
	NS_TIME = 7, /* time namespace for children */
	NS_KINDS = 8,
};

/* namespace_event.nr for a fork that created namespaces (clone, clone3,
 * seen at sched_process_fork). */
#define NS_NR_FORK 0xffffffff

/* unshare, setns, or a fork into new namespaces. */
struct namespace_event {
	struct event_hdr hdr;
	__s64 result;
	__u64 flags;   /* unshare: flags; setns: nstype */
	__u32 nr;      /* system call number (x86_64), NS_NR_FORK for a fork */
	__s32 fd;      /* setns: the descriptor; -1 otherwise */
	__u32 child;   /* fork: the child's pid */
	__u32 changed; /* bits (1 << enum ns_kind) of the namespaces that differ */
	__u32 old_ns[NS_KINDS]; /* namespace inode numbers before */
	__u32 new_ns[NS_KINDS]; /* and after (fork: the child's) */
};

enum mount_syscall {
	MCALL_MOUNT = 1,
	MCALL_UMOUNT = 2, /* umount2 (x86-64's only umount) */
	MCALL_MOVE_MOUNT = 3,
	MCALL_PIVOT_ROOT = 4,
	MCALL_FSMOUNT = 5,
	MCALL_FSOPEN = 6,
};

/* mount_event.xflags */
enum mount_xflags {
	MNTX_SRC_DIR = 1 << 0,     /* data[] holds the directory a relative source is resolved from */
	MNTX_TGT_DIR = 1 << 1,     /* likewise for the target */
	MNTX_DIR_SKIPPED = 1 << 2, /* a directory was not read: no room left, or no such dirfd */
	MNTX_FS_KERNEL = 1 << 3,   /* fsmount: source and fstype read from the kernel's fs_context */
};

/*
 * A mount-table change: mount, umount2, move_mount, pivot_root, fsmount,
 * fsopen. data[] holds, back to back: the source as passed (src_len
 * bytes, NUL-terminated), the target as passed (tgt_len), the filesystem
 * type (fstype_len), then the path components of the directory a
 * relative source is resolved from (src_dir_len bytes: the working
 * directory or from_dfd's), then those of the target's (tgt_dir_len).
 */
struct mount_event {
	struct event_hdr hdr;
	__s64 result;
	__u64 flags;      /* mount: MS_*; umount2: MNT_*; move_mount: MOVE_MOUNT_*; fsmount: FSMOUNT_*; fsopen: FSOPEN_* */
	__u32 syscall;    /* enum mount_syscall */
	__u32 attr_flags; /* fsmount: MOUNT_ATTR_* */
	__s32 src_dfd;    /* move_mount's from_dfd, fsmount's fs_fd; -100 (AT_FDCWD) otherwise */
	__s32 tgt_dfd;    /* move_mount's to_dfd; -100 otherwise */
	__u32 xflags;     /* enum mount_xflags */
	__u32 file_flags; /* enum file_flags of the directory walks */
	__u32 src_len;
	__u32 tgt_len;
	__u32 fstype_len;
	__u32 src_dir_len;
	__u32 tgt_dir_len;
	__u32 _pad;
	__u8 data[DATA_LEN];
};

/* bpf_event.xflags */
enum bpf_xflags {
	BPFX_PROG = 1 << 0,        /* prog_id, prog_type and prog_name read from the kernel's program */
	BPFX_LINK = 1 << 1,        /* link_id is set */
	BPFX_ATTACH_NAME = 1 << 2, /* attach_name is set */
};

/*
 * A bpf(2) command that loads or attaches a program: BPF_PROG_LOAD,
 * BPF_PROG_ATTACH, BPF_RAW_TRACEPOINT_OPEN, BPF_LINK_CREATE.
 */
struct bpf_event {
	struct event_hdr hdr;
	__s64 result;
	__u32 cmd;
	__u32 prog_type;
	__u32 attach_type;   /* expected_attach_type (load) or attach_type (attach, link) */
	__u32 prog_id;
	__u32 link_id;
	__u32 attach_btf_id; /* load: the BTF id of the attach target */
	__s32 target_fd;     /* attach, link: the target's descriptor (cgroup, netns; ifindex for XDP) */
	__u32 xflags;        /* enum bpf_xflags */
	__u8 prog_name[16];
	__u8 attach_name[128]; /* raw tracepoint name, or the function a tracing/LSM program attaches to */
};

#endif
