// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * file.c: the file-tampering sensor: unlink (and rmdir), rename, link,
 * symlink, chmod and chown. Each event type is loaded on its own, through
 * the best of two rungs (internal/doctor.Ladders):
 *
 *   fentry  fentry on the kernel function that does the call (do_unlinkat,
 *           do_rmdir, do_renameat2, do_linkat, do_symlinkat, do_fchmodat,
 *           vfs_fchmod, do_fchownat, vfs_fchown) records the names as
 *           passed; fentry on the LSM entry security_path_<op> (the
 *           looked-up directory and dentry) resolves every path from the
 *           kernel's own dentries and evaluates kill rules by inode; fexit
 *           on the first function reports the result. io_uring's
 *           IORING_OP_UNLINKAT, _RENAMEAT, _LINKAT and _SYMLINKAT call the
 *           same functions from an io-wq worker, reported with FX_IO_URING.
 *   tracepoint  syscalls:sys_enter_<call> records the call by thread,
 *           syscalls:sys_exit_<call> reports it with its result; a
 *           relative name's directory (dirfd or cwd) is resolved, and
 *           userspace joins it with the name (FX_BASE1, FX_BASE2).
 *
 * Both filter in the kernel on the names as passed (file_prefixes). BPF
 * LSM deny rules use lsm/path_<op> below.
 */
#include "common.h"
#include "rules.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct file_event *unused_file_event __attribute__((unused));
const enum file_syscall *unused_file_syscall __attribute__((unused));
const enum file_xflags *unused_file_xflags __attribute__((unused));

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define PF_IO_WORKER 0x10
#define MAX_PREFIXES 8
#define PREFIX_LEN 128

/* Set by the loader: the number of file_prefixes entries. */
const volatile __u32 n_prefixes = 0;

struct prefix {
	__u32 len;
	char s[PREFIX_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PREFIXES);
	__type(key, __u32);
	__type(value, struct prefix);
} file_prefixes SEC(".maps");

#ifdef VIGIL_COMPAT
#define PFX_STEP(j)                        \
	if ((j) >= len)                    \
		return 1;                  \
	if (name[(j)] != p->s[(j)])        \
		return 0;
#define PFX_STEP4(j) PFX_STEP(j) PFX_STEP((j) + 1) PFX_STEP((j) + 2) PFX_STEP((j) + 3)
#define PFX_STEP16(j) PFX_STEP4(j) PFX_STEP4((j) + 4) PFX_STEP4((j) + 8) PFX_STEP4((j) + 12)
#define PFX_STEP64(j) PFX_STEP16(j) PFX_STEP16((j) + 16) PFX_STEP16((j) + 32) PFX_STEP16((j) + 48)

static __always_inline int prefix_eq(const char *name, struct prefix *p)
{
	__u32 len = p->len;
	PFX_STEP64(0)
	PFX_STEP64(64)
	return 1;
}
#else
static __always_inline int prefix_eq(const char *name, struct prefix *p)
{
	__u32 len = p->len;
	for (__u32 j = 0; j < PREFIX_LEN; j++) {
		if (j >= len)
			break;
		if (name[j] != p->s[j])
			return 0;
	}
	return 1;
}
#endif

/* prefix_match reports whether the name (user or kernel memory) starts
 * with one of the prefixes. */
static __always_inline int prefix_match(const void *ptr, int user)
{
	char name[PREFIX_LEN]; /* on the stack: the programs can be preempted */
	long n = user ? bpf_probe_read_user_str(name, PREFIX_LEN, ptr)
		      : bpf_probe_read_kernel_str(name, PREFIX_LEN, ptr);
	if (n <= 0)
		return 0;
	COMPAT_UNROLL
	for (__u32 i = 0; i < MAX_PREFIXES; i++) {
		if (i >= n_prefixes)
			return 0;
		__u32 key = i;
		struct prefix *p = bpf_map_lookup_elem(&file_prefixes, &key);
		if (!p)
			return 0;
		if (!p->len) /* not written yet */
			continue;
		if (prefix_eq(name, p))
			return 1;
	}
	return 0;
}

/* wanted applies the filters to the current task and the names passed
 * (either may match; 0 for none). */
