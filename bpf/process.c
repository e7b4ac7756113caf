// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * process.c: the process sensor: fork, exec and exit.
 *
 * Each event has more than one program; vigil loads the best one the
 * kernel accepts (internal/sensor probes by loading):
 *   fork: fexit/kernel_clone (clone flags and result) or
 *         tp_btf/sched_process_fork (include/trace/events/sched.h)
 *   exec: tp_btf/sched_process_exec, called from exec_binprm() once the new
 *         image is in place and before the first user instruction runs
 *   exit: fentry/acct_collect (called by do_exit() with group_dead) or
 *         tp_btf/sched_process_exit (after exit_code is set in do_exit(),
 *         kernel/exit.c)
 */
#include "common.h"
#include "rules.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct event_hdr *unused_event_hdr __attribute__((unused));
const struct fork_event *unused_fork_event __attribute__((unused));
const struct exit_event *unused_exit_event __attribute__((unused));
const struct exec_event *unused_exec_event __attribute__((unused));
const struct rule_set *unused_rule_set __attribute__((unused));
const struct rule_arg *unused_rule_arg __attribute__((unused));
const struct file_id *unused_file_id __attribute__((unused));
/* And the enums of events.h, so their Go constants are generated too. */
const enum event_type *unused_event_type __attribute__((unused));
const enum mechanism *unused_mechanism __attribute__((unused));
const enum hdr_flags *unused_hdr_flags __attribute__((unused));
const enum action *unused_action __attribute__((unused));
const enum fork_flags *unused_fork_flags __attribute__((unused));
const enum exit_flags *unused_exit_flags __attribute__((unused));
const enum file_flags *unused_file_flags __attribute__((unused));
const enum module_syscall *unused_module_syscall __attribute__((unused));
const enum mprotect_flags *unused_mprotect_flags __attribute__((unused));
const enum open_syscall *unused_open_syscall __attribute__((unused));
const enum rule_limits *unused_rule_limits __attribute__((unused));

#define CLONE_THREAD 0x00010000

static __always_inline void emit_fork(struct task_struct *child, __u64 clone_flags, __u32 fflags, __u32 mech)
{
	struct fork_event ev = {};

	fill_hdr(&ev.hdr, EV_FORK, mech);
	ev.child_pid = BPF_CORE_READ(child, tgid);
	ev.child_tid = BPF_CORE_READ(child, pid);
	ev.clone_flags = clone_flags;
	ev.flags = fflags;
	if (ev.child_pid != ev.child_tid || (clone_flags & CLONE_THREAD))
		ev.flags |= FORK_THREAD;
	/* vigil's own runtime threads are noise, not activity. */
	if ((ev.flags & FORK_THREAD) && ev.hdr.pid == self_tgid)
		return;
	submit(&ev, sizeof(ev), EV_FORK);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_tp_btf, struct task_struct *parent, struct task_struct *child)
{
	emit_fork(child, 0, 0, MECH_TP_BTF);
	return 0;
}

SEC("fexit/kernel_clone")
int BPF_PROG(fork_fexit, struct kernel_clone_args *args, pid_t ret)
{
	struct fork_event ev = {};
	__u64 flags;

	if (ret <= 0)
		return 0;
	flags = BPF_CORE_READ(args, flags);
	fill_hdr(&ev.hdr, EV_FORK, MECH_FENTRY);
	ev.clone_flags = flags;
	ev.flags = FORK_HAS_CLONE_FLAGS;
	ev.child_tid = ret;
	if (flags & CLONE_THREAD) {
		if (ev.hdr.pid == self_tgid)
			return 0; /* vigil's own runtime threads */
		ev.flags |= FORK_THREAD;
		ev.child_pid = ev.hdr.pid;
	} else {
		ev.child_pid = ret;
	}
	submit(&ev, sizeof(ev), EV_FORK);
	return 0;
}

