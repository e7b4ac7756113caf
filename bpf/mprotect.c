// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mprotect.c: the memory-permission sensor: mprotect, pkey_mprotect, and
 * mmap calls that ask for PROT_EXEC.
 *
 * syscalls:sys_enter_{mprotect,pkey_mprotect} record the request and the
 * protection of the mapping at addr before the call (bpf_find_vma, 5.17+;
 * the compat build walks the mm's red-black tree of mappings instead);
 * syscalls:sys_exit_* emit the event with the result. A call that turns a
 * writable mapping executable, or an executable one writable, or asks for
 * both at once, is what the "wx" marker in userspace flags.
 *
 * syscalls:sys_enter_mmap keeps only requests with PROT_EXEC (the filter
 * is here, in the kernel: other mmaps are most of a process's calls) and
 * records the file behind fd; sys_exit_mmap emits the event.
 *
 * Kill rules act at entry. Two kinds apply here: mprotect rules (wx,
 * prot), to mmap too; and exec rules on files (rules.h, rule_set.map),
 * which must also stop the file being mapped executable, or the dynamic
 * loader (ld.so /tmp/x/prog), LD_PRELOAD and dlopen would run it without
 * an exec. For those the file is checked at entry (mmap: the file behind
 * fd; mprotect adding PROT_EXEC: the file of every mapping in the range)
 * and again at exit against the mapping that was made, in case another
 * thread swapped the descriptor or the mappings in between; SIGKILL
 * from a syscall tracepoint is delivered before the call returns to user
 * space.
 */
#include "common.h"
#include "rules.h"

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define READ_IMPLIES_EXEC 0x0400000 /* personality(2) flag */
#define MAP_ANONYMOUS 0x20
#define MAX_VMAS 16 /* mappings of one mprotect range checked for files */

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct mprotect_event *unused_mprotect_event __attribute__((unused));

struct mprot_req {
	__u64 addr;
	__u64 len;
	__u32 prot;
	__u32 old_prot;
	__u32 flags;
	__u32 map_flags;
	__u64 file; /* mmap: the struct file * behind fd at entry */
	__u64 ino;
	__u32 dev;
	__s32 fd;
	struct event_hdr verdict; /* flags, rule and action of a kill */
};

/*
 * old_prot: what old_prot_of finds, on the stack of enter (a small
 * struct: the programs' combined stack stays under 512 bytes).
 */
struct old_prot {
	__u32 old_prot;
	__u32 flags;
};

#ifdef VIGIL_COMPAT
/* The request between sys_enter and sys_exit, by thread id: no
 * task-local storage before 5.11. Deleted at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct mprot_req);
} mprot_inflight SEC(".maps");

static __always_inline struct mprot_req *req_get(int create)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mprot_req *req = bpf_map_lookup_elem(&mprot_inflight, &tid);
	if (req || !create)
		return req;
	struct mprot_req zero = {};
	bpf_map_update_elem(&mprot_inflight, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mprot_inflight, &tid);
}

static __always_inline void req_free(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&mprot_inflight, &tid); /* no task to free it with */
}

/*
 * Before the maple tree (6.1) an mm kept its mappings in a red-black
 * tree, mm->mm_rb, ordered by address; find_vma() (mm/mmap.c) walks it
 * down from the root. Without bpf_find_vma (5.17) the compat build does
 * the same walk, 40 steps at most: the tree's height is at most
 * 2 log2(n + 1), 32 for the default vm.max_map_count of 65530. It reads
 * the tree without mmap_lock, as any tracing read does: a mapping another
 * thread changes at that moment can be missed, as bpf_find_vma misses
 * one when mmap_lock is contended, and then the event has no old_prot.
 */
struct mm_struct___rb {
	struct rb_root mm_rb;
} __attribute__((preserve_access_index));

struct vm_area_struct___rb {
	unsigned long vm_start;
	unsigned long vm_end;
	struct rb_node vm_rb;
	unsigned long vm_flags;
	struct file *vm_file;
} __attribute__((preserve_access_index));

/* vma_at returns the current task's mapping that holds addr, or NULL. */
static __always_inline struct vm_area_struct___rb *vma_at(__u64 addr)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct___rb *mm = (void *)BPF_CORE_READ(task, mm);
	struct vm_area_struct___rb *v;
	struct rb_node *node;

	if (!bpf_core_field_exists(mm->mm_rb))
		return NULL; /* a maple-tree kernel, which has bpf_find_vma */
	node = BPF_CORE_READ(mm, mm_rb.rb_node);
	/* Unrolled by hand: clang will not unroll this loop, and 5.10's
	 * verifier refuses it as clang lays it out (see COMPAT_UNROLL). */
#define RB_STEP                                                                      \
	if (!node)                                                                   \
		return NULL;                                                         \
	v = (void *)node - bpf_core_field_offset(struct vm_area_struct___rb, vm_rb); \
	if (BPF_CORE_READ(v, vm_end) > addr) {                                       \
		if (BPF_CORE_READ(v, vm_start) <= addr)                              \
			return v;                                                    \
		node = BPF_CORE_READ(node, rb_left);                                 \
	} else {                                                                     \
		node = BPF_CORE_READ(node, rb_right);                                \
	}
#define RB_STEP4 RB_STEP RB_STEP RB_STEP RB_STEP
	RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4
#undef RB_STEP4
#undef RB_STEP
	return NULL;
}

