/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * common.h: maps and helpers shared by every sensor: the ring buffer, the
 * per-type loss counters, the per-CPU scratch space, the event header and
 * the walk that turns a struct path into its components.
 *
 * Each sensor's object declares these maps; vigil creates one instance and
 * hands it to every object (MapReplacements), so all sensors feed one ring.
 */
#ifndef VIGIL_COMMON_H
#define VIGIL_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/*
 * VIGIL_COMPAT builds the same sensors for kernels that lack what the
 * default build uses: bpf_loop() (5.17), task-local storage and
 * bpf_get_current_task_btf() (5.11), pointer arguments of global
 * functions (5.12) and bpf_find_vma() (5.17). internal/bpfobj compiles
 * each object twice (the *Compat objects); the ladders in
 * internal/doctor/plan.go choose between them by probing ("bpf-loop",
 * "task-storage", "find-vma", "atomics"), never by kernel version. The
 * compat build walks with bounded loops, keeps in-flight syscalls in hash
 * maps keyed by thread, and makes every function static.
 */
#ifdef VIGIL_COMPAT
#define VIGIL_GLOBAL static __noinline
/*
 * Loops are unrolled in full: 5.10's check_cfg refuses a loop that clang
 * enters past its first instruction (the fall-through edge of a
 * non-branch instruction may not close a loop), which is how clang lays
 * out most of them.
 */
#define COMPAT_UNROLL _Pragma("unroll")
#else
#define VIGIL_GLOBAL __noinline
#define COMPAT_UNROLL
#endif

/* Set by the loader before the programs are loaded. */
const volatile __u32 self_tgid = 0;   /* vigil itself; excluded from noisy types */
const volatile __u64 wakeup_bytes = 0; /* wake the reader only past this much data */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23); /* replaced by the loader's shared ring */
} events SEC(".maps");

/* lost[type]: records the ring buffer had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EV_TYPE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * scratch: records being built, a few slots per CPU. Programs on syscall
 * tracepoints can be preempted (they are faultable since 6.13), so two
 * tasks may build records on one CPU at once: each claims a slot with an
 * atomic compare-and-swap and releases it after copying the record into
 * the ring. The largest record fits; only the filled bytes are copied.
 *
 * Kernels without compare-and-swap (BPF atomics, 5.12) predate faultable
 * tracepoints: there a tracepoint calls its programs with preemption
 * disabled (__DO_TRACE in include/linux/tracepoint.h holds
 * rcu_read_lock_sched_notrace(), which disables preemption, around the
 * probes, and both perf_trace_run_bpf_submit() and __bpf_trace_run() run
 * the program inside it), and none of vigil's tracepoints fires in
 * interrupt context, so no claim would be needed there. The compat build
 * claims anyway, with the atomic add every kernel has (BPF_XADD): each
 * claimant adds 1 to busy and owns the slot only if it then reads 1, so
 * two can never both own it (they may both give up; that is a lost
 * record, counted). It thus stays right wherever it is loaded.
 */
#define SCRATCH_SLOTS 4

struct scratch {
	__u64 busy; /* 64-bit: clang's default BPF target has no 32-bit cmpxchg */
	union {
		struct exec_event exec;
		struct module_event module;
		struct open_event open;
		struct file_event file;
		struct mount_event mount;
		struct bpf_event bpf;
	};
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct scratch);
} heap SEC(".maps");

/* scratch_claim returns a free slot of this CPU, or NULL when all are busy. */
static __always_inline struct scratch *scratch_claim(void)
{
	COMPAT_UNROLL
	for (__u32 i = 0; i < SCRATCH_SLOTS; i++) {
		__u32 key = i;
		struct scratch *s = bpf_map_lookup_elem(&heap, &key);
		if (!s)
			return NULL;
#ifdef VIGIL_COMPAT
		__sync_fetch_and_add(&s->busy, 1);
		if (*(volatile __u64 *)&s->busy == 1)
			return s;
		__sync_fetch_and_add(&s->busy, -1);
#else
		if (__sync_val_compare_and_swap(&s->busy, 0, 1) == 0)
			return s;
#endif
	}
	return NULL;
}

static __always_inline void scratch_release(struct scratch *s)
{
#ifdef VIGIL_COMPAT
	__sync_fetch_and_add(&s->busy, -1);
#else
	__sync_lock_test_and_set(&s->busy, 0);
#endif
}


static __always_inline void count_lost(__u32 type)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &type);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* submit copies size bytes of a built record into the ring buffer. */
static __always_inline void submit(void *rec, __u64 size, __u32 type)
{
	__u64 flags = 0;
	if (wakeup_bytes && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, rec, size, flags))
		count_lost(type);
}

/*
 * fill_ctx sets the header's container context from task (the current
 * one). The cgroup is the task's in the default hierarchy
 * (bpf_get_current_cgroup_id, 4.18; 0 without CONFIG_CGROUPS). The pid
 * namespace is the one the task lives in, task_active_pid_ns(): the
 * namespace of its struct pid's last level (thread_pid, 4.19), not
 * nsproxy->pid_ns_for_children, which unshare(CLONE_NEWPID) changes
 * for children only. The user namespace is the one of the task's
 * credentials. Each is an ns_common inode number, as in /proc/PID/ns/.
 * A task past exit_task_namespaces() has no nsproxy: the reads fail and
 * leave 0.
 */
