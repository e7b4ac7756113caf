// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mount.c: the mount sensor: every change to a mount table through
 * mount(2), umount2(2), move_mount(2), pivot_root(2), and the new mount
 * API's fsopen(2) and fsmount(2), with the result.
 *
 * syscalls:sys_enter_<call> keeps the arguments per thread;
 * sys_exit_<call> builds the record: the strings as passed (read from the
 * caller's memory, still mapped), the directory a relative path is
 * resolved from (the working directory, or the dirfd's file: struct path
 * walked like an exec's file) and, for fsmount, the filesystem type and
 * source the kernel's fs_context holds. Kill rules are evaluated there.
 *
 * Only callers with CAP_SYS_ADMIN in some user namespace reach these
 * calls, so they are rare: the sensor costs nothing on other system calls.
 */
#include "common.h"
#include "rules.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct mount_event *unused_mount_event __attribute__((unused));
const enum mount_syscall *unused_mount_syscall __attribute__((unused));
const enum mount_xflags *unused_mount_xflags __attribute__((unused));

#define AT_FDCWD -100
#define SRC_MAX 256
#define FSTYPE_MAX 64

struct mount_req {
	__u64 src;    /* user pointers */
	__u64 tgt;
	__u64 fstype;
	__u64 flags;
	__u32 syscall;
	__u32 attr_flags;
	__s32 src_dfd;
	__s32 tgt_dfd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct mount_req);
} mount_inflight SEC(".maps");

static __always_inline void enter(struct mount_req *req)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	if ((pid_tgid >> 32) == self_tgid)
		return;
	bpf_map_update_elem(&mount_inflight, &tid, req, BPF_ANY);
}

/* user_str copies a NUL-terminated string from the caller at p into
 * buf[off..], at most max bytes; it returns the bytes written (with the
 * NUL), 0 for none. */
static __always_inline __u32 user_str(__u8 *buf, __u32 off, __u64 p, __u32 max)
{
	long n;
	if (!p)
		return 0;
	n = bpf_probe_read_user_str(&buf[off & DATA_MASK], max, (const void *)p);
	return n > 0 ? n : 0;
}

/* relative says whether a path needs its directory: not absolute, or
 * empty (the dirfd itself, with *_EMPTY_PATH). */
static __always_inline int relative(__u8 *buf, __u32 off, __u32 len)
{
	return len == 0 || len == 1 || buf[off & DATA_MASK] != '/';
}

/* dir_of returns the struct path a relative path is resolved from: the
 * working directory for AT_FDCWD, else the file of dfd. */
static __always_inline struct path *dir_of(__s32 dfd)
{
	if (dfd == AT_FDCWD) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		if (!fs)
			return NULL;
		return (struct path *)((void *)fs + bpf_core_field_offset(struct fs_struct, pwd));
	}
	struct file *f = fd_file(dfd);
	if (!f)
		return NULL;
	return (struct path *)((void *)f + bpf_core_field_offset(struct file, f_path));
}

/* Room a directory walk needs: it writes up to PATH_LEN + NAME_LEN bytes
 * from its start, and every write is masked by DATA_MASK. */
#define DIR_ROOM (DATA_MASK + 1 - PATH_LEN - NAME_LEN)

/*
 * unbounded forgets what the verifier knows of v's range. read_path's
 * step adds each component's length to its offset: from a bounded start
 * the verifier tracks a range that grows at every step of bpf_loop's
 * callback, so no two steps' states match and it walks every depth of
 * every path through leave(). Its writes are masked, so the start needs
 * no range.
 */
static __always_inline __u32 unbounded(__u32 v)
{
	bpf_probe_read_kernel(&v, sizeof(v), &v);
	return v;
}

static __always_inline void fs_context_info(struct mount_event *ev, __u32 *off)
{
	struct file *f = fd_file(ev->src_dfd);
	struct fs_context *fc;
	const char *name;
	long n;

	if (!f)
		return;
	fc = BPF_CORE_READ(f, private_data);
	if (!fc)
		return;
	/* The source first, then the type: data[]'s order. */
	name = BPF_CORE_READ(fc, source);
	if (name) {
		n = bpf_probe_read_kernel_str(&ev->data[*off & DATA_MASK], SRC_MAX, name);
		if (n > 0) {
			ev->src_len = n;
			*off += n;
		}
	}
	name = BPF_CORE_READ(fc, fs_type, name);
	if (name) {
		n = bpf_probe_read_kernel_str(&ev->data[*off & DATA_MASK], FSTYPE_MAX, name);
		if (n > 0) {
			ev->fstype_len = n;
			*off += n;
		}
	}
	ev->xflags |= MNTX_FS_KERNEL;
}

