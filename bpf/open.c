// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * open.c: the file-open sensor: open, openat and openat2, and io_uring's
 * IORING_OP_OPENAT and IORING_OP_OPENAT2 (below open_exit).
 *
 * Opens are many, so they are filtered here, at syscalls:sys_enter_*,
 * before anything is queued: by process (open_pids), by comm (open_comms)
 * and by path prefix of the name the caller passed (open_prefixes). What
 * passes is remembered per thread and emitted at syscalls:sys_exit_* with
 * the result and, for a new descriptor, the opened file's absolute path.
 * Where fentry/fexit load, the same code runs from the system calls' entry
 * points (__x64_sys_*) instead, off the tracepoints' slow path.
 */
#include "common.h"
#include "rules.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct open_event *unused_open_event __attribute__((unused));
const enum open_xflags *unused_open_xflags __attribute__((unused));

#define MAX_PREFIXES 8
#define PREFIX_LEN 128

/* Filter switches, set by the loader. */
const volatile __u32 filter_pids = 0;
const volatile __u32 filter_comms = 0;
const volatile __u32 n_prefixes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} open_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[COMM_LEN]);
	__type(value, __u8);
} open_comms SEC(".maps");

struct prefix {
	__u32 len;
	char s[PREFIX_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PREFIXES);
	__type(key, __u32);
	__type(value, struct prefix);
} open_prefixes SEC(".maps");

struct open_req {
	__u64 filename; /* user pointer */
	__s32 dirfd;
	__u32 flags;
	__u32 mode;
	__u32 syscall; /* 0: no open in flight */
	__u32 wanted;  /* passed the filters: report it */
	__u32 _pad;
};

#ifdef VIGIL_COMPAT
/* The open between sys_enter and sys_exit, by thread id: no task-local
 * storage before 5.11. Deleted at exit, so only opens in flight use it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct open_req);
} open_inflight SEC(".maps");

static __always_inline struct open_req *req_get(int create)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_req *req = bpf_map_lookup_elem(&open_inflight, &tid);
	if (req || !create)
		return req;
	struct open_req zero = {};
	bpf_map_update_elem(&open_inflight, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&open_inflight, &tid);
}

static __always_inline void req_done(struct open_req *req)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&open_inflight, &tid);
}
#else
/*
 * The open between sys_enter and sys_exit, in the task itself: an exit
 * with nothing pending costs one pointer read, not a hash lookup.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct open_req);
} open_inflight SEC(".maps");

static __always_inline struct open_req *req_get(int create)
{
	return bpf_task_storage_get(&open_inflight, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline void req_done(struct open_req *req)
{
	req->syscall = 0;
}
#endif

#ifdef VIGIL_COMPAT
/* Unrolled by hand: clang will not unroll 128 steps (see COMPAT_UNROLL). */
#define PFX_STEP(j)                        \
	if ((j) >= len)                    \
		return 1;                  \
	if (name[(j)] != p->s[(j)])        \
		return 0;
#define PFX_STEP4(j) PFX_STEP(j) PFX_STEP((j) + 1) PFX_STEP((j) + 2) PFX_STEP((j) + 3)
#define PFX_STEP16(j) PFX_STEP4(j) PFX_STEP4((j) + 4) PFX_STEP4((j) + 8) PFX_STEP4((j) + 12)
#define PFX_STEP64(j) PFX_STEP16(j) PFX_STEP16((j) + 16) PFX_STEP16((j) + 32) PFX_STEP16((j) + 48)

/* prefix_eq reports whether name starts with the prefix p. */
static __always_inline int prefix_eq(const char *name, struct prefix *p)
{
	__u32 len = p->len;
	PFX_STEP64(0)
	PFX_STEP64(64)
	return 1;
}
#else
/* prefix_eq reports whether name starts with the prefix p. */
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

static __always_inline int prefix_match(const char *name)
{
	COMPAT_UNROLL
	for (__u32 i = 0; i < MAX_PREFIXES; i++) {
		if (i >= n_prefixes)
			return 0;
		__u32 key = i;
		struct prefix *p = bpf_map_lookup_elem(&open_prefixes, &key);
		if (!p)
			return 0;
		/* Not written yet (the programs attach before the loader fills
		 * the map): an empty prefix would match every name. */
		if (!p->len)
			continue;
		if (prefix_eq(name, p))
			return 1;
	}
	return 0;
}

/*
 * wanted_proc applies the pid and comm filters to the current task; comm
 * is the comm to filter on (read only when comms are filtered).
 */
static __always_inline int wanted_proc(const char *comm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == self_tgid)
		return 0;
	if (filter_pids && !bpf_map_lookup_elem(&open_pids, &tgid))
		return 0;
	if (filter_comms && !bpf_map_lookup_elem(&open_comms, comm))
		return 0;
	return 1;
}

/* wanted applies the filters to the current task and the passed name. */
static __always_inline int wanted(__u64 filename)
{
	char comm[COMM_LEN] = {};

	if (filter_comms)
		bpf_get_current_comm(comm, sizeof(comm));
	if (!wanted_proc(comm))
		return 0;
	if (n_prefixes) {
		/* On the stack, not per CPU: this program can be preempted. */
		char name[PREFIX_LEN];
		if (bpf_probe_read_user_str(name, PREFIX_LEN, (void *)filename) <= 0)
			return 0;
		return prefix_match(name);
	}
	return 1;
}