static __always_inline void fill_ctx(struct event_hdr *h, struct task_struct *task)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid *up;

	h->cgroup_id = bpf_get_current_cgroup_id();
	h->mnt_ns = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	h->net_ns = BPF_CORE_READ(nsp, net_ns, ns.inum);
	h->user_ns = BPF_CORE_READ(task, cred, user_ns, ns.inum);
	/* numbers[] is numbers[level + 1] long: read element level. */
	up = (void *)pid + bpf_core_field_offset(struct pid, numbers) +
	     (__u64)(level & 63) * bpf_core_type_size(struct upid);
	h->pid_ns = BPF_CORE_READ(up, ns, ns.inum);
}

/* fill_hdr fills the header from the current task. */
static __always_inline void fill_hdr(struct event_hdr *h, __u32 type, __u32 mech)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->ktime = bpf_ktime_get_ns();
	h->type = type;
	h->mech = mech;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->flags = 0;
	h->rule = 0;
	h->action = 0;
	bpf_get_current_comm(&h->comm, sizeof(h->comm));
	fill_ctx(h, task);
}

/* path_walk is the state of read_path's loop, shared with its callback. */
struct path_walk {
	struct dentry *d;
	struct mount *m;
	__u8 *buf;
	__u32 off;
	__u32 start;
	__u32 flags;
	__u32 done;
};

/* path_step walks one dentry up; bpf_loop() calls it (the compat build:
 * a bounded loop). 1 stops the loop. */
static long path_step(__u32 i, void *ctx)
{
	struct path_walk *w = ctx;
	struct dentry *d = w->d;
	struct mount *m = w->m;
	if (!d || !m)
		return 1;
	struct vfsmount *vm = (void *)m + bpf_core_field_offset(struct mount, mnt);
	struct dentry *root = BPF_CORE_READ(vm, mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	const unsigned char *name;
	long n;

	if (d == root || d == parent) {
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);
		if (d != root) {
			/*
			 * A dentry with no way up: a pseudo file on an internal
			 * mount (memfd, anonymous inode). Keep its name, which
			 * says what it is ("memfd:x").
			 */
			name = BPF_CORE_READ(d, d_name.name);
			n = bpf_probe_read_kernel_str(&w->buf[w->off & DATA_MASK], NAME_LEN, name);
			if (n > 0)
				w->off += n;
			w->flags |= FILE_INTERNAL;
			w->done = 1;
			return 1;
		}
		if (m == mp) {
			w->done = 1; /* the root of the tree */
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = mp;
		return 0;
	}
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(&w->buf[w->off & DATA_MASK], NAME_LEN, name);
	if (n <= 0)
		return 1;
	w->off += n;
#ifdef VIGIL_COMPAT
	/*
	 * In a bounded loop the verifier carries off's range from step to
	 * step, so no two steps' states match and it walks every mix of
	 * paths (over a million instructions). Read back through a helper,
	 * off is just a number again: masked where it indexes buf, it needs
	 * no range, and steps' states prune.
	 */
	bpf_probe_read_kernel(&w->off, sizeof(w->off), &w->off);
#endif
	if (w->off - w->start > PATH_LEN)
		return 1;
	w->d = parent;
	return 0;
}

/*
 * read_path writes the components of path into buf from offset off, leaf
 * first, each NUL-terminated, crossing mount points up to the root of the
 * task's namespace. It returns the new offset and sets FILE_PATH_TRUNC or
 * FILE_INTERNAL in *flags. buf must hold DATA_LEN bytes. The walk runs in
 * bpf_loop() (5.17+), so the verifier checks one step, not every depth;
 * the compat build calls the same step from a loop unrolled in full,
 * which the verifier checks once per depth.
 */
static __always_inline __u32 read_path(const struct path *path, __u8 *buf, __u32 off, __u32 *flags)
{
	struct vfsmount *vm = BPF_CORE_READ(path, mnt);
	struct path_walk w = {
		.d = BPF_CORE_READ(path, dentry),
		.m = (void *)vm - bpf_core_field_offset(struct mount, mnt),
		.buf = buf,
		.off = off,
		.start = off,
	};

#ifdef VIGIL_COMPAT
	COMPAT_UNROLL
	for (__u32 i = 0; i < MAX_PATH_DEPTH; i++)
		if (path_step(i, &w))
			break;
#else
	bpf_loop(MAX_PATH_DEPTH, path_step, &w, 0);
#endif
	*flags |= w.flags;
	if (!w.done)
		*flags |= FILE_PATH_TRUNC;
	return w.off;
}

/* file_info sets device, inode and FILE_UNLINKED from a file. */
static __always_inline void file_info(struct file *f, __u32 *dev, __u64 *ino, __u32 *flags)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	if (dev)
		*dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (ino)
		*ino = BPF_CORE_READ(inode, i_ino);
	if (BPF_CORE_READ(inode, i_nlink) == 0)
		*flags |= FILE_UNLINKED;
}

/* fd_file returns the file behind fd in the current task, or NULL. */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif
