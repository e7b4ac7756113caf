// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * priv.c: the privilege sensor: changes of credentials (cred), ptrace
 * and process_vm_writev into another process (ptrace), and entries into
 * new or other namespaces (namespace).
 *
 *   cred       syscalls:sys_{enter,exit}_{setuid,setgid,setreuid,setregid,
 *              setresuid,setresgid,setfsuid,setfsgid,setgroups,capset,
 *              execve,execveat}: the task's struct cred at entry and at
 *              exit; reported when they differ or the call failed (an
 *              exec only when they differ: a setuid or setcap binary).
 *   ptrace     syscalls:sys_{enter,exit}_{ptrace,process_vm_writev},
 *              filtered at entry to the requests that take hold of or
 *              change another process (traceme, attach, seize, poke*,
 *              set*regs*) and to writes into another process.
 *   namespace  syscalls:sys_{enter,exit}_{unshare,setns} (unshare only
 *              with a CLONE_NEW* flag): the task's namespaces at entry
 *              and exit; tp_btf/sched_process_fork: a child whose
 *              namespaces differ from its parent's (clone, clone3 with
 *              CLONE_NEW*).
 *
 * Kill rules are evaluated at the call's entry (bpf_send_signal): the
 * call completes, but the task never returns to user space.
 */
#include "common.h"
#include "rules.h"
#include "cred.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct cred_event *unused_cred_event __attribute__((unused));
const struct ptrace_event *unused_ptrace_event __attribute__((unused));
const struct namespace_event *unused_namespace_event __attribute__((unused));
const enum ns_kind *unused_ns_kind __attribute__((unused));
const enum cred_flags *unused_cred_flags __attribute__((unused));

/* x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
#define NR_EXECVE 59
#define NR_PTRACE 101
#define NR_SETUID 105
#define NR_SETGID 106
#define NR_SETREUID 113
#define NR_SETREGID 114
#define NR_SETGROUPS 116
#define NR_SETRESUID 117
#define NR_SETRESGID 119
#define NR_SETFSUID 122
#define NR_SETFSGID 123
#define NR_CAPSET 126
#define NR_UNSHARE 272
#define NR_SETNS 308
#define NR_PROCESS_VM_WRITEV 311
#define NR_EXECVEAT 322

/* include/uapi/linux/ptrace.h */
#define PTRACE_TRACEME 0
#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
#define PTRACE_POKEUSR 6
#define PTRACE_SETREGS 13
#define PTRACE_SETFPREGS 15
#define PTRACE_ATTACH 16
#define PTRACE_SETFPXREGS 19
#define PTRACE_SETREGSET 0x4205
#define PTRACE_SEIZE 0x4206

/* include/uapi/linux/sched.h: every CLONE_NEW* flag. */
#define CLONE_NEW_ANY (0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000)

/* A call between its entry and exit. */
struct priv_req {
	__u32 nr;
	__u32 flags;  /* hdr flags of a kill verdict taken at entry */
	__u32 rule;
	__u32 action;
	__u64 args[3];
	union {
		struct cred_ids cred;
		__u32 ns[NS_KINDS];
	} old;
};

struct {
	/* LRU: a multithreaded exec changes the caller's tid, leaving its entry. */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid */
	__type(value, struct priv_req);
} priv_inflight SEC(".maps");

/* submit_rec commits a reserved record, waking the reader as submit() does. */
static __always_inline void submit_rec(void *rec)
{
	__u64 flags = 0;
	if (wakeup_bytes && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		flags = BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
}

static __always_inline void read_ns(struct task_struct *task, __u32 *ns)
{
	struct nsproxy *p = BPF_CORE_READ(task, nsproxy);
	if (!p)
		return; /* an exiting task */
	ns[NS_MNT] = BPF_CORE_READ(p, mnt_ns, ns.inum);
	ns[NS_UTS] = BPF_CORE_READ(p, uts_ns, ns.inum);
	ns[NS_IPC] = BPF_CORE_READ(p, ipc_ns, ns.inum);
	ns[NS_NET] = BPF_CORE_READ(p, net_ns, ns.inum);
	ns[NS_PID] = BPF_CORE_READ(p, pid_ns_for_children, ns.inum);
	ns[NS_USER] = BPF_CORE_READ(task, cred, user_ns, ns.inum);
	ns[NS_CGROUP] = BPF_CORE_READ(p, cgroup_ns, ns.inum);
	if (bpf_core_field_exists(p->time_ns_for_children))
		ns[NS_TIME] = BPF_CORE_READ(p, time_ns_for_children, ns.inum);
}

/*
 * enter records a call of interest and applies the kill rules of its
 * event type; exit reports it.
 */
/* enter_req records req (nr and args set) and applies the kill rules. */
static __always_inline void enter_req(__u32 kind, struct priv_req *req, int rules)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct match_in in = {};

	if (rules && match_rules(kind, &in) && in.kill) {
		req->flags = HDR_VERDICT;
		req->rule = lowest(in.kill);
		req->action = ACT_KILL;
		if (bpf_send_signal(9 /* SIGKILL */) == 0)
			req->flags |= HDR_ENFORCED;
	}
	bpf_map_update_elem(&priv_inflight, &tid, req, BPF_ANY);
}

