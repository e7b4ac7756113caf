/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * priv_lsm.h: deny rules of the privilege events through BPF LSM,
 * included by lsm.c (same matcher, same maps). Each denial is reported
 * as a record of its event type with the verdict; the system call's own
 * record (bpf/priv.c), when that sensor runs, follows with the error.
 *
 *   cred    lsm/task_fix_setuid (setuid, setreuid, setresuid, setfsuid),
 *           lsm/task_fix_setgid (the gid calls), lsm/capset: before the
 *           new credentials are committed, with both at hand
 *   ptrace  lsm/ptrace_access_check (attach, seize, and process_vm_writev
 *           or /proc/PID/mem writes: PTRACE_MODE_ATTACH checks only) and
 *           lsm/ptrace_traceme
 */
#ifndef VIGIL_PRIV_LSM_H
#define VIGIL_PRIV_LSM_H

#include "cred.h"

#define PTRACE_MODE_ATTACH 0x02

/* include/linux/security.h: task_fix_set[ug]id's flags. */
#define LSM_SETID_ID 1
#define LSM_SETID_RE 2
#define LSM_SETID_RES 4
#define LSM_SETID_FS 8

/* setid_nr turns task_fix_set[ug]id's flags into the x86_64 call number. */
static __always_inline __u32 setid_nr(int flags, int gid)
{
	switch (flags) {
	case LSM_SETID_ID:
		return gid ? 106 : 105;
	case LSM_SETID_RE:
		return gid ? 114 : 113;
	case LSM_SETID_RES:
		return gid ? 119 : 117;
	case LSM_SETID_FS:
		return gid ? 123 : 122;
	}
	return 0;
}

static __always_inline int deny_cred(struct cred *new, const struct cred *old, __u32 nr)
{
	struct match_in in = {};
	struct cred_event *ev;
	__u32 rule = 0;
	long rc;

	if (!denied(EV_CRED, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost(EV_CRED);
		return lsm_ret(rc);
	}
	deny_hdr(&ev->hdr, EV_CRED, rule);
	ev->result = rc;
	ev->nr = nr;
	ev->flags = 0;
	ev->args[0] = ev->args[1] = ev->args[2] = 0;
	read_cred(old, &ev->old);
	read_cred(new, &ev->new_);
	bpf_ringbuf_submit(ev, 0);
	return lsm_ret(rc);
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(deny_setuid, struct cred *new, const struct cred *old, int flags, int ret)
{
	if (ret)
		return ret;
	return deny_cred(new, old, setid_nr(flags, 0));
}

SEC("lsm/task_fix_setgid")
int BPF_PROG(deny_setgid, struct cred *new, const struct cred *old, int flags, int ret)
{
	if (ret)
		return ret;
	return deny_cred(new, old, setid_nr(flags, 1));
}

SEC("lsm/capset")
int BPF_PROG(deny_capset, struct cred *new, const struct cred *old, const kernel_cap_t *effective,
	     const kernel_cap_t *inheritable, const kernel_cap_t *permitted, int ret)
{
	if (ret)
		return ret;
	return deny_cred(new, old, 126);
}

static __always_inline int deny_ptrace_of(__u32 target, __s64 request)
{
	struct match_in in = {};
	struct ptrace_event *ev;
	__u32 rule = 0, nr = 101;
	long rc;

	if (!denied(EV_PTRACE, &in, &rule))
		return 0;
	rc = deny_errno(rule);
#ifndef VIGIL_COMPAT
	/* The call, from the task's saved registers (bpf_task_pt_regs, 5.15). */
	if (request != 0) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		nr = BPF_CORE_READ(regs, orig_ax);
		request = nr == 101 ? (__s64)BPF_CORE_READ(regs, di) : -1;
	}
#endif
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost(EV_PTRACE);
		return lsm_ret(rc);
	}
	deny_hdr(&ev->hdr, EV_PTRACE, rule);
	ev->result = rc;
	ev->request = request;
	ev->addr = 0;
	ev->data = 0;
	ev->nr = nr;
	ev->target = target;
	bpf_ringbuf_submit(ev, 0);
	return lsm_ret(rc);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(deny_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret || !(mode & PTRACE_MODE_ATTACH))
		return ret;
	/* -1: not known here (the compat build has no bpf_task_pt_regs). */
	return deny_ptrace_of(BPF_CORE_READ(child, tgid), -1);
}

SEC("lsm/ptrace_traceme")
int BPF_PROG(deny_traceme, struct task_struct *parent, int ret)
{
	if (ret)
		return ret;
	return deny_ptrace_of(BPF_CORE_READ(parent, tgid), 0 /* PTRACE_TRACEME */);
}

#endif