static __always_inline void old_prot_of(__u64 addr, struct old_prot *old)
{
	struct vm_area_struct___rb *v = vma_at(addr);
	if (v) {
		/* VM_READ, VM_WRITE and VM_EXEC have the PROT_* values. */
		old->old_prot = BPF_CORE_READ(v, vm_flags) & 7;
		old->flags |= MPROT_HAS_OLD;
	}
}
#else
/* The request between sys_enter and sys_exit, in the task itself. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mprot_req);
} mprot_inflight SEC(".maps");

static __always_inline struct mprot_req *req_get(int create)
{
	return bpf_task_storage_get(&mprot_inflight, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline void req_free(void)
{
}

static long vma_prot(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct old_prot *req = ctx;
	/* VM_READ, VM_WRITE and VM_EXEC have the PROT_* values. */
	req->old_prot = BPF_CORE_READ(vma, vm_flags) & 7;
	req->flags |= MPROT_HAS_OLD;
	return 0;
}

static __always_inline void old_prot_of(__u64 addr, struct old_prot *old)
{
	bpf_find_vma(bpf_get_current_task_btf(), addr, vma_prot, old, 0);
}
#endif

/*
 * eff_prot is the protection the kernel applies: under the personality
 * READ_IMPLIES_EXEC (setarch -X, any user may set it) PROT_READ brings
 * PROT_EXEC along (do_mmap, do_mprotect_pkey), so RW becomes RWX without
 * asking for it.
 */
static __always_inline __u32 eff_prot(__u32 prot)
{
	if ((prot & (PROT_READ | PROT_EXEC)) == PROT_READ &&
	    (BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), personality) & READ_IMPLIES_EXEC))
		prot |= PROT_EXEC;
	return prot;
}

/* exec_map_rules reports whether any exec rule covers mapping its files. */
static __always_inline int exec_map_rules(void)
{
	struct rule_set *rs = rule_set_of(EV_EXEC);
	return rs && rs->map;
}

/* set_file records the file mapped in the request. */
static __always_inline void set_file(struct mprot_req *req, struct file *f)
{
	__u32 ff = 0;
	file_info(f, &req->dev, &req->ino, &ff);
	req->flags |= MPROT_FILE;
}

/*
 * file_kill applies the exec rules on files to file, mapped executable:
 * SIGKILL for the first kill rule that matches, recorded in the request.
 * It returns non-zero when one did.
 */
static __always_inline int file_kill(struct mprot_req *req, struct file *f)
{
	struct match_in in = {.file = (__u64)f, .map = 1};

	if (!f)
		return 0;
	in.deleted = BPF_CORE_READ(f, f_inode, i_nlink) == 0;
	if (!match_rules(EV_EXEC, &in) || !in.kill)
		return 0;
	verdict(&req->verdict, &in);
	set_file(req, f);
	return 1;
}

