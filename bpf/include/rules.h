/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * rules.h: the in-kernel policy matcher. Each kernel rule (kill, or deny
 * through BPF LSM) is one bit of a 64-bit mask; internal/policy.Kernel
 * compiles the rules and internal/sensor writes these maps, shared by
 * every object. A matcher gives the mask of rules it satisfies; a rule
 * matches when every matcher it uses does:
 *
 *   match = rules & AND over matchers (hits | rules not using it)
 *
 * Paths are matched by inode: an exact path by the file's (dev, ino), a
 * path prefix by the (dev, ino) of any directory above the file, so no
 * name, symlink, relative path or bind mount gets past.
 */
#ifndef VIGIL_RULES_H
#define VIGIL_RULES_H

/* Limits the Go side reads from the generated bindings (bpf2go -type). */
enum rule_limits {
	MAX_SETS = 4,       /* prot or open_flags sets of one rule */
	RULE_GEN_BITS = 32, /* rules of one generation: half of a 64-bit mask */
};

struct rule_set {
	__u64 rules, kill, deny;
	__u64 use_path, use_prefix, use_comm, use_parent_comm, use_uid;
	__u64 memfd_true, memfd_false, deleted_true, deleted_false;
	__u64 wx_true, wx_false, use_prot, use_flags;
	/*
	 * Exec rules on files that also stop mapping the file executable
	 * (mmap with PROT_EXEC, mprotect adding it): map, evaluated by the
	 * mapping hooks; map_kill, those the tracepoint hooks carry out by
	 * SIGKILL (kill rules, and deny rules without BPF LSM).
	 */
	__u64 map, map_kill;
};

struct file_id {
	__u32 dev;
	__u32 _pad;
	__u64 ino;
};

/* prot and open_flags sets of one rule. */
struct rule_arg {
	__u32 n;
	__u32 none[MAX_SETS];   /* prot: the set is "none" */
	__u32 bits[MAX_SETS];   /* prot: PROT_* bits; open: O_* bits outside O_ACCMODE */
	__u32 read[MAX_SETS];   /* open: read access required */
	__u32 write[MAX_SETS];  /* open: write access required */
	__u32 acc[MAX_SETS];    /* open: exact access mode + 1, 0 for any */
};

/*
 * Two generations of rules, so that a reload never leaves a gap: the new
 * one is written beside the running one (rule_sets[gen * EV_TYPE_MAX +
 * kind], bits 32 * gen to 32 * gen + 31 of every mask), rule_gen flips to
 * it in one write, and only then is the old one cleared.
 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * EV_TYPE_MAX);
	__type(key, __u32);
	__type(value, struct rule_set);
} rule_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rule_gen SEC(".maps");

/* rule_set_of returns the running generation's rules of kind, or NULL. */
static __always_inline struct rule_set *rule_set_of(__u32 kind)
{
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&rule_gen, &zero);
	__u32 key = (gen && *gen ? EV_TYPE_MAX : 0) + kind;
	return bpf_map_lookup_elem(&rule_sets, &key);
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct file_id);
	__type(value, __u64);
} rule_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct file_id);
	__type(value, __u64);
} rule_dirs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[COMM_LEN]);
	__type(value, __u64);
} rule_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[COMM_LEN]);
	__type(value, __u64);
} rule_pcomms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} rule_uids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct rule_arg);
} rule_args SEC(".maps");

/* rule_errno[i]: the errno deny rule i fails a call with; 0 is EPERM. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} rule_errno SEC(".maps");

/* What a hook knows of the event, for match_rules. */
struct match_in {
	__u64 file; /* the struct file * executed, opened or loaded; 0 for none */
	/* Without a file: the struct dentry * and struct vfsmount * of the
	 * object (file-tampering hooks, which see paths, not open files). */
	__u64 dentry, mnt;
	__u64 kill; /* out: the matching kill rules */
	__u64 deny; /* out: the matching deny rules */
	__u32 uid;
	__u32 memfd, deleted, wx;
	__u32 map;   /* in: a mapping hook; evaluate the rule_set's map rules */
	__u32 prot;  /* mprotect */
	__u32 flags; /* open */
	__u32 comm_set; /* comm holds the acting task's already (io_uring: the submitter's) */
	char comm[COMM_LEN];
	char pcomm[COMM_LEN];
};

static __always_inline __u64 mask_of(void *map, void *key)
{
	__u64 *v = bpf_map_lookup_elem(map, key);
	return v ? *v : 0;
}

/* dir_walk: the state of the walk up from a file, for bpf_loop. */
struct dir_walk {
	struct dentry *d;
	struct mount *m;
	__u64 hits;
};