static __always_inline void emit_exit(struct task_struct *task, __u32 code, int group_dead, __u32 mech)
{
	struct exit_event ev = {};

	fill_hdr(&ev.hdr, EV_EXIT, mech);
	/* A group exit (exit_group, fatal signal) sets the group's code. */
	if (BPF_CORE_READ(task, signal, flags) & 0x00000004 /* SIGNAL_GROUP_EXIT */)
		code = BPF_CORE_READ(task, signal, group_exit_code);
	ev.code = code;
	if (!group_dead) {
		if (ev.hdr.pid == self_tgid)
			return; /* one of vigil's own threads */
		ev.flags |= EXIT_THREAD;
	}
	submit(&ev, sizeof(ev), EV_EXIT);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_tp_btf, struct task_struct *task)
{
	/* do_exit() decremented signal->live before this tracepoint: the
	 * thread that took it to zero ended the process. */
	int live = BPF_CORE_READ(task, signal, live.counter);
	emit_exit(task, BPF_CORE_READ(task, exit_code), live == 0, MECH_TP_BTF);
	return 0;
}

/*
 * do_exit() calls acct_collect(code, group_dead) right after it decides,
 * with atomic_dec_and_test(&signal->live), whether this thread ends the
 * process. fentry on do_exit itself runs before that decision and cannot
 * tell two threads exiting at once apart.
 */
SEC("fentry/acct_collect")
int BPF_PROG(exit_fentry, long code, int group_dead)
{
	emit_exit((struct task_struct *)bpf_get_current_task(), (__u32)code, group_dead, MECH_FENTRY);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_tp_btf, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch *slot = scratch_claim();
	struct exec_event *ev;
	struct file *file;
	__u32 off;
	long n;

	if (!slot) {
		count_lost(EV_EXEC);
		return 0;
	}
	ev = &slot->exec;
	fill_hdr(&ev->hdr, EV_EXEC, MECH_TP_BTF);
	ev->euid = BPF_CORE_READ(task, cred, euid.val);
	ev->base_addr = BPF_CORE_READ(task, mm, start_code);
	ev->file_flags = 0;

	n = bpf_probe_read_kernel_str(ev->data, FILENAME_LEN, BPF_CORE_READ(bprm, filename));
	off = n > 0 ? n : 0;
	ev->filename_len = off;

	file = BPF_CORE_READ(bprm, file);
	file_info(file, &ev->dev, &ev->ino, &ev->file_flags);
	__u32 pstart = off;
	off = read_path(&file->f_path, ev->data, off, &ev->file_flags);
	ev->path_len = off - pstart;

	/* Kill rules: before the new image runs its first instruction. */
	struct match_in in = {.file = (__u64)file};
	in.deleted = (ev->file_flags & FILE_UNLINKED) != 0;
	if (ev->file_flags & FILE_INTERNAL) {
		char pre[6] = {};
		bpf_probe_read_kernel(pre, sizeof(pre), &ev->data[pstart & DATA_MASK]);
		in.memfd = pre[0] == 'm' && pre[1] == 'e' && pre[2] == 'm' && pre[3] == 'f' && pre[4] == 'd' && pre[5] == ':';
		in.deleted = in.deleted && !in.memfd;
	}
	if (match_rules(EV_EXEC, &in))
		verdict(&ev->hdr, &in);

	/* argv lives in the new mm, between arg_start and arg_end. */
	__u64 as = BPF_CORE_READ(task, mm, arg_start);
	__u64 ae = BPF_CORE_READ(task, mm, arg_end);
	__u64 alen = ae > as ? ae - as : 0;
	if (alen > ARGS_LEN) {
		alen = ARGS_LEN;
		ev->file_flags |= ARGS_TRUNC;
	}
	ev->args_len = 0;
	if (alen > 0 && bpf_probe_read_user(&ev->data[off & DATA_MASK], alen & (ARGS_LEN - 1) ? alen & (ARGS_LEN - 1) : ARGS_LEN, (void *)as) == 0) {
		ev->args_len = alen;
		off += alen;
	}
	__u64 size = offsetof(struct exec_event, data) + (off & (DATA_LEN - 1));
	submit(ev, size, EV_EXEC);
	scratch_release(slot);
	return 0;
}
