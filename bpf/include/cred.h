/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * cred.h: reading a struct cred into a cred_ids record, for the cred
 * sensor (priv.c) and its BPF LSM deny hooks (priv_lsm.h).
 */
#ifndef VIGIL_CRED_H
#define VIGIL_CRED_H

/*
 * CRED_READ reads a member of a cred. The default build gets creds as BTF
 * pointers (bpf_get_current_task_btf(), program arguments), whose members
 * load directly; the compat build, for kernels without
 * bpf_get_current_task_btf() (5.11), reads each through a helper.
 */
#ifdef VIGIL_COMPAT
#define CRED_READ(c, ...) BPF_CORE_READ(c, __VA_ARGS__)
#else
#define CRED_READ(c, ...) ((c)->__VA_ARGS__)
#endif

/* current_cred returns the current task's credentials. */
static __always_inline const struct cred *current_cred(void)
{
#ifdef VIGIL_COMPAT
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, cred);
#else
	return bpf_get_current_task_btf()->cred;
#endif
}

static __always_inline void read_cred(const struct cred *c, struct cred_ids *o)
{
	o->uid = CRED_READ(c, uid.val);
	o->gid = CRED_READ(c, gid.val);
	o->suid = CRED_READ(c, suid.val);
	o->sgid = CRED_READ(c, sgid.val);
	o->euid = CRED_READ(c, euid.val);
	o->egid = CRED_READ(c, egid.val);
	o->fsuid = CRED_READ(c, fsuid.val);
	o->fsgid = CRED_READ(c, fsgid.val);
	o->securebits = CRED_READ(c, securebits);
	o->ngroups = BPF_CORE_READ(c, group_info, ngroups);
	/*
	 * The five capability sets (kernel_cap_t: two __u32 words before
	 * 6.3, one __u64 since; eight bytes either way) follow each other
	 * in struct cred as in cred_ids: one copy.
	 */
	bpf_probe_read_kernel(&o->cap_inheritable, 5 * sizeof(__u64), &c->cap_inheritable);
}

static __always_inline int cred_same(const struct cred_ids *a, const struct cred_ids *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->suid == b->suid && a->sgid == b->sgid &&
	       a->euid == b->euid && a->egid == b->egid && a->fsuid == b->fsuid && a->fsgid == b->fsgid &&
	       a->cap_inheritable == b->cap_inheritable && a->cap_permitted == b->cap_permitted &&
	       a->cap_effective == b->cap_effective && a->cap_bset == b->cap_bset &&
	       a->cap_ambient == b->cap_ambient && a->securebits == b->securebits;
}

#endif