static __always_inline int wanted(const void *name1, const void *name2, int user)
{
	if (bpf_get_current_pid_tgid() >> 32 == self_tgid)
		return 0;
	if (!n_prefixes)
		return 1;
	return (name1 && prefix_match(name1, user)) || (name2 && prefix_match(name2, user));
}

/* has_rules reports whether kernel rules watch events of kind. */
static __always_inline int has_rules(__u32 kind)
{
	struct rule_set *rs = rule_set_of(kind);
	return rs && rs->rules;
}

/* base_path returns the directory a name passed with dirfd is relative
 * to: the cwd for AT_FDCWD, else the descriptor's file; NULL if none. */
static __always_inline const struct path *base_path(__s32 dirfd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (dirfd == AT_FDCWD) {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		return fs ? &fs->pwd : NULL;
	}
	struct file *f = fd_file(dirfd);
	return f ? &f->f_path : NULL;
}

/*
 * ev_path appends the components of the struct path at p to ev->data at
 * off, setting file_flags2 (which) or file_flags1; it returns the new
 * offset. A global function, so the verifier checks the walk once, with
 * off unknown, rather than along every path of every caller (two walks
 * in one program otherwise exceed its million instructions).
 */
VIGIL_GLOBAL __u32 ev_path(struct file_event *ev, __u32 off, __u64 p, __u32 which)
{
	if (!ev)
		return off;
	if (which)
		return read_path((const struct path *)p, ev->data, off, &ev->file_flags2);
	return read_path((const struct path *)p, ev->data, off, &ev->file_flags1);
}

/* scalar_of returns a pointer as a plain number: a global function takes
 * no typed kernel pointer (fentry and LSM arguments) or stack address. */
static __always_inline __u64 scalar_of(const void *p)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

/* put_name appends the dentry's name and the components of dir above it
 * (leaf first, as read_path) to ev->data at off; it returns the new offset. */
static __always_inline __u32 put_name(struct file_event *ev, __u32 off, struct dentry *d, const struct path *dir, __u32 which)
{
	long n = bpf_probe_read_kernel_str(&ev->data[off & DATA_MASK], NAME_LEN, BPF_CORE_READ(d, d_name.name));
	if (n > 0)
		off += n;
	return ev_path(ev, off, scalar_of(dir), which);
}

/* ---- tracepoint rung ---- */

struct file_req {
	__u64 name1; /* user pointers */
	__u64 name2;
	__s32 dirfd;
	__s32 newdirfd;
	__u32 kind;
	__u32 syscall;
	__u32 flags;
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u32 wanted;
	__u32 fd; /* dirfd is a descriptor of the file itself (fchmod, fchown) */
};

/* The call between sys_enter and sys_exit, by thread: these types are
 * opt-in, and a hash map works on every kernel (no task storage on 5.10). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct file_req);
} file_inflight SEC(".maps");

static __always_inline void tp_enter(struct file_req *req)
{
	int user = 1;
	const void *n1 = req->fd ? NULL : (const void *)req->name1;
	const void *n2 = (const void *)req->name2;
	if (req->kind == EV_SYMLINK)
		n1 = NULL; /* a symlink's target is not where it is made */
	req->wanted = wanted(n1, n2, user);
	if (!req->wanted && !has_rules(req->kind))
		return;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&file_inflight, &tid, req, BPF_ANY);
}

/* resolve_name fills one name's path: nothing for an absolute name,
 * else the base directory (FX_BASE) or FX_UNRESOLVED. */
static __always_inline __u32 resolve_name(struct file_event *ev, __u32 off, __s32 dirfd, __u32 nlen, __u32 noff,
					  __u32 base, __u32 unres, __u32 which)
{
	if (nlen > 1 && ev->data[noff & DATA_MASK] == '/')
		return off;
	const struct path *p = base_path(dirfd);
	if (!p) {
		ev->xflags |= unres;
		return off;
	}
	ev->xflags |= base;
	return ev_path(ev, off, scalar_of(p), which);
}

