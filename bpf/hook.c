// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * hook.c: vigil's dynamic hooks, one generic program per mechanism. The
 * loader (internal/dynhook) loads a copy per policy hook with its own
 * read-only cfg (hook.h) and attaches it to the hook's target: tp_btf and
 * fentry/fexit/fmod_ret copies are loaded with AttachTo set to it. As cfg
 * is frozen, the verifier knows every field: loops over arguments and
 * matchers stop where the hook's configuration stops, and every branch a
 * hook does not need is pruned before it costs anything at run time.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile struct hook_cfg cfg = {};

/* hook_events: the records of log hooks; the loader shares one ring. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} hook_events SEC(".maps");

/* hook_counts[id]: matches per hook (count), and [id + 256] lost records. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} hook_counts SEC(".maps");

/*
 * hook_scratch: records being built, a few slots per CPU, claimed with a
 * compare-and-swap (programs on syscall tracepoints can be preempted, so
 * two may build on one CPU). Building here rather than in a ring buffer
 * reservation keeps filtered-out calls off the ring: a discarded
 * reservation also delays the reader's wake-up for the records behind it.
 */
#define HOOK_SLOTS 4

struct hook_slot {
	__u64 busy;
	struct hook_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOOK_SLOTS);
	__type(key, __u32);
	__type(value, struct hook_slot);
} hook_scratch SEC(".maps");