#ifdef VIGIL_COMPAT
/*
 * COMPAT_VMAS: the mappings of an mprotect range the compat build checks
 * for files under exec rules. Each costs a walk of the mm's tree and a
 * match_rules the verifier checks at every call; past them the event
 * says the rest went unchecked (MPROT_UNCHECKED).
 */
#define COMPAT_VMAS 2

/* range_step checks the mapping at *addr; 1 ends the walk of the range. */
static __always_inline int range_step(struct mprot_req *req, __u64 *addr, __u64 end, __u64 skip)
{
	struct vm_area_struct___rb *v = vma_at(*addr);
	if (!v)
		return 1;
	__u64 next = BPF_CORE_READ(v, vm_end);
	struct file *f = BPF_CORE_READ(v, vm_file);
	if (f && (__u64)f != skip) {
		if (!(req->flags & MPROT_FILE))
			set_file(req, f);
		if (file_kill(req, f))
			return 1;
	}
	if (next <= *addr || next >= end)
		return 1;
	*addr = next;
	return 0;
}

/* range_kill applies the exec rules on files to the first COMPAT_VMAS
 * mappings of a range but skip's, and flags the request if there are more. */
static __always_inline void range_kill(struct mprot_req *req, __u64 addr, __u64 len, __u64 skip)
{
	__u64 end = addr + len;
	if (range_step(req, &addr, end, skip) || range_step(req, &addr, end, skip))
		return;
	req->flags |= MPROT_UNCHECKED;
}
#else
/* vma_walk: the state of the walk over the mappings of a range. */
struct vma_walk {
	struct mprot_req *req;
	__u64 addr, end;
	__u64 next;  /* out of vma_step: the mapping's end */
	__u64 file;  /* out of vma_step: its file */
	__u64 skip;  /* a file already checked */
};

static long vma_step(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct vma_walk *w = ctx;
	w->next = BPF_CORE_READ(vma, vm_end);
	w->file = (__u64)BPF_CORE_READ(vma, vm_file);
	return 0;
}

static long range_step(__u32 i, void *ctx)
{
	struct vma_walk *w = ctx;
	struct task_struct *task = bpf_get_current_task_btf();
	struct mprot_req *req = w->req;

	w->file = 0;
	/* -ENOENT past the last mapping; -EBUSY when mmap_lock is contended. */
	if (bpf_find_vma(task, w->addr, vma_step, w, 0))
		return 1;
	if (w->file && w->file != w->skip) {
		struct file *f = (struct file *)w->file;
		if (!(req->flags & MPROT_FILE))
			set_file(req, f);
		if (file_kill(req, f))
			return 1;
	}
	if (w->next <= w->addr || w->next >= w->end)
		return 1;
	w->addr = w->next;
	return 0;
}

/*
 * range_kill applies the exec rules on files to every mapping of a range
 * but skip's. bpf_find_vma only tries mmap_lock: a mapping it cannot
 * read is not checked (BPF LSM has no such gap).
 */
static __always_inline void range_kill(struct mprot_req *req, __u64 addr, __u64 len, __u64 skip)
{
	struct vma_walk w = {.req = req, .addr = addr, .end = addr + len, .skip = skip};
	bpf_loop(MAX_VMAS, range_step, &w, 0);
}

#endif

/* prot_kill applies the mprotect rules (wx, prot) to a request. */
static __always_inline int prot_kill(struct mprot_req *req)
{
	struct match_in in = {.prot = req->prot};
	__u32 w = req->prot & PROT_WRITE, x = req->prot & PROT_EXEC;
	__u32 has_old = req->flags & MPROT_HAS_OLD;

	in.wx = (w && x) || (has_old && ((w && (req->old_prot & PROT_EXEC)) || (x && (req->old_prot & PROT_WRITE))));
	if (!match_rules(EV_MPROTECT, &in) || !in.kill)
		return 0;
	verdict(&req->verdict, &in);
	return 1;
}