static __always_inline void tp_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct file_req *req = bpf_map_lookup_elem(&file_inflight, &tid);
	struct scratch *slot;
	struct file_event *ev;
	__u32 off, start;
	long n;

	if (!req)
		return;
	slot = scratch_claim();
	if (!slot) {
		count_lost(req->kind);
		bpf_map_delete_elem(&file_inflight, &tid);
		return;
	}
	ev = &slot->file;
	fill_hdr(&ev->hdr, req->kind, MECH_TRACEPOINT);
	ev->result = ret;
	ev->dirfd = req->dirfd;
	ev->newdirfd = req->newdirfd;
	ev->syscall = req->syscall;
	ev->xflags = req->fd ? FX_FD : 0;
	ev->flags = req->flags;
	ev->mode = req->mode;
	ev->uid = req->uid;
	ev->gid = req->gid;
	ev->file_flags1 = 0;
	ev->file_flags2 = 0;
	ev->path1_len = 0;
	ev->path2_len = 0;
	off = 0;
	if (req->name1) {
		n = bpf_probe_read_user_str(ev->data, FILENAME_LEN, (void *)req->name1);
		off = n > 0 ? n : 0;
	}
	ev->name1_len = off;
	ev->name2_len = 0;
	if (req->name2) {
		n = bpf_probe_read_user_str(&ev->data[off & DATA_MASK], FILENAME_LEN, (void *)req->name2);
		ev->name2_len = n > 0 ? n : 0;
		off += ev->name2_len;
	}
	__u32 want = req->wanted, kind = req->kind;
	__u32 fd = req->fd;
	bpf_map_delete_elem(&file_inflight, &tid);

	struct match_in in = {.flags = ev->mode};
	if (match_rules(kind, &in))
		verdict(&ev->hdr, &in);
	if (!want && !(ev->hdr.flags & HDR_VERDICT)) {
		scratch_release(slot);
		return;
	}
	start = off;
	if (fd) {
		struct file *f = fd_file(ev->dirfd);
		if (f)
			off = ev_path(ev, off, (__u64)&f->f_path, 0);
		else
			ev->xflags |= FX_UNRESOLVED1;
	} else if (kind != EV_SYMLINK && ev->name1_len) {
		off = resolve_name(ev, off, ev->dirfd, ev->name1_len, 0, FX_BASE1, FX_UNRESOLVED1, 0);
	}
	ev->path1_len = off - start;
	start = off;
	if (ev->name2_len)
		off = resolve_name(ev, off, ev->newdirfd, ev->name2_len, ev->name1_len, FX_BASE2, FX_UNRESOLVED2, 1);
	ev->path2_len = off - start;
	submit(ev, offsetof(struct file_event, data) + (off & (DATA_LEN - 1)), kind);
	scratch_release(slot);
}