static __always_inline struct hook_slot *slot_claim(void)
{
	for (__u32 i = 0; i < HOOK_SLOTS; i++) {
		__u32 key = i;
		struct hook_slot *s = bpf_map_lookup_elem(&hook_scratch, &key);
		if (!s)
			return NULL;
#ifdef VIGIL_COMPAT
		/*
		 * No BPF_CMPXCHG before 5.12: add without fetch (BPF_XADD),
		 * then look. Programs on one CPU nest last-in first-out, and
		 * one that sees another's claim backs out before it returns,
		 * so the first claimant reads 1 and every later one more.
		 */
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

/* slot_release gives back a slot slot_claim returned. */
static __always_inline void slot_release(struct hook_slot *s)
{
#ifdef VIGIL_COMPAT
	__sync_fetch_and_add(&s->busy, -1);
#else
	__sync_lock_test_and_set(&s->busy, 0);
#endif
}

static __always_inline void bump(__u32 key)
{
	__u64 *n = bpf_map_lookup_elem(&hook_counts, &key);
	if (n)
		*n += 1; /* per-CPU: no atomics needed */
}

/*
 * ctx_load reads the context slot at byte offset off. It is written in
 * assembly because the verifier wants every context access at a constant
 * offset from the context pointer, and clang would otherwise merge the
 * cases of ctx_arg into one load through a computed pointer.
 */
#define ctx_load(ctx, off) ({ \
	__u64 __v; \
	asm volatile("%0 = *(u64 *)(%1 + " #off ")" : "=r"(__v) : "r"(ctx)); \
	__v; })

/* ctx_arg returns slot i of a tracing context; i is a constant from cfg. */
static __always_inline __u64 ctx_arg(__u64 *ctx, __u32 i)
{
	switch (i) {
	case 0: return ctx_load(ctx, 0);
	case 1: return ctx_load(ctx, 8);
	case 2: return ctx_load(ctx, 16);
	case 3: return ctx_load(ctx, 24);
	case 4: return ctx_load(ctx, 32);
	case 5: return ctx_load(ctx, 40);
	case 6: return ctx_load(ctx, 48);
	case 7: return ctx_load(ctx, 56);
	case 8: return ctx_load(ctx, 64);
	case 9: return ctx_load(ctx, 72);
	case 10: return ctx_load(ctx, 80);
	case 11: return ctx_load(ctx, 88);
	}
	return 0;
}

/* proc_match applies the process matchers; all given ones must match. */
static __always_inline int proc_match(__u32 tgid, __u32 uid, __u8 *comm)
{
	if (cfg.self_tgid && tgid == cfg.self_tgid)
		return 0;
	if (cfg.npids) {
		int ok = 0;
#pragma unroll
		for (int i = 0; i < HOOK_MAX_VALUES; i++)
			if (i < cfg.npids && cfg.pids[i] == tgid)
				ok = 1;
		if (!ok)
			return 0;
	}
	if (cfg.nuids) {
		int ok = 0;
#pragma unroll
		for (int i = 0; i < HOOK_MAX_VALUES; i++)
			if (i < cfg.nuids && cfg.uids[i] == uid)
				ok = 1;
		if (!ok)
			return 0;
	}
	if (cfg.ncomms) {
		/* cfg is read through volatile: clang would fold its zero initializer. */
		__u64 c0 = *(__u64 *)&comm[0], c1 = *(__u64 *)&comm[8];
		int ok = 0;
#pragma unroll
		for (int i = 0; i < HOOK_MAX_VALUES; i++)
			if (i < cfg.ncomms && *(const volatile __u64 *)&cfg.comms[i][0] == c0 &&
			    *(const volatile __u64 *)&cfg.comms[i][8] == c1)
				ok = 1;
		if (!ok)
			return 0;
	}
	return 1;
}

/* fetch runs argument k's fetch program into e; 0 when it does not match. */
static __always_inline int fetch(__u64 *ctx, int k, struct hook_event *e)
{
	const volatile struct hook_arg *a = &cfg.args[k];
	__u64 base = ctx_arg(ctx, a->index);
	__u64 v = 0;

#pragma unroll
	for (int s = 0; s < HOOK_MAX_STEPS; s++) {
		if (s >= a->nsteps)
			break;
		if (bpf_probe_read_kernel(&base, sizeof(base), (void *)(base + a->steps[s])))
			base = 0;
	}
	switch (a->kind) {
	case HOOK_VAL:
		v = base;
		break;
	case HOOK_INT:
		bpf_probe_read_kernel(&v, a->size & 15, (void *)(base + a->off));
		break;
	case HOOK_STR_PTR: {
		__u64 p = 0;
		bpf_probe_read_kernel(&p, sizeof(p), (void *)(base + a->off));
		v = bpf_probe_read_kernel_str(e->strs[k], HOOK_STR_LEN, (void *)p);
		break;
	}
	case HOOK_STR_ARR:
		v = bpf_probe_read_kernel_str(e->strs[k], HOOK_STR_LEN, (void *)(base + a->off));
		break;
	}
	if (a->kind == HOOK_VAL || a->kind == HOOK_INT) {
		switch (a->size) {
		case 1: v = a->sign ? (__u64)(__s64)(__s8)v : (__u8)v; break;
		case 2: v = a->sign ? (__u64)(__s64)(__s16)v : (__u16)v; break;
		case 4: v = a->sign ? (__u64)(__s64)(__s32)v : (__u32)v; break;
		}
	}
	e->vals[k] = v;

	switch (a->op) {
	case HOOK_OP_EQ: {
		int ok = 0;
#pragma unroll
		for (int i = 0; i < HOOK_MAX_VALUES; i++)
			if (i < a->nvals && a->vals[i] == v)
				ok = 1;
		return ok;
	}
	case HOOK_OP_MASK:
		return (v & a->vals[0]) != 0;
	case HOOK_OP_PREFIX:
#pragma unroll
		for (int i = 0; i < HOOK_PREFIX_LEN; i++)
			if (i < a->plen && e->strs[k][i] != a->prefix[i])
				return 0;
		return 1;
	}
	return 1;
}

/* act carries out the kill, count and override actions; it returns the
 * record's flags for them. */
static __always_inline __u32 act(void)
{
	__u32 flags = 0;

	if (cfg.actions & HOOK_COUNT)
		bump(cfg.id);
	if ((cfg.actions & HOOK_KILL) && bpf_send_signal(9) == 0)
		flags |= HOOK_KILLED;
	if (cfg.actions & HOOK_OVERRIDE)
		flags |= HOOK_OVERRODE;
	return flags;
}

/*
 * run is every hook's body: process matchers, argument fetch and matchers,
 * then the actions. It returns 1 when the hook matched.
 */
static __always_inline int run(__u64 *ctx, int has_ret, __s64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	__u32 tgid = pid_tgid >> 32;
	__u8 comm[HOOK_COMM_LEN] = {};

	if (cfg.ncomms)
		bpf_get_current_comm(comm, sizeof(comm));
	if (!proc_match(tgid, (__u32)uid_gid, comm))
		return 0;

	if (!cfg.nargs && !(cfg.actions & HOOK_LOG)) {
		act();
		return 1;
	}
	struct hook_slot *slot = slot_claim();
	if (!slot) {
		bump(cfg.id + 256);
		return 0;
	}
	struct hook_event *e = &slot->ev;
#pragma unroll
	for (int k = 0; k < HOOK_MAX_ARGS; k++) {
		if (k >= cfg.nargs)
			break;
		e->strs[k][0] = 0;
		if (!fetch(ctx, k, e)) {
			slot_release(slot);
			return 0;
		}
	}
	__u32 flags = act();
	if (cfg.actions & HOOK_LOG) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		e->ktime = bpf_ktime_get_ns();
		e->hook = cfg.id;
		e->mech = cfg.mech;
		e->pid = tgid;
		e->tid = (__u32)pid_tgid;
		e->ppid = BPF_CORE_READ(task, real_parent, tgid);
		e->uid = (__u32)uid_gid;
		e->gid = uid_gid >> 32;
		e->flags = flags | (has_ret ? HOOK_HAS_RET : 0);
		e->ret = ret;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		if (bpf_ringbuf_output(&hook_events, e, sizeof(*e), 0))
			bump(cfg.id + 256);
	}
	slot_release(slot);
	return 1;
}

