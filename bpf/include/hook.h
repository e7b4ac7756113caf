/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * hook.h: the configuration and the record of vigil's dynamic hooks
 * (bpf/hook.c, internal/dynhook). A hook is one generic program loaded
 * once per policy hook with its own read-only cfg: Go computes every
 * offset from the kernel's BTF, so no compiler runs on the host, and the
 * verifier prunes every branch the constant cfg does not take.
 */
#ifndef VIGIL_HOOK_H
#define VIGIL_HOOK_H

#define HOOK_COMM_LEN 16
#define HOOK_MAX_ARGS 6    /* arguments a hook may fetch */
#define HOOK_MAX_STEPS 4   /* pointer dereferences per argument */
#define HOOK_STR_LEN 64    /* bytes kept of a string argument */
#define HOOK_MAX_VALUES 4  /* values per process matcher and per argument matcher */
#define HOOK_PREFIX_LEN 32 /* bytes of a string prefix matcher */

/* hook_mech: which program variant runs the hook. */
enum hook_mech {
	HOOK_TP_BTF = 1,   /* BTF-typed raw tracepoint (tp_btf) */
	HOOK_RAW_TP = 2,   /* raw tracepoint, args from the ctx array */
	HOOK_FENTRY = 3,   /* fentry: function entry through a trampoline */
	HOOK_FEXIT = 4,    /* fexit: function return, with the return value */
	HOOK_KPROBE = 5,   /* kprobe at function entry */
	HOOK_KRETPROBE = 6,/* kretprobe: return value only */
};

/* hook_kind: how the last step of an argument fetch reads its value. */
enum hook_kind {
	HOOK_VAL = 1,     /* the value itself (after the derefs), size bytes */
	HOOK_INT = 2,     /* an integer of size bytes at base + off */
	HOOK_STR_PTR = 3, /* a string pointed to by the pointer at base + off */
	HOOK_STR_ARR = 4, /* a char array at base + off */
};

/* hook_action: what a hook does when it matches (bits). */
enum hook_action {
	HOOK_LOG = 1 << 0,
	HOOK_KILL = 1 << 1,
	HOOK_COUNT = 1 << 2,
	HOOK_OVERRIDE = 1 << 3,
};

/* hook_op: an argument matcher. */
enum hook_op {
	HOOK_OP_NONE = 0,
	HOOK_OP_EQ = 1,     /* the value is one of vals */
	HOOK_OP_MASK = 2,   /* value & vals[0] != 0 */
	HOOK_OP_PREFIX = 3, /* the string starts with prefix (plen bytes) */
};

/*
 * hook_arg is one argument's fetch program: base = ctx arg index; then
 * base = *(u64 *)(base + steps[i]) for each of nsteps dereferences; then
 * kind reads the value at base + off.
 */
struct hook_arg {
	__u32 index;
	__u32 nsteps;
	__u32 steps[HOOK_MAX_STEPS];
	__u32 off;
	__u32 kind;   /* enum hook_kind */
	__u32 size;   /* 1, 2, 4 or 8 for integers */
	__u32 sign;   /* sign-extend an integer */
	__u32 op;     /* enum hook_op */
	__u32 nvals;
	__u64 vals[HOOK_MAX_VALUES];
	__u32 plen;
	__u8 prefix[HOOK_PREFIX_LEN];
};

/* hook_cfg is one hook's whole configuration, a read-only global. */
struct hook_cfg {
	__u32 id;      /* index in hook_counts, and the record's hook */
	__u32 mech;    /* enum hook_mech */
	__u32 actions; /* enum hook_action bits */
	__s32 override; /* return value for HOOK_OVERRIDE */
	__u32 self_tgid;
	__u32 npids, ncomms, nuids;
	__u32 pids[HOOK_MAX_VALUES];
	__u32 uids[HOOK_MAX_VALUES];
	__u8 comms[HOOK_MAX_VALUES][HOOK_COMM_LEN];
	__u32 nargs;
	__u32 ret_index; /* fexit: the ctx slot of the return value */
	struct hook_arg args[HOOK_MAX_ARGS];
};

/* Flags in hook_event.flags. */
enum hook_flags {
	HOOK_HAS_RET = 1 << 0,
	HOOK_KILLED = 1 << 1,    /* bpf_send_signal(SIGKILL) succeeded */
	HOOK_OVERRODE = 1 << 2,
};

/* hook_event is the record of a log hook. */
struct hook_event {
	__u64 ktime;
	__u32 hook;  /* cfg.id */
	__u32 mech;
	__u32 pid;   /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 flags; /* enum hook_flags */
	__s64 ret;
	__u8 comm[HOOK_COMM_LEN];
	__u64 vals[HOOK_MAX_ARGS];
	__u8 strs[HOOK_MAX_ARGS][HOOK_STR_LEN];
};

#endif