static long dir_step(__u32 i, void *ctx)
{
	/* Locals, not w->: BPF_CORE_READ of w->d would relocate dir_walk. */
	struct dir_walk *w = ctx;
	struct dentry *d = w->d;
	struct mount *m = w->m;
	if (!d || !m)
		return 1;
	struct vfsmount *vm = (void *)m + bpf_core_field_offset(struct mount, mnt);
	struct dentry *root = BPF_CORE_READ(vm, mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);

	if (d == root || d == parent) {
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);
		if (d != root || m == mp)
			return 1;
		/* The mount's root is the mountpoint's directory too. */
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = mp;
		return 0;
	}
	struct file_id id = {};
	id.dev = BPF_CORE_READ(parent, d_inode, i_sb, s_dev);
	id.ino = BPF_CORE_READ(parent, d_inode, i_ino);
	w->hits |= mask_of(&rule_dirs, &id);
	w->d = parent;
	return 0;
}

/* dir_hits returns the rules whose prefix directory holds the file
 * (in->file), or the dentry in->dentry on mount in->mnt. */
static __always_inline __u64 dir_hits(struct match_in *in)
{
	struct file *f = (struct file *)in->file;
	struct vfsmount *vm = f ? BPF_CORE_READ(f, f_path.mnt) : (struct vfsmount *)in->mnt;
	struct dir_walk w = {
		.d = f ? BPF_CORE_READ(f, f_path.dentry) : (struct dentry *)in->dentry,
		.m = (void *)vm - bpf_core_field_offset(struct mount, mnt),
	};
#ifdef VIGIL_COMPAT
	COMPAT_UNROLL
	for (__u32 i = 0; i < MAX_PATH_DEPTH; i++)
		if (dir_step(i, &w))
			break;
#else
	bpf_loop(MAX_PATH_DEPTH, dir_step, &w, 0);
#endif
	return w.hits;
}

static __always_inline int sets_match(struct rule_arg *rs, __u32 kind, struct match_in *in)
{
	COMPAT_UNROLL
	for (__u32 j = 0; j < MAX_SETS; j++) {
		if (j >= rs->n)
			break;
		if (kind == EV_MPROTECT) {
			if (rs->none[j] ? in->prot == 0 : (in->prot & rs->bits[j]) == rs->bits[j])
				return 1;
			continue;
		}
		__u32 acc = in->flags & 3;
		if (rs->read[j] && acc != 0 && acc != 2)
			continue;
		if (rs->write[j] && acc != 1 && acc != 2)
			continue;
		if (rs->acc[j] && acc != rs->acc[j] - 1)
			continue;
		if ((in->flags & rs->bits[j]) == rs->bits[j])
			return 1;
	}
	return 0;
}

struct args_walk {
	__u64 mask;
	__u64 hits;
	__u32 kind;
	__u32 _pad;
	struct match_in *in;
};

static long args_step(__u32 i, void *ctx)
{
	struct args_walk *w = ctx;
	if (i >= 64)
		return 1;
	if (!(w->mask & (1ULL << i)))
		return 0;
	__u32 key = i;
	struct rule_arg *rs = bpf_map_lookup_elem(&rule_args, &key);
	if (rs && sets_match(rs, w->kind, w->in)) {
		w->hits |= 1ULL << i;
#ifdef VIGIL_COMPAT
		/* Forget hits' known bits, or no two steps' states match
		 * (see read_path's step in common.h). */
		bpf_probe_read_kernel(&w->hits, sizeof(w->hits), &w->hits);
#endif
	}
	return 0;
}

/* args_hits returns the rules of mask whose prot or open_flags sets match. */
static __always_inline __u64 args_hits(__u64 mask, __u32 kind, struct match_in *in)
{
	struct args_walk w = {.mask = mask, .kind = kind, .in = in};
#ifdef VIGIL_COMPAT
	/* A rule set's masks hold one generation's rules: 32 bits of the 64
	 * (see rule_sets above), so half the steps, each checked apart. */
	__u32 base = (mask & 0xffffffffULL) ? 0 : RULE_GEN_BITS;
	COMPAT_UNROLL
	for (__u32 j = 0; j < RULE_GEN_BITS; j++)
		if (args_step(base + j, &w))
			break;
#else
	bpf_loop(64, args_step, &w, 0);
#endif
	return w.hits;
}

/* fill_match fills the acting task's part of a match_in. */
static __always_inline void fill_match(struct match_in *in)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	in->uid = (__u32)bpf_get_current_uid_gid();
	if (!in->comm_set)
		bpf_get_current_comm(in->comm, sizeof(in->comm));
	BPF_CORE_READ_STR_INTO(&in->pcomm, task, real_parent, comm);
}