/* Each entry's initializer overrides the AT_FDCWD defaults it passes. */
#pragma clang diagnostic ignored "-Winitializer-overrides"
#define ARG(i) (ctx->args[i])
#define TP_ENTER(fn, kind_, sc, ...)                                   \
	SEC("tracepoint/syscalls/sys_enter_" #fn)                       \
	int fn##_enter(struct trace_event_raw_sys_enter *ctx)           \
	{                                                               \
		struct file_req req = {.kind = kind_, .syscall = sc, \
				       .dirfd = AT_FDCWD, .newdirfd = AT_FDCWD, __VA_ARGS__}; \
		tp_enter(&req);                                         \
		return 0;                                               \
	}

TP_ENTER(unlink, EV_UNLINK, FSC_UNLINK, .name1 = ARG(0))
TP_ENTER(unlinkat, EV_UNLINK, FSC_UNLINKAT, .dirfd = ARG(0), .name1 = ARG(1), .flags = ARG(2))
TP_ENTER(rmdir, EV_UNLINK, FSC_RMDIR, .name1 = ARG(0), .flags = AT_REMOVEDIR)
TP_ENTER(rename, EV_RENAME, FSC_RENAME, .name1 = ARG(0), .name2 = ARG(1))
TP_ENTER(renameat, EV_RENAME, FSC_RENAMEAT, .dirfd = ARG(0), .name1 = ARG(1), .newdirfd = ARG(2), .name2 = ARG(3))
TP_ENTER(renameat2, EV_RENAME, FSC_RENAMEAT2, .dirfd = ARG(0), .name1 = ARG(1), .newdirfd = ARG(2), .name2 = ARG(3),
	 .flags = ARG(4))
TP_ENTER(link, EV_LINK, FSC_LINK, .name1 = ARG(0), .name2 = ARG(1))
TP_ENTER(linkat, EV_LINK, FSC_LINKAT, .dirfd = ARG(0), .name1 = ARG(1), .newdirfd = ARG(2), .name2 = ARG(3),
	 .flags = ARG(4))
TP_ENTER(symlink, EV_SYMLINK, FSC_SYMLINK, .name1 = ARG(0), .name2 = ARG(1))
TP_ENTER(symlinkat, EV_SYMLINK, FSC_SYMLINKAT, .name1 = ARG(0), .newdirfd = ARG(1), .name2 = ARG(2))
TP_ENTER(chmod, EV_CHMOD, FSC_CHMOD, .name1 = ARG(0), .mode = ARG(1))
TP_ENTER(fchmod, EV_CHMOD, FSC_FCHMOD, .dirfd = ARG(0), .fd = 1, .mode = ARG(1))
TP_ENTER(fchmodat, EV_CHMOD, FSC_FCHMODAT, .dirfd = ARG(0), .name1 = ARG(1), .mode = ARG(2))
TP_ENTER(fchmodat2, EV_CHMOD, FSC_FCHMODAT2, .dirfd = ARG(0), .name1 = ARG(1), .mode = ARG(2), .flags = ARG(3))
TP_ENTER(chown, EV_CHOWN, FSC_CHOWN, .name1 = ARG(0), .uid = ARG(1), .gid = ARG(2))
TP_ENTER(fchown, EV_CHOWN, FSC_FCHOWN, .dirfd = ARG(0), .fd = 1, .uid = ARG(1), .gid = ARG(2))
TP_ENTER(lchown, EV_CHOWN, FSC_LCHOWN, .name1 = ARG(0), .uid = ARG(1), .gid = ARG(2), .flags = 0x100 /* AT_SYMLINK_NOFOLLOW */)
TP_ENTER(fchownat, EV_CHOWN, FSC_FCHOWNAT, .dirfd = ARG(0), .name1 = ARG(1), .uid = ARG(2), .gid = ARG(3), .flags = ARG(4))

/* One exit program per type, named for its first call: vigil attaches
 * it to the type's other sys_exit_* tracepoints too, so the verifier
 * checks it once. */
#define TP_EXIT(fn)                                                   \
	SEC("tracepoint/syscalls/sys_exit_" #fn)                      \
	int fn##_exit(struct trace_event_raw_sys_exit *ctx)           \
	{                                                             \
		tp_exit(ctx->ret);                                    \
		return 0;                                             \
	}

TP_EXIT(unlink)
TP_EXIT(rename)
TP_EXIT(link)
TP_EXIT(symlink)
TP_EXIT(chmod)
TP_EXIT(chown)

#ifndef VIGIL_COMPAT
/* ---- fentry rung (task storage: not in the compat build) ---- */

/* The call between the fentry and the fexit of its do_* function, with
 * the record being built, in the task itself. */
struct file_pending {
	__u32 active;
	__u32 wanted;
	__u32 name_end; /* end of the names in ev.data */
	__u32 _pad;
	struct file_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct file_pending);
} file_pending SEC(".maps");

static __always_inline struct file_pending *pending(int create)
{
	return bpf_task_storage_get(&file_pending, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* fn_enter starts a record at the do_* function; names are kernel
 * strings (struct filename) unless user is set. */
static __always_inline struct file_pending *fn_enter(__u32 kind, const void *name1, const void *name2, int user,
						     __s32 dirfd, __s32 newdirfd)
{
	const void *f1 = kind == EV_SYMLINK ? NULL : name1;
	int want = wanted(f1, name2, user);
	if (!want && !has_rules(kind))
		return NULL;
	struct file_pending *p = pending(1);
	if (!p)
		return NULL;
	struct file_event *ev = &p->ev;
	p->active = kind;
	p->wanted = want;
	fill_hdr(&ev->hdr, kind, MECH_FENTRY);
	ev->result = 0;
	ev->dirfd = dirfd;
	ev->newdirfd = newdirfd;
	ev->syscall = 0;
	ev->xflags = 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (task->flags & PF_IO_WORKER)
		ev->xflags |= FX_IO_URING;
	ev->flags = 0;
	ev->mode = 0;
	ev->uid = ev->gid = (__u32)-1;
	ev->file_flags1 = ev->file_flags2 = 0;
	ev->path1_len = ev->path2_len = 0;
	long n = 0;
	if (name1)
		n = user ? bpf_probe_read_user_str(ev->data, FILENAME_LEN, name1)
			 : bpf_probe_read_kernel_str(ev->data, FILENAME_LEN, name1);
	ev->name1_len = n > 0 ? n : 0;
	n = 0;
	if (name2)
		n = user ? bpf_probe_read_user_str(&ev->data[ev->name1_len & DATA_MASK], FILENAME_LEN, name2)
			 : bpf_probe_read_kernel_str(&ev->data[ev->name1_len & DATA_MASK], FILENAME_LEN, name2);
	ev->name2_len = n > 0 ? n : 0;
	p->name_end = ev->name1_len + ev->name2_len;
	return p;
}

/* fn_exit reports the record with the call's result. */
static __always_inline void fn_exit(void *ctx, __u32 kind)
{
	struct file_pending *p = pending(0);
	__u64 ret = 0;
	if (!p || p->active != kind)
		return;
	p->active = 0;
	if (!p->wanted && !(p->ev.hdr.flags & HDR_VERDICT))
		return;
	bpf_get_func_ret(ctx, &ret);
	p->ev.result = (__s64)(int)ret;
	/* A failed lookup never reached security_path_*: resolve the base
	 * directories here, as the tracepoint rung does. */
	__u32 off = p->name_end;
	if (!p->ev.path1_len && !p->ev.path2_len && !(p->ev.xflags & FX_FD)) {
		__u32 start = off;
		if (kind != EV_SYMLINK && p->ev.name1_len)
			off = resolve_name(&p->ev, off, p->ev.dirfd, p->ev.name1_len, 0, FX_BASE1, FX_UNRESOLVED1, 0);
		p->ev.path1_len = off - start;
		start = off;
		if (p->ev.name2_len)
			off = resolve_name(&p->ev, off, p->ev.newdirfd, p->ev.name2_len, p->ev.name1_len, FX_BASE2,
					   FX_UNRESOLVED2, 1);
		p->ev.path2_len = off - start;
	} else {
		off += p->ev.path1_len + p->ev.path2_len;
	}
	submit(&p->ev, offsetof(struct file_event, data) + (off & (DATA_LEN - 1)), kind);
}

/* check_kill evaluates the kill rules of kind on the object at dentry d
 * (on mount mnt, for path_prefix) and records a verdict. */
static __always_inline void check_kill(struct file_event *ev, __u32 kind, struct dentry *d, struct vfsmount *mnt)
{
	struct match_in in = {.dentry = (__u64)d, .mnt = (__u64)mnt, .flags = ev->mode};
	if (ev->hdr.flags & HDR_VERDICT)
		return;
	if (match_rules(kind, &in))
		verdict(&ev->hdr, &in);
}

/* mid returns the record of kind being built, or NULL. */
static __always_inline struct file_pending *mid(__u32 kind)
{
	struct file_pending *p = pending(0);
	return p && p->active == kind ? p : NULL;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_fn, int dfd, struct filename *name)
{
	fn_enter(EV_UNLINK, BPF_CORE_READ(name, name), NULL, 0, dfd, AT_FDCWD);
	return 0;
}

SEC("fentry/do_rmdir")
int BPF_PROG(rmdir_fn, int dfd, struct filename *name)
{
	struct file_pending *p = fn_enter(EV_UNLINK, BPF_CORE_READ(name, name), NULL, 0, dfd, AT_FDCWD);
	if (p)
		p->ev.flags = AT_REMOVEDIR;
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_fn_exit) { fn_exit(ctx, EV_UNLINK); return 0; }

SEC("fexit/do_rmdir")
int BPF_PROG(rmdir_fn_exit) { fn_exit(ctx, EV_UNLINK); return 0; }

static __always_inline void unlink_mid(const struct path *dir, struct dentry *dentry)
{
	struct file_pending *p = mid(EV_UNLINK);
	if (!p)
		return;
	__u32 off = p->name_end;
	p->ev.path1_len = put_name(&p->ev, off, dentry, dir, 0) - off;
	check_kill(&p->ev, EV_UNLINK, dentry, BPF_CORE_READ(dir, mnt));
}

SEC("fentry/security_path_unlink")
int BPF_PROG(unlink_mid_unlink, const struct path *dir, struct dentry *dentry)
{
	unlink_mid(dir, dentry);
	return 0;
}

SEC("fentry/security_path_rmdir")
int BPF_PROG(unlink_mid_rmdir, const struct path *dir, struct dentry *dentry)
{
	unlink_mid(dir, dentry);
	return 0;
}

SEC("fentry/do_renameat2")
int BPF_PROG(rename_fn, int olddfd, struct filename *from, int newdfd, struct filename *to, unsigned int flags)
{
	struct file_pending *p = fn_enter(EV_RENAME, BPF_CORE_READ(from, name), BPF_CORE_READ(to, name), 0, olddfd, newdfd);
	if (p)
		p->ev.flags = flags;
	return 0;
}

SEC("fexit/do_renameat2")
int BPF_PROG(rename_fn_exit) { fn_exit(ctx, EV_RENAME); return 0; }

SEC("fentry/security_path_rename")
int BPF_PROG(rename_mid, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry)
{
	struct file_pending *p = mid(EV_RENAME);
	if (!p)
		return 0;
	__u32 off = p->name_end;
	off = put_name(&p->ev, off, old_dentry, old_dir, 0);
	p->ev.path1_len = off - p->name_end;
	p->ev.path2_len = put_name(&p->ev, off, new_dentry, new_dir, 1) - off;
	check_kill(&p->ev, EV_RENAME, old_dentry, BPF_CORE_READ(old_dir, mnt));
	check_kill(&p->ev, EV_RENAME, new_dentry, BPF_CORE_READ(new_dir, mnt));
	return 0;
}

SEC("fentry/do_linkat")
int BPF_PROG(link_fn, int olddfd, struct filename *old, int newdfd, struct filename *new, int flags)
{
	struct file_pending *p = fn_enter(EV_LINK, BPF_CORE_READ(old, name), BPF_CORE_READ(new, name), 0, olddfd, newdfd);
	if (p)
		p->ev.flags = flags;
	return 0;
}

SEC("fexit/do_linkat")
int BPF_PROG(link_fn_exit) { fn_exit(ctx, EV_LINK); return 0; }

SEC("fentry/security_path_link")
int BPF_PROG(link_mid, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry)
{
	struct file_pending *p = mid(EV_LINK);
	if (!p)
		return 0;
	/* A hard link stays on its mount (EXDEV): the old file's mount is
	 * new_dir's. Its parent is the old name's directory. */
	struct path old_parent = {.mnt = BPF_CORE_READ(new_dir, mnt), .dentry = BPF_CORE_READ(old_dentry, d_parent)};
	__u32 off = p->name_end;
	off = put_name(&p->ev, off, old_dentry, &old_parent, 0);
	p->ev.path1_len = off - p->name_end;
	p->ev.path2_len = put_name(&p->ev, off, new_dentry, new_dir, 1) - off;
	check_kill(&p->ev, EV_LINK, old_dentry, old_parent.mnt);
	check_kill(&p->ev, EV_LINK, new_dentry, old_parent.mnt);
	return 0;
}

SEC("fentry/do_symlinkat")
int BPF_PROG(symlink_fn, struct filename *from, int newdfd, struct filename *to)
{
	fn_enter(EV_SYMLINK, BPF_CORE_READ(from, name), BPF_CORE_READ(to, name), 0, AT_FDCWD, newdfd);
	return 0;
}

SEC("fexit/do_symlinkat")
int BPF_PROG(symlink_fn_exit) { fn_exit(ctx, EV_SYMLINK); return 0; }

SEC("fentry/security_path_symlink")
int BPF_PROG(symlink_mid, const struct path *dir, struct dentry *dentry)
{
	struct file_pending *p = mid(EV_SYMLINK);
	if (!p)
		return 0;
	__u32 off = p->name_end;
	p->ev.path2_len = put_name(&p->ev, off, dentry, dir, 1) - off;
	check_kill(&p->ev, EV_SYMLINK, dentry, BPF_CORE_READ(dir, mnt));
	return 0;
}

SEC("fentry/do_fchmodat")
int BPF_PROG(chmod_fn, int dfd, const char *filename, umode_t mode)
{
	struct file_pending *p = fn_enter(EV_CHMOD, filename, NULL, 1, dfd, AT_FDCWD);
	if (p)
		p->ev.mode = mode;
	return 0;
}

SEC("fentry/vfs_fchmod")
int BPF_PROG(chmod_fd_fn, struct file *file, umode_t mode)
{
	struct file_pending *p = fn_enter(EV_CHMOD, NULL, NULL, 0, -1, AT_FDCWD);
	if (!p)
		return 0;
	p->ev.mode = mode;
	p->ev.xflags |= FX_FD;
	return 0;
}

SEC("fexit/do_fchmodat")
int BPF_PROG(chmod_fn_exit) { fn_exit(ctx, EV_CHMOD); return 0; }

SEC("fexit/vfs_fchmod")
int BPF_PROG(chmod_fd_fn_exit) { fn_exit(ctx, EV_CHMOD); return 0; }

/*
 * mid_or_new returns the record of kind being built or, where the call's
 * do_* function was not seen (the compiler inlined it into the system
 * call: its fentry never fires there), a new one without names, which
 * fexit on chmod_common/chown_common completes.
 */
static __always_inline struct file_pending *mid_or_new(__u32 kind)
{
	struct file_pending *p = mid(kind);
	if (p)
		return p;
	if (n_prefixes && !has_rules(kind))
		return NULL; /* no names to filter on: the filter drops it */
	return fn_enter(kind, NULL, NULL, 0, AT_FDCWD, AT_FDCWD);
}

SEC("fexit/chmod_common")
int BPF_PROG(chmod_common_exit) { fn_exit(ctx, EV_CHMOD); return 0; }

SEC("fexit/chown_common")
int BPF_PROG(chown_common_exit) { fn_exit(ctx, EV_CHOWN); return 0; }

SEC("fentry/security_path_chmod")
int BPF_PROG(chmod_mid, const struct path *path, umode_t mode)
{
	struct file_pending *p = mid_or_new(EV_CHMOD);
	if (!p)
		return 0;
	__u32 off = p->name_end;
	p->ev.mode = mode;
	p->ev.path1_len = ev_path(&p->ev, off, scalar_of(path), 0) - off;
	check_kill(&p->ev, EV_CHMOD, BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt));
	return 0;
}

SEC("fentry/do_fchownat")
int BPF_PROG(chown_fn, int dfd, const char *filename, uid_t user, gid_t group, int flag)
{
	struct file_pending *p = fn_enter(EV_CHOWN, filename, NULL, 1, dfd, AT_FDCWD);
	if (!p)
		return 0;
	p->ev.uid = user;
	p->ev.gid = group;
	p->ev.flags = flag;
	return 0;
}

SEC("fentry/vfs_fchown")
int BPF_PROG(chown_fd_fn, struct file *file, uid_t user, gid_t group)
{
	struct file_pending *p = fn_enter(EV_CHOWN, NULL, NULL, 0, -1, AT_FDCWD);
	if (!p)
		return 0;
	p->ev.uid = user;
	p->ev.gid = group;
	p->ev.xflags |= FX_FD;
	return 0;
}

SEC("fexit/do_fchownat")
int BPF_PROG(chown_fn_exit) { fn_exit(ctx, EV_CHOWN); return 0; }

SEC("fexit/vfs_fchown")
int BPF_PROG(chown_fd_fn_exit) { fn_exit(ctx, EV_CHOWN); return 0; }

SEC("fentry/security_path_chown")
int BPF_PROG(chown_mid, const struct path *path, __u64 uid, __u64 gid)
{
	struct file_pending *p = mid_or_new(EV_CHOWN);
	if (!p)
		return 0;
	if (p->ev.uid == (__u32)-1 && p->ev.gid == (__u32)-1 && !p->ev.name1_len && !(p->ev.xflags & FX_FD)) {
		p->ev.uid = (__u32)uid; /* a record made here: the kernel's ids (from the caller's namespace) */
		p->ev.gid = (__u32)gid;
	}
	__u32 off = p->name_end;
	p->ev.path1_len = ev_path(&p->ev, off, scalar_of(path), 0) - off;
	check_kill(&p->ev, EV_CHOWN, BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt));
	return 0;
}
#endif /* !VIGIL_COMPAT */

/* ---- BPF LSM deny (lsm/path_*) ---- */

/* deny_path fails the call with the matching deny rule's errno and
 * reports it; d and mnt are the object, names are its path parts. */
static __always_inline long deny_path(__u32 kind, struct dentry *d, struct vfsmount *mnt, const struct path *dir1,
				      struct dentry *d1, const struct path *dir2, struct dentry *d2, __u32 mode)
{
	struct match_in in = {.dentry = (__u64)d, .mnt = (__u64)mnt, .flags = mode};
	struct scratch *slot;
	struct file_event *ev;
	__u32 off = 0;

	if (!match_rules(kind, &in) || !in.deny)
		return 0;
	__u32 rule = lowest(in.deny);
	long rc = deny_errno(rule);
	slot = scratch_claim();
	if (!slot) {
		count_lost(kind);
		return rc;
	}
	ev = &slot->file;
	fill_hdr(&ev->hdr, kind, MECH_LSM);
	ev->hdr.flags = HDR_VERDICT | HDR_ENFORCED;
	ev->hdr.rule = rule;
	ev->hdr.action = ACT_DENY;
	ev->result = rc;
	ev->dirfd = ev->newdirfd = AT_FDCWD;
	ev->syscall = 0;
	ev->xflags = 0;
	ev->flags = 0;
	ev->mode = mode;
	ev->uid = ev->gid = (__u32)-1;
	ev->name1_len = ev->name2_len = 0;
	ev->file_flags1 = ev->file_flags2 = 0;
	ev->path1_len = ev->path2_len = 0;
	if (dir1) {
		off = d1 ? put_name(ev, 0, d1, dir1, 0) : ev_path(ev, 0, scalar_of(dir1), 0);
		ev->path1_len = off;
	}
	if (dir2 && d2) {
		__u32 start = off;
		off = put_name(ev, off, d2, dir2, 1);
		ev->path2_len = off - start;
	}
	submit(ev, offsetof(struct file_event, data) + (off & (DATA_LEN - 1)), kind);
	scratch_release(slot);
	return rc;
}

SEC("lsm/path_unlink")
int BPF_PROG(deny_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_path(EV_UNLINK, dentry, BPF_CORE_READ(dir, mnt), dir, dentry, NULL, NULL, 0));
}

