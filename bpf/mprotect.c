// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mprotect.c: the memory-permission sensor: mprotect and pkey_mprotect.
 *
 * syscalls:sys_enter_{mprotect,pkey_mprotect} record the request and the
 * protection of the mapping at addr before the call (bpf_find_vma, 5.17+;
 * the compat build walks the mm's red-black tree of mappings instead);
 * syscalls:sys_exit_* emit the event with the result. A call that turns a
 * writable mapping executable, or an executable one writable, or asks for
 * both at once, is what the "wx" marker in userspace flags.
 */
#include "common.h"
#include "rules.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct mprotect_event *unused_mprotect_event __attribute__((unused));

struct mprot_req {
	__u64 addr;
	__u64 len;
	__u32 prot;
	__u32 old_prot;
	__u32 flags;
	__u32 _pad;
	struct event_hdr verdict; /* flags, rule and action of a kill at enter */
};

#ifdef VIGIL_COMPAT
/* The request between sys_enter and sys_exit, by thread id: no
 * task-local storage before 5.11. */
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

/*
 * Before the maple tree (6.1) an mm kept its mappings in a red-black
 * tree, mm->mm_rb, ordered by address; find_vma() (mm/mmap.c) walks it
 * down from the root. Without bpf_find_vma (5.17) the compat build does
 * the same walk, bounded: the tree's height is at most 2 log2(n + 1),
 * 32 for the default vm.max_map_count of 65530. The walk reads the tree
 * without mmap_lock, as any tracing read does: a mapping changed by
 * another thread at that moment can be missed, and then the event has no
 * old_prot, as when no mapping is found.
 */
struct mm_struct___rb {
	struct rb_root mm_rb;
} __attribute__((preserve_access_index));

struct vm_area_struct___rb {
	unsigned long vm_start;
	unsigned long vm_end;
	struct rb_node vm_rb;
	unsigned long vm_flags;
} __attribute__((preserve_access_index));

static __always_inline void old_prot_of(__u64 addr, struct mprot_req *old)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct___rb *mm = (void *)BPF_CORE_READ(task, mm);
	struct rb_node *node;

	if (!bpf_core_field_exists(mm->mm_rb))
		return; /* a maple-tree kernel, which has bpf_find_vma */
	node = BPF_CORE_READ(mm, mm_rb.rb_node);
	/* Unrolled by hand: clang will not unroll this loop, and 5.10's
	 * verifier refuses it as clang lays it out (see COMPAT_UNROLL). */
#define RB_STEP                                                                                     \
	if (!node)                                                                                  \
		return;                                                                             \
	v = (void *)node - bpf_core_field_offset(struct vm_area_struct___rb, vm_rb);                \
	if (BPF_CORE_READ(v, vm_end) > addr) {                                                      \
		if (BPF_CORE_READ(v, vm_start) <= addr) {                                           \
			/* VM_READ, VM_WRITE and VM_EXEC have the PROT_* values. */                 \
			old->old_prot = BPF_CORE_READ(v, vm_flags) & 7;                             \
			old->flags |= MPROT_HAS_OLD;                                                \
			return;                                                                     \
		}                                                                                   \
		node = BPF_CORE_READ(node, rb_left);                                                \
	} else {                                                                                    \
		node = BPF_CORE_READ(node, rb_right);                                               \
	}
#define RB_STEP4 RB_STEP RB_STEP RB_STEP RB_STEP
	struct vm_area_struct___rb *v;
	RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4 RB_STEP4
#undef RB_STEP4
#undef RB_STEP
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

static long vma_prot(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct mprot_req *req = ctx;
	/* VM_READ, VM_WRITE and VM_EXEC have the PROT_* values. */
	req->old_prot = BPF_CORE_READ(vma, vm_flags) & 7;
	req->flags |= MPROT_HAS_OLD;
	return 0;
}

static __always_inline void old_prot_of(__u64 addr, struct mprot_req *old)
{
	bpf_find_vma(bpf_get_current_task_btf(), addr, vma_prot, old, 0);
}
#endif

static __always_inline int enter(struct trace_event_raw_sys_enter *ctx, __u32 pkey)
{
	struct mprot_req *req, old;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	req = req_get(1);
	if (!req)
		return 0;
	req->addr = ctx->args[0];
	req->len = ctx->args[1];
	req->prot = ctx->args[2];
	old.old_prot = 0;
	old.flags = pkey | MPROT_PENDING;
	/* The old protection only decides W^X when W or X is requested. */
	if (req->prot & 6)
		old_prot_of(req->addr, &old);
	req->old_prot = old.old_prot;
	req->flags = old.flags;
	req->verdict.flags = 0;

	/* Kill rules act at enter: the task never returns to user mode. */
	struct match_in in = {.prot = req->prot};
	__u32 w = req->prot & 2, x = req->prot & 4;
	__u32 has_old = req->flags & MPROT_HAS_OLD;
	in.wx = (w && x) || (has_old && ((w && (req->old_prot & 4)) || (x && (req->old_prot & 2))));
	if (match_rules(EV_MPROTECT, &in))
		verdict(&req->verdict, &in);
	return 0;
}

static __always_inline int leave(struct trace_event_raw_sys_exit *ctx)
{
	struct mprot_req *req = req_get(0);
	struct mprotect_event ev = {};

	if (!req || !(req->flags & MPROT_PENDING))
		return 0;
	fill_hdr(&ev.hdr, EV_MPROTECT, MECH_TRACEPOINT);
	ev.addr = req->addr;
	ev.len = req->len;
	ev.prot = req->prot;
	ev.old_prot = req->old_prot;
	ev.flags = req->flags & ~MPROT_PENDING;
	ev.hdr.flags = req->verdict.flags;
	ev.hdr.rule = req->verdict.rule;
	ev.hdr.action = req->verdict.action;
	ev.result = ctx->ret;
	req->flags = 0;
#ifdef VIGIL_COMPAT
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&mprot_inflight, &tid); /* no task to free it with */
#endif
	submit(&ev, sizeof(ev), EV_MPROTECT);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mprotect")
int mprotect_enter(struct trace_event_raw_sys_enter *ctx) { return enter(ctx, 0); }

/* Also attached to sys_exit_pkey_mprotect. */
SEC("tracepoint/syscalls/sys_exit_mprotect")
int mprotect_exit(struct trace_event_raw_sys_exit *ctx) { return leave(ctx); }

SEC("tracepoint/syscalls/sys_enter_pkey_mprotect")
int pkey_mprotect_enter(struct trace_event_raw_sys_enter *ctx) { return enter(ctx, MPROT_PKEY); }
