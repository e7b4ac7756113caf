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

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct mprotect_event *unused_mprotect_event __attribute__((unused));

struct mprot_req {
	__u64 addr;
	__u64 len;
	__u32 prot;
	__u32 old_prot;
	__u32 flags;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32); /* tid */
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
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct mprot_req req = {};

	if ((pid_tgid >> 32) == self_tgid)
		return 0;
	req.addr = ctx->args[0];
	req.len = ctx->args[1];
	req.prot = ctx->args[2];
	req.flags = pkey;
	bpf_find_vma(bpf_get_current_task_btf(), req.addr, vma_prot, &req, 0);
	bpf_map_update_elem(&mprot_inflight, &tid, &req, BPF_ANY);
	return 0;
}

static __always_inline int leave(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mprot_req *req = bpf_map_lookup_elem(&mprot_inflight, &tid);
	struct mprotect_event ev = {};

	if (!req)
		return 0;
	fill_hdr(&ev.hdr, EV_MPROTECT, MECH_TRACEPOINT);
	ev.addr = req->addr;
	ev.len = req->len;
	ev.prot = req->prot;
	ev.old_prot = req->old_prot;
	ev.flags = req->flags;
	ev.result = ctx->ret;
	bpf_map_delete_elem(&mprot_inflight, &tid);
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
