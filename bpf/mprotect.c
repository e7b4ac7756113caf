// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mprotect.c: the memory-permission sensor: mprotect and pkey_mprotect.
 *
 * syscalls:sys_enter_{mprotect,pkey_mprotect} record the request and the
 * protection of the mapping at addr before the call (bpf_find_vma, 5.17+);
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

/* The request between sys_enter and sys_exit, in the task itself. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mprot_req);
} mprot_inflight SEC(".maps");

static long vma_prot(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct mprot_req *req = ctx;
	/* VM_READ, VM_WRITE and VM_EXEC have the PROT_* values. */
	req->old_prot = BPF_CORE_READ(vma, vm_flags) & 7;
	req->flags |= MPROT_HAS_OLD;
	return 0;
}

static __always_inline int enter(struct trace_event_raw_sys_enter *ctx, __u32 pkey)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mprot_req *req, old;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	req = bpf_task_storage_get(&mprot_inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!req)
		return 0;
	req->addr = ctx->args[0];
	req->len = ctx->args[1];
	req->prot = ctx->args[2];
	old.old_prot = 0;
	old.flags = pkey | MPROT_PENDING;
	/* The old protection only decides W^X when W or X is requested. */
	if (req->prot & 6)
		bpf_find_vma(task, req->addr, vma_prot, &old, 0);
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
	struct mprot_req *req = bpf_task_storage_get(&mprot_inflight, bpf_get_current_task_btf(), 0, 0);
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