static __always_inline void enter(__u32 kind, struct trace_event_raw_sys_enter *ctx, struct priv_req *req, int rules)
{
	req->nr = (__u32)ctx->id;
	/*
	 * Copied, not read as fields: the kernel refuses to attach a program
	 * that reads past a tracepoint's record (perf_event_set_bpf_prog,
	 * EACCES), and setuid's has one argument. Arguments past a call's
	 * own are garbage; userspace keeps only the call's.
	 */
	bpf_probe_read_kernel(req->args, sizeof(req->args), ctx->args);
	enter_req(kind, req, rules);
}

static __always_inline void set_verdict(struct event_hdr *h, struct priv_req *req)
{
	h->flags = req->flags;
	h->rule = req->rule;
	h->action = req->action;
}

/* ---- cred ---- */

SEC("tracepoint/syscalls/sys_enter_setuid")
int cred_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct priv_req req = {};
	read_cred(current_cred(), &req.old.cred);
	/* Kill rules act on the set*id, setgroups and capset calls; an exec
	 * is reported only once it has changed credentials. */
	enter(EV_CRED, ctx, &req, ctx->id != NR_EXECVE && ctx->id != NR_EXECVEAT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_setuid")
int cred_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct priv_req *req = bpf_map_lookup_elem(&priv_inflight, &tid);
	struct cred_ids cur;
	struct cred_event *ev;
	__u32 groups, exec;

	if (!req)
		return 0;
	read_cred(current_cred(), &cur);
	/* setgroups installs a new group_info even for the same groups. */
	groups = req->nr == NR_SETGROUPS && ctx->ret == 0;
	exec = req->nr == NR_EXECVE || req->nr == NR_EXECVEAT;
	if (!req->flags && !groups && cred_same(&req->old.cred, &cur) && (exec || ctx->ret == 0)) {
		/* Nothing changed and nothing to say: the common case of a storm. */
		bpf_map_delete_elem(&priv_inflight, &tid);
		return 0;
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		bpf_map_delete_elem(&priv_inflight, &tid);
		count_lost(EV_CRED);
		return 0;
	}
	fill_hdr(&ev->hdr, EV_CRED, MECH_TRACEPOINT);
	set_verdict(&ev->hdr, req);
	ev->result = ctx->ret;
	ev->nr = req->nr;
	ev->flags = groups ? CRED_GROUPS : 0;
	ev->args[0] = req->args[0];
	ev->args[1] = req->args[1];
	ev->args[2] = req->args[2];
	ev->old = req->old.cred;
	ev->new_ = cur;
	bpf_map_delete_elem(&priv_inflight, &tid);
	submit_rec(ev);
	return 0;
}

/*
 * fentry/commit_creds: every change of a task's own credentials, whatever
 * made it (the set*id family, setgroups, capset, an exec, prctl, the
 * 32-bit calls), seen before it takes effect: old is the task's cred,
 * new the argument. The call is read from the task's saved registers.
 */
static __always_inline struct pt_regs *current_regs(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
#ifndef VIGIL_COMPAT
	(void)task;
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
#else
	/* No bpf_task_pt_regs (5.15): x86_64 keeps them at the top of the
	 * 16 KiB kernel stack (task_pt_regs()). */
	return (struct pt_regs *)(BPF_CORE_READ(task, stack) + 16384 - sizeof(struct pt_regs));
#endif
}