static __always_inline void enter(__u32 syscall, __s32 dirfd, __u64 filename, __u32 flags, __u32 mode)
{
	struct open_req *req;
	int want = wanted(filename);

	/* With rules on opens every open is checked; the filters only
	 * decide which are reported. */
	if (!want) {
		struct rule_set *rs = rule_set_of(EV_OPEN);
		if (!rs || !rs->rules)
			return;
	}
	req = req_get(1);
	if (!req)
		return;
	req->filename = filename;
	req->dirfd = dirfd;
	req->flags = flags;
	req->mode = mode;
	req->syscall = syscall;
	req->wanted = want;
}

static __always_inline void leave(long ret, __u32 mech)
{
	struct open_req *req = req_get(0);
	struct scratch *slot;
	struct open_event *ev;
	__u32 off = 0;
	long n;

	if (!req || !req->syscall)
		return;
	if (!req->wanted && ret < 0) {
		req_done(req); /* a failed open cannot match a file rule */
		return;
	}
	slot = scratch_claim();
	if (!slot) {
		req_done(req);
		count_lost(EV_OPEN);
		return;
	}
	ev = &slot->open;
	fill_hdr(&ev->hdr, EV_OPEN, mech);
	ev->result = ret;
	ev->dirfd = req->dirfd;
	ev->flags = req->flags;
	ev->mode = req->mode;
	ev->syscall = req->syscall;
	ev->file_flags = 0;
	ev->xflags = 0;
	n = bpf_probe_read_user_str(ev->data, FILENAME_LEN, (void *)req->filename);
	__u32 want = req->wanted;
	req_done(req);
	off = n > 0 ? n : 0;
	ev->filename_len = off;
	ev->path_len = 0;
	if (ret >= 0) {
		struct file *f = fd_file(ret);
		if (f) {
			struct match_in in = {.file = (__u64)f, .flags = ev->flags};
			if (match_rules(EV_OPEN, &in))
				verdict(&ev->hdr, &in);
			if (!want && !(ev->hdr.flags & HDR_VERDICT)) {
				scratch_release(slot); /* checked, not reported */
				return;
			}
			__u32 start = off;
			off = read_path(&f->f_path, ev->data, off, &ev->file_flags);
			ev->path_len = off - start;
		}
	}
	submit(ev, offsetof(struct open_event, data) + (off & (DATA_LEN - 1)), EV_OPEN);
	scratch_release(slot);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(OPEN_OPENAT, (__s32)ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(OPEN_OPEN, -100 /* AT_FDCWD */, ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	enter(OPEN_OPENAT2, (__s32)ctx->args[0], ctx->args[1], (__u32)how.flags, (__u32)how.mode);
	return 0;
}

/* One program for the three exits: vigil attaches it to sys_exit_openat,
 * sys_exit_open and sys_exit_openat2, so the verifier checks it once. */
SEC("tracepoint/syscalls/sys_exit_openat")
int open_exit(struct trace_event_raw_sys_exit *ctx) { leave(ctx->ret, MECH_TRACEPOINT); return 0; }

/*
 * The same calls off the system-call path: fentry/fexit on the system
 * calls' own entry points (__x64_sys_<name>(const struct pt_regs *regs),
 * arch/x86/include/asm/syscall_wrapper.h). A trampoline slows only the
 * call it is on, where a syscalls:* tracepoint sets TIF_SYSCALL_TRACEPOINT
 * and sends every system call of every task through the slow path. One
 * fexit program per function: a tracing program's target is fixed at load.
 */
#define SYS_ARG(regs, n) PT_REGS_PARM##n##_CORE_SYSCALL(regs)

SEC("fentry/__x64_sys_openat")
int BPF_PROG(openat_fentry, const struct pt_regs *regs)
{
	enter(OPEN_OPENAT, (__s32)SYS_ARG(regs, 1), SYS_ARG(regs, 2), SYS_ARG(regs, 3), SYS_ARG(regs, 4));
	return 0;
}

SEC("fexit/__x64_sys_openat")
int BPF_PROG(openat_fexit, const struct pt_regs *regs, long ret) { leave(ret, MECH_FENTRY); return 0; }

SEC("fentry/__x64_sys_open")
int BPF_PROG(open_fentry, const struct pt_regs *regs)
{
	enter(OPEN_OPEN, -100 /* AT_FDCWD */, SYS_ARG(regs, 1), SYS_ARG(regs, 2), SYS_ARG(regs, 3));
	return 0;
}

SEC("fexit/__x64_sys_open")
int BPF_PROG(open_fexit, const struct pt_regs *regs, long ret) { leave(ret, MECH_FENTRY); return 0; }

SEC("fentry/__x64_sys_openat2")
int BPF_PROG(openat2_fentry, const struct pt_regs *regs)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)SYS_ARG(regs, 3));
	enter(OPEN_OPENAT2, (__s32)SYS_ARG(regs, 1), SYS_ARG(regs, 2), (__u32)how.flags, (__u32)how.mode);
	return 0;
}

SEC("fexit/__x64_sys_openat2")
int BPF_PROG(openat2_fexit, const struct pt_regs *regs, long ret) { leave(ret, MECH_FENTRY); return 0; }

#include "open_iouring.h"