static __always_inline int enter(struct trace_event_raw_sys_enter *ctx, __u32 pkey)
{
	struct mprot_req *req;
	struct old_prot old;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	req = req_get(1);
	if (!req)
		return 0;
	req->addr = ctx->args[0];
	req->len = ctx->args[1];
	req->prot = eff_prot(ctx->args[2]);
	req->map_flags = 0;
	req->file = 0;
	req->fd = -1;
	old.old_prot = 0;
	old.flags = pkey | MPROT_PENDING;
	/* The old protection only decides W^X when W or X is requested. */
	if (req->prot & 6)
		old_prot_of(req->addr, &old);
	req->old_prot = old.old_prot;
	req->flags = old.flags;
	req->verdict.flags = 0;

	/* Kill rules act at enter: the task never returns to user mode. */
	if (!prot_kill(req) && (req->prot & PROT_EXEC) && exec_map_rules())
		range_kill(req, req->addr, req->len, 0);
	return 0;
}

static __always_inline int leave(struct trace_event_raw_sys_exit *ctx)
{
	struct mprot_req *req = req_get(0);
	struct mprotect_event ev = {};

	if (!req || !(req->flags & MPROT_PENDING))
		return 0;
	/*
	 * Mapping executable went through: check the files mapped now, which
	 * another thread may have changed since entry.
	 */
	if (!req->verdict.flags && (req->prot & PROT_EXEC) && exec_map_rules()) {
		if (!(req->flags & MPROT_MMAP) && ctx->ret == 0)
			range_kill(req, req->addr, req->len, 0);
		else if ((req->flags & MPROT_MMAP) && !(req->map_flags & MAP_ANONYMOUS) && (__u64)ctx->ret < (__u64)-4095)
			range_kill(req, ctx->ret, 1, req->file);
	}
	fill_hdr(&ev.hdr, EV_MPROTECT, MECH_TRACEPOINT);
	ev.addr = req->addr;
	ev.len = req->len;
	ev.prot = req->prot;
	ev.old_prot = req->old_prot;
	ev.flags = req->flags & ~MPROT_PENDING;
	ev.hdr.flags = req->verdict.flags;
	ev.hdr.rule = req->verdict.rule;
	ev.hdr.action = req->verdict.action;
	ev.ino = req->ino;
	ev.dev = req->dev;
	ev.map_flags = req->map_flags;
	ev.fd = req->fd;
	ev.result = ctx->ret;
	req->flags = 0;
	req_free();
	submit(&ev, sizeof(ev), EV_MPROTECT);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mprotect")
int mprotect_enter(struct trace_event_raw_sys_enter *ctx) { return enter(ctx, 0); }

/* Also attached to sys_exit_pkey_mprotect and sys_exit_mmap. */
SEC("tracepoint/syscalls/sys_exit_mprotect")
int mprotect_exit(struct trace_event_raw_sys_exit *ctx) { return leave(ctx); }

SEC("tracepoint/syscalls/sys_enter_pkey_mprotect")
int pkey_mprotect_enter(struct trace_event_raw_sys_enter *ctx) { return enter(ctx, MPROT_PKEY); }

/* mmap(addr, len, prot, flags, fd, off): only PROT_EXEC requests are kept. */
SEC("tracepoint/syscalls/sys_enter_mmap")
int mmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct mprot_req *req;
	struct file *f = NULL;
	__u32 prot = eff_prot(ctx->args[2]);

	if (!(prot & PROT_EXEC))
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	req = req_get(1);
	if (!req)
		return 0;
	req->addr = ctx->args[0];
	req->len = ctx->args[1];
	req->prot = prot;
	req->map_flags = ctx->args[3];
	req->fd = -1;
	req->file = 0;
	req->old_prot = 0;
	req->flags = MPROT_MMAP | MPROT_PENDING;
	req->verdict.flags = 0;
	if (!(req->map_flags & MAP_ANONYMOUS)) {
		req->fd = ctx->args[4];
		f = fd_file(req->fd);
		req->file = (__u64)f;
		if (f)
			set_file(req, f);
	}
	if (!prot_kill(req) && f && exec_map_rules())
		file_kill(req, f);
	return 0;
}