SEC("fentry/commit_creds")
int BPF_PROG(cred_commit, struct cred *new)
{
	const struct cred *old = current_cred();
	struct cred_ids o, n;
	struct pt_regs *regs;
	struct match_in in = {};
	struct cred_event *ev;
	__u32 groups = BPF_CORE_READ(new, group_info) != BPF_CORE_READ(old, group_info);

	read_cred(old, &o);
	read_cred(new, &n);
	if (!groups && cred_same(&o, &n))
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost(EV_CRED);
		return 0;
	}
	fill_hdr(&ev->hdr, EV_CRED, MECH_FENTRY);
	if (match_rules(EV_CRED, &in))
		verdict(&ev->hdr, &in);
	regs = current_regs();
	ev->nr = BPF_CORE_READ(regs, orig_ax);
	ev->args[0] = BPF_CORE_READ(regs, di);
	ev->args[1] = BPF_CORE_READ(regs, si);
	ev->args[2] = BPF_CORE_READ(regs, dx);
	ev->result = 0; /* commit_creds cannot fail */
	ev->flags = groups ? CRED_GROUPS : 0;
	ev->old = o;
	ev->new_ = n;
	submit_rec(ev);
	return 0;
}

/* ---- ptrace ---- */

static __always_inline int ptrace_interesting(long req)
{
	switch (req) {
	case PTRACE_TRACEME:
	case PTRACE_POKETEXT:
	case PTRACE_POKEDATA:
	case PTRACE_POKEUSR:
	case PTRACE_SETREGS:
	case PTRACE_SETFPREGS:
	case PTRACE_ATTACH:
	case PTRACE_SETFPXREGS:
	case PTRACE_SETREGSET:
	case PTRACE_SEIZE:
		return 1;
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int ptrace_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct priv_req req = {};
	if (!ptrace_interesting((long)ctx->args[0]))
		return 0;
	enter(EV_PTRACE, ctx, &req, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int vm_writev_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct priv_req req = {};
	/* Writing into oneself is no injection. */
	if ((__u32)ctx->args[0] == bpf_get_current_pid_tgid() >> 32)
		return 0;
	enter(EV_PTRACE, ctx, &req, 1);
	return 0;
}

/* Also attached to sys_exit_process_vm_writev. */
SEC("tracepoint/syscalls/sys_exit_ptrace")
int ptrace_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct priv_req *req = bpf_map_lookup_elem(&priv_inflight, &tid);
	struct ptrace_event *ev;

	if (!req)
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		bpf_map_delete_elem(&priv_inflight, &tid);
		count_lost(EV_PTRACE);
		return 0;
	}
	fill_hdr(&ev->hdr, EV_PTRACE, MECH_TRACEPOINT);
	set_verdict(&ev->hdr, req);
	ev->result = ctx->ret;
	ev->nr = req->nr;
	if (req->nr == NR_PTRACE) {
		ev->request = (__s64)req->args[0];
		ev->target = (__u32)req->args[1];
		ev->addr = req->args[2];
		ev->data = 0;
		if (ev->request == PTRACE_TRACEME)
			ev->target = ev->hdr.ppid;
	} else {
		/* process_vm_writev(pid, local_iov, liovcnt, remote_iov, riovcnt, flags) */
		ev->request = -1;
		ev->target = (__u32)req->args[0];
		ev->addr = req->args[2];
		ev->data = 0;
	}
	bpf_map_delete_elem(&priv_inflight, &tid);
	submit_rec(ev);
	return 0;
}

/* ---- namespace ---- */

static __always_inline __u32 ns_changed(const __u32 *a, const __u32 *b)
{
	__u32 m = 0;
	for (int i = 0; i < NS_KINDS; i++)
		if (a[i] != b[i])
			m |= 1 << i;
	return m;
}

SEC("tracepoint/syscalls/sys_enter_unshare")
int unshare_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct priv_req req = {};
	if (!(ctx->args[0] & CLONE_NEW_ANY))
		return 0;
	read_ns((struct task_struct *)bpf_get_current_task(), req.old.ns);
	enter(EV_NAMESPACE, ctx, &req, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_setns")
int setns_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct priv_req req = {};
	read_ns((struct task_struct *)bpf_get_current_task(), req.old.ns);
	enter(EV_NAMESPACE, ctx, &req, 1);
	return 0;
}