/*
 * match_rules finds the kernel rules of event kind that match: it returns
 * non-zero when any does and sets in->kill and in->deny to the matching
 * kill and deny rules. A global function, so the verifier checks it once
 * rather than along every path of every hook that calls it; static in the
 * compat build, for kernels that take no pointer arguments to global
 * functions (before 5.12).
 */
VIGIL_GLOBAL int match_rules(__u32 kind, struct match_in *in)
{
	struct rule_set *rs;
	__u64 m;

	if (!in)
		return 0;
	rs = rule_set_of(kind);
	if (!rs)
		return 0;
	m = in->map ? rs->map : rs->rules;
	if (!m)
		return 0; /* the common case: no rules, nothing read */
	fill_match(in);
	/* Keys on the stack: 6.1 takes no other memory as a map key. */
	char key[COMM_LEN];
	__u32 uid = in->uid;
	if (rs->use_comm) {
		__builtin_memcpy(key, in->comm, COMM_LEN);
		m &= mask_of(&rule_comms, key) | ~rs->use_comm;
	}
	if (rs->use_parent_comm) {
		__builtin_memcpy(key, in->pcomm, COMM_LEN);
		m &= mask_of(&rule_pcomms, key) | ~rs->use_parent_comm;
	}
	if (rs->use_uid)
		m &= mask_of(&rule_uids, &uid) | ~rs->use_uid;
	m &= ~(in->memfd ? rs->memfd_false : rs->memfd_true);
	m &= ~(in->deleted ? rs->deleted_false : rs->deleted_true);
	m &= ~(in->wx ? rs->wx_false : rs->wx_true);
	if (m & rs->use_path) {
		__u64 hit = 0;
		struct file *f = (struct file *)in->file;
		struct inode *inode = NULL;
		if (f)
			inode = BPF_CORE_READ(f, f_inode);
		else if (in->dentry) {
			/* A local: BPF_CORE_READ of in->dentry would relocate match_in. */
			struct dentry *d = (struct dentry *)in->dentry;
			inode = BPF_CORE_READ(d, d_inode);
		}
		if (inode) {
			struct file_id id = {};
			id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
			id.ino = BPF_CORE_READ(inode, i_ino);
			hit = mask_of(&rule_paths, &id);
		}
		m &= hit | ~rs->use_path;
	}
	if (m & rs->use_prefix)
		m &= (in->file || (in->dentry && in->mnt) ? dir_hits(in) : 0) | ~rs->use_prefix;
	if (m & (rs->use_prot | rs->use_flags))
		m &= args_hits(m & (rs->use_prot | rs->use_flags), kind, in) | ~(rs->use_prot | rs->use_flags);
	in->kill = m & (in->map ? rs->map_kill : rs->kill);
	in->deny = m & rs->deny;
	return m != 0;
}

/* lowest returns the index of the lowest set bit of a non-zero mask. */
static __always_inline __u32 lowest(__u64 m)
{
	/* Binary search for the lowest set bit: six steps, no loop. */
	__u32 n = 0;
	if (!(m & 0xffffffffULL)) { n += 32; m >>= 32; }
	if (!(m & 0xffffULL)) { n += 16; m >>= 16; }
	if (!(m & 0xffULL)) { n += 8; m >>= 8; }
	if (!(m & 0xfULL)) { n += 4; m >>= 4; }
	if (!(m & 0x3ULL)) { n += 2; m >>= 2; }
	if (!(m & 0x1ULL)) { n += 1; }
	return n;
}

/* deny_errno returns the negative errno deny rule id fails a call with. */
static __always_inline long deny_errno(__u32 id)
{
	__u32 *e = bpf_map_lookup_elem(&rule_errno, &id);
	long v = e ? *e : 0;
	/* Bounded, in 64 bits, so the verifier sees an LSM return in [-4095, 0]. */
	if (v <= 0 || v > 4095)
		v = 1; /* EPERM */
	return -v;
}

/*
 * lsm_ret bounds an LSM hook's return where the verifier can see it: a
 * value spilled to the stack and back can lose the bounds deny_errno gave
 * it, and 6.8+ verifiers refuse an LSM return outside [-4095, 0].
 */
static __always_inline long lsm_ret(long rc)
{
	asm volatile("" : "+r"(rc)); /* keep the check below */
	if (rc < -4095 || rc > 0)
		return -1;
	return rc;
}

/*
 * verdict applies the kill rules of a match to the current task and
 * records the first matching rule in the record header.
 */
static __always_inline void verdict(struct event_hdr *h, struct match_in *in)
{
	__u64 kill = in->kill;
	if (!kill)
		return;
	h->flags |= HDR_VERDICT;
	h->rule = lowest(kill);
	h->action = ACT_KILL;
	if (bpf_send_signal(9 /* SIGKILL */) == 0)
		h->flags |= HDR_ENFORCED;
}

#endif