/* The section targets are placeholders: the loader sets AttachTo per hook. */
SEC("tp_btf/sched_switch")
int hook_tp_btf(__u64 *ctx)
{
	run(ctx, 0, 0);
	return 0;
}

SEC("raw_tp")
int hook_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	run(ctx->args, 0, 0);
	return 0;
}

SEC("fentry/do_init_module")
int hook_fentry(__u64 *ctx)
{
	run(ctx, 0, 0);
	return 0;
}

SEC("fexit/do_init_module")
int hook_fexit(__u64 *ctx)
{
	run(ctx, 1, (__s64)ctx_arg(ctx, cfg.ret_index));
	return 0;
}

SEC("fmod_ret/security_capable")
int hook_fmod_ret(__u64 *ctx)
{
	if (run(ctx, 0, cfg.override))
		return cfg.override;
	return 0;
}

/* kprobe: the first six arguments from the registers (x86-64 ABI). */
SEC("kprobe")
int hook_kprobe(struct pt_regs *regs)
{
	__u64 args[6] = {
		PT_REGS_PARM1(regs), PT_REGS_PARM2(regs), PT_REGS_PARM3(regs),
		PT_REGS_PARM4(regs), PT_REGS_PARM5(regs), regs->r9, /* PT_REGS_PARM6 */
	};
	if (run(args, 0, 0) && (cfg.actions & HOOK_OVERRIDE))
		bpf_override_return(regs, (__u64)(__s64)cfg.override);
	return 0;
}

SEC("kretprobe")
int hook_kretprobe(struct pt_regs *regs)
{
	__u64 args[6] = {};
	run(args, 1, (__s64)PT_REGS_RC(regs));
	return 0;
}

/* Keep the enums in BTF so that bpf2go generates them for Go. */
const enum hook_mech *unused_mech __attribute__((unused));
const enum hook_kind *unused_kind __attribute__((unused));
const enum hook_action *unused_action __attribute__((unused));
const enum hook_op *unused_op __attribute__((unused));
const enum hook_flags *unused_flags __attribute__((unused));
const struct hook_event *unused_event __attribute__((unused));