static __always_inline void ns_leave(long ret, __u32 mech)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct priv_req *req = bpf_map_lookup_elem(&priv_inflight, &tid);
	struct namespace_event *ev;

	if (!req)
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		bpf_map_delete_elem(&priv_inflight, &tid);
		count_lost(EV_NAMESPACE);
		return;
	}
	fill_hdr(&ev->hdr, EV_NAMESPACE, mech);
	set_verdict(&ev->hdr, req);
	ev->result = ret;
	ev->nr = req->nr;
	ev->child = 0;
	if (req->nr == NR_SETNS) {
		ev->fd = (__s32)req->args[0];
		ev->flags = req->args[1];
	} else {
		ev->fd = -1;
		ev->flags = req->args[0];
	}
	__builtin_memcpy(ev->old_ns, req->old.ns, sizeof(ev->old_ns));
	__builtin_memset(ev->new_ns, 0, sizeof(ev->new_ns));
	read_ns((struct task_struct *)bpf_get_current_task(), ev->new_ns);
	ev->changed = ns_changed(ev->old_ns, ev->new_ns);
	bpf_map_delete_elem(&priv_inflight, &tid);
	submit_rec(ev);
}

/* Also attached to sys_exit_setns. */
SEC("tracepoint/syscalls/sys_exit_unshare")
int ns_exit(struct trace_event_raw_sys_exit *ctx)
{
	ns_leave(ctx->ret, MECH_TRACEPOINT);
	return 0;
}

/*
 * The fentry rung: ksys_unshare(flags) is unshare(2)'s body; setns(2)'s
 * is inlined into its syscall wrapper, __x64_sys_setns(regs). No syscall
 * tracepoint (which every system call pays for once one is attached).
 */
static __always_inline void ns_enter(__u32 nr, __u64 a0, __u64 a1)
{
	struct priv_req req = {.nr = nr, .args = {a0, a1}};
	read_ns((struct task_struct *)bpf_get_current_task(), req.old.ns);
	enter_req(EV_NAMESPACE, &req, 1);
}

SEC("fentry/ksys_unshare")
int BPF_PROG(unshare_fentry, unsigned long flags)
{
	if (flags & CLONE_NEW_ANY)
		ns_enter(NR_UNSHARE, flags, 0);
	return 0;
}

SEC("fexit/ksys_unshare")
int BPF_PROG(unshare_fexit, unsigned long flags, int ret)
{
	ns_leave(ret, MECH_FENTRY);
	return 0;
}

SEC("fentry/__x64_sys_setns")
int BPF_PROG(setns_fentry, const struct pt_regs *regs)
{
	ns_enter(NR_SETNS, BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si));
	return 0;
}

SEC("fexit/__x64_sys_setns")
int BPF_PROG(setns_fexit, const struct pt_regs *regs, long ret)
{
	ns_leave(ret, MECH_FENTRY);
	return 0;
}

/*
 * A fork whose child has other namespaces than its parent: clone or
 * clone3 with CLONE_NEW*. Threads and ordinary forks share the parent's
 * nsproxy and user namespace and cost two reads.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(ns_fork, struct task_struct *parent, struct task_struct *child)
{
	struct namespace_event *ev;
	__u32 old_ns[NS_KINDS] = {}, new_ns[NS_KINDS] = {};

	if (BPF_CORE_READ(parent, nsproxy) == BPF_CORE_READ(child, nsproxy) &&
	    BPF_CORE_READ(parent, cred, user_ns) == BPF_CORE_READ(child, cred, user_ns))
		return 0;
	read_ns(parent, old_ns);
	read_ns(child, new_ns);
	if (!ns_changed(old_ns, new_ns))
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost(EV_NAMESPACE);
		return 0;
	}
	fill_hdr(&ev->hdr, EV_NAMESPACE, MECH_TP_BTF);
	ev->result = BPF_CORE_READ(child, tgid);
	ev->flags = 0;
	ev->nr = NS_NR_FORK;
	ev->fd = -1;
	ev->child = BPF_CORE_READ(child, tgid);
	__builtin_memcpy(ev->old_ns, old_ns, sizeof(old_ns));
	__builtin_memcpy(ev->new_ns, new_ns, sizeof(new_ns));
	ev->changed = ns_changed(old_ns, new_ns);
	submit_rec(ev);
	return 0;
}