SEC("lsm/path_rmdir")
int BPF_PROG(deny_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_path(EV_UNLINK, dentry, BPF_CORE_READ(dir, mnt), dir, dentry, NULL, NULL, 0));
}

/*
 * The hook gained a flags argument in 5.19, which moves the previous
 * program's return: read neither, so one program loads on both (a
 * denial by an earlier BPF LSM program stands anyway).
 */
SEC("lsm/path_rename")
int BPF_PROG(deny_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry)
{
	long rc = deny_path(EV_RENAME, old_dentry, BPF_CORE_READ(old_dir, mnt), old_dir, old_dentry, new_dir, new_dentry, 0);
	if (!rc)
		rc = deny_path(EV_RENAME, new_dentry, BPF_CORE_READ(new_dir, mnt), old_dir, old_dentry, new_dir, new_dentry, 0);
	return lsm_ret(rc);
}

SEC("lsm/path_link")
int BPF_PROG(deny_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret)
		return ret;
	struct vfsmount *mnt = BPF_CORE_READ(new_dir, mnt);
	long rc = deny_path(EV_LINK, old_dentry, mnt, new_dir, new_dentry, NULL, NULL, 0);
	if (!rc)
		rc = deny_path(EV_LINK, new_dentry, mnt, new_dir, new_dentry, NULL, NULL, 0);
	return lsm_ret(rc);
}

SEC("lsm/path_symlink")
int BPF_PROG(deny_symlink, const struct path *dir, struct dentry *dentry, const char *old_name, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_path(EV_SYMLINK, dentry, BPF_CORE_READ(dir, mnt), NULL, NULL, dir, dentry, 0));
}

SEC("lsm/path_chmod")
int BPF_PROG(deny_chmod, const struct path *path, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_path(EV_CHMOD, BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt), path, NULL, NULL, NULL, mode));
}

SEC("lsm/path_chown")
int BPF_PROG(deny_chown, const struct path *path, __u64 uid, __u64 gid, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_path(EV_CHOWN, BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt), path, NULL, NULL, NULL, 0));
}