static __always_inline void leave(__s64 ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mount_req *req = bpf_map_lookup_elem(&mount_inflight, &tid);
	struct match_in in = {};
	struct scratch *slot;
	struct mount_event *ev;
	__u32 off = 0, src_off, tgt_off;

	if (!req)
		return;
	slot = scratch_claim();
	if (!slot) {
		bpf_map_delete_elem(&mount_inflight, &tid);
		count_lost(EV_MOUNT);
		return;
	}
	ev = &slot->mount;
	fill_hdr(&ev->hdr, EV_MOUNT, MECH_TRACEPOINT);
	ev->result = ret;
	ev->flags = req->flags;
	ev->syscall = req->syscall;
	ev->attr_flags = req->attr_flags;
	ev->src_dfd = req->src_dfd;
	ev->tgt_dfd = req->tgt_dfd;
	ev->xflags = 0;
	ev->file_flags = 0;
	ev->src_len = 0;
	ev->fstype_len = 0;
	ev->src_dir_len = 0;
	ev->tgt_dir_len = 0;

	if (ev->syscall == MCALL_FSMOUNT) {
		if (ret >= 0)
			fs_context_info(ev, &off);
		ev->tgt_len = 0;
	} else {
		src_off = off;
		ev->src_len = user_str(ev->data, off, req->src, SRC_MAX);
		off += ev->src_len;
		tgt_off = off;
		ev->tgt_len = user_str(ev->data, off, req->tgt, FILENAME_LEN);
		off += ev->tgt_len;
		ev->fstype_len = user_str(ev->data, off, req->fstype, FSTYPE_MAX);
		off += ev->fstype_len;
		bpf_map_delete_elem(&mount_inflight, &tid);
		req = NULL;

		/*
		 * A relative source matters for bind and move mounts, move_mount
		 * and pivot_root (put_old); mount(2)'s other sources are device
		 * names or free text, which userspace leaves as given. An empty
		 * source (move_mount's MOVE_MOUNT_F_EMPTY_PATH) is the mount
		 * behind from_dfd, which by now may have moved to the target.
		 */
		int src_path = ev->syscall == MCALL_MOVE_MOUNT || ev->syscall == MCALL_PIVOT_ROOT ||
			       (ev->syscall == MCALL_MOUNT && (ev->flags & (0x1000 /* MS_BIND */ | 0x2000 /* MS_MOVE */)));
		if (src_path && ev->src_len > 1 && relative(ev->data, src_off, ev->src_len)) {
			struct path *dir = dir_of(ev->src_dfd);
			if (dir && off < DIR_ROOM) {
				__u32 start = off;
				off = read_path(dir, ev->data, unbounded(off), &ev->file_flags);
				ev->src_dir_len = off - start;
				ev->xflags |= MNTX_SRC_DIR;
			} else {
				ev->xflags |= MNTX_DIR_SKIPPED;
			}
		}
		if (ev->tgt_len && ev->syscall != MCALL_FSOPEN && relative(ev->data, tgt_off, ev->tgt_len)) {
			struct path *dir = dir_of(ev->tgt_dfd);
			if (dir && off < DIR_ROOM) {
				__u32 start = off;
				off = read_path(dir, ev->data, unbounded(off), &ev->file_flags);
				ev->tgt_dir_len = off - start;
				ev->xflags |= MNTX_TGT_DIR;
			} else {
				ev->xflags |= MNTX_DIR_SKIPPED;
			}
		}
	}
	if (req)
		bpf_map_delete_elem(&mount_inflight, &tid);
	if (match_rules(EV_MOUNT, &in))
		verdict(&ev->hdr, &in);
	submit(ev, offsetof(struct mount_event, data) + (off & (DATA_LEN - 1)), EV_MOUNT);
	scratch_release(slot);
}

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct mount_req req = {.syscall = MCALL_MOUNT, .src = ctx->args[0], .tgt = ctx->args[1],
				.fstype = ctx->args[2], .flags = ctx->args[3], .src_dfd = AT_FDCWD, .tgt_dfd = AT_FDCWD};
	enter(&req);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_umount")
int umount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct mount_req req = {.syscall = MCALL_UMOUNT, .tgt = ctx->args[0], .flags = ctx->args[1],
				.src_dfd = AT_FDCWD, .tgt_dfd = AT_FDCWD};
	enter(&req);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_move_mount")
int move_mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct mount_req req = {.syscall = MCALL_MOVE_MOUNT, .src_dfd = (__s32)ctx->args[0], .src = ctx->args[1],
				.tgt_dfd = (__s32)ctx->args[2], .tgt = ctx->args[3], .flags = ctx->args[4]};
	enter(&req);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pivot_root")
int pivot_root_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* pivot_root(new_root, put_old): the target is new_root. */
	struct mount_req req = {.syscall = MCALL_PIVOT_ROOT, .tgt = ctx->args[0], .src = ctx->args[1],
				.src_dfd = AT_FDCWD, .tgt_dfd = AT_FDCWD};
	enter(&req);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fsmount")
int fsmount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct mount_req req = {.syscall = MCALL_FSMOUNT, .src_dfd = (__s32)ctx->args[0], .flags = ctx->args[1],
				.attr_flags = (__u32)ctx->args[2], .tgt_dfd = AT_FDCWD};
	enter(&req);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fsopen")
int fsopen_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct mount_req req = {.syscall = MCALL_FSOPEN, .fstype = ctx->args[0], .flags = ctx->args[1],
				.src_dfd = AT_FDCWD, .tgt_dfd = AT_FDCWD};
	enter(&req);
	return 0;
}

/* Attached to every sys_exit_<call> above. */
SEC("tracepoint/syscalls/sys_exit_mount")
int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	leave(ctx->ret);
	return 0;
}
