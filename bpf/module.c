// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * module.c: the kernel module sensor: every init_module and finit_module
 * attempt, whether or not the kernel supports modules.
 *
 * Where the kernel has modules, syscalls:sys_{enter,exit}_{init,finit}_module
 * give the call and its result. A kernel built without modules has no
 * such tracepoints (the calls are sys_ni_syscall and fail with ENOSYS), so
 * the raw_syscalls sys_enter/sys_exit programs, filtered by number, report
 * the attempts there (at sys_enter alone, since their result can only be
 * ENOSYS). Where fentry/fexit load, the calls' own entry points
 * (__x64_sys_{init,finit}_module) replace the syscall tracepoints, off
 * the slow path they put every other system call on.
 * fentry/do_init_module adds the module's name once the kernel has
 * parsed the image.
 */
#include "common.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct module_event *unused_module_event __attribute__((unused));

#define NR_INIT_MODULE 175
#define NR_FINIT_MODULE 313

struct mod_req {
	__u32 syscall;
	__s32 fd;
	__u32 mech;
	__u32 _pad;
	__u8 name[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct mod_req);
} mod_inflight SEC(".maps");

static __always_inline void enter(__u32 syscall, __s32 fd, __u32 mech)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mod_req req = {.syscall = syscall, .fd = fd, .mech = mech};
	bpf_map_update_elem(&mod_inflight, &tid, &req, BPF_ANY);
}

static __always_inline void leave(__s64 ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mod_req *req = bpf_map_lookup_elem(&mod_inflight, &tid);
	struct scratch *slot;
	struct module_event *ev;

	if (!req)
		return;
	slot = scratch_claim();
	if (!slot) {
		bpf_map_delete_elem(&mod_inflight, &tid);
		count_lost(EV_MODULE);
		return;
	}
	ev = &slot->module;
	fill_hdr(&ev->hdr, EV_MODULE, req->mech);
	ev->result = ret;
	ev->fd = req->fd;
	ev->syscall = req->syscall;
	ev->file_flags = 0;
	ev->path_len = 0;
	__builtin_memcpy(ev->name, req->name, sizeof(ev->name));
	bpf_map_delete_elem(&mod_inflight, &tid);
	if (ev->syscall == MOD_FINIT) {
		struct file *f = fd_file(ev->fd);
		if (f) {
			file_info(f, NULL, NULL, &ev->file_flags);
			ev->path_len = read_path(&f->f_path, ev->data, 0, &ev->file_flags);
		}
	}
	submit(ev, offsetof(struct module_event, data) + (ev->path_len & (DATA_LEN - 1)), EV_MODULE);
	scratch_release(slot);
}

SEC("tracepoint/syscalls/sys_enter_init_module")
int init_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(MOD_INIT, -1, MECH_TRACEPOINT);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_finit_module")
int finit_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(MOD_FINIT, (__s32)ctx->args[0], MECH_TRACEPOINT);
	return 0;
}

/* Also attached to sys_exit_finit_module. */
SEC("tracepoint/syscalls/sys_exit_init_module")
int module_exit(struct trace_event_raw_sys_exit *ctx)
{
	leave(ctx->ret);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(module_raw_enter, struct pt_regs *regs, long id)
{
	if (id == NR_INIT_MODULE)
		enter(MOD_INIT, -1, MECH_RAW_SYSCALL);
	else if (id == NR_FINIT_MODULE)
		enter(MOD_FINIT, (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs), MECH_RAW_SYSCALL);
	return 0;
}

/*
 * On a kernel without CONFIG_MODULES both calls are sys_ni_syscall, whose
 * only result is -ENOSYS: report at sys_enter and spare every syscall on
 * the host a sys_exit program.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(module_nomod_enter, struct pt_regs *regs, long id)
{
	__u32 syscall;
	__s32 fd = -1;

	if (id == NR_INIT_MODULE) {
		syscall = MOD_INIT;
	} else if (id == NR_FINIT_MODULE) {
		syscall = MOD_FINIT;
		fd = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
	} else {
		return 0;
	}
	enter(syscall, fd, MECH_RAW_SYSCALL);
	leave(-38 /* -ENOSYS */);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(module_raw_exit, struct pt_regs *regs, long ret)
{
	/* sys_exit gives the result; the number is in orig_ax. */
	long id = BPF_CORE_READ(regs, orig_ax);
	if (id == NR_INIT_MODULE || id == NR_FINIT_MODULE)
		leave(ret);
	return 0;
}

/*
 * Off the system-call path: fentry/fexit on the calls' own entry points
 * (__x64_sys_<name>(const struct pt_regs *regs)). A trampoline slows only
 * these two calls, where the syscalls:* tracepoints set
 * TIF_SYSCALL_TRACEPOINT and send every system call through the slow path.
 */
SEC("fentry/__x64_sys_init_module")
int BPF_PROG(init_module_fentry, const struct pt_regs *regs)
{
	enter(MOD_INIT, -1, MECH_FENTRY);
	return 0;
}

SEC("fentry/__x64_sys_finit_module")
int BPF_PROG(finit_module_fentry, const struct pt_regs *regs)
{
	enter(MOD_FINIT, (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs), MECH_FENTRY);
	return 0;
}

SEC("fexit/__x64_sys_init_module")
int BPF_PROG(init_module_fexit, const struct pt_regs *regs, long ret)
{
	leave(ret);
	return 0;
}

SEC("fexit/__x64_sys_finit_module")
int BPF_PROG(finit_module_fexit, const struct pt_regs *regs, long ret)
{
	leave(ret);
	return 0;
}

SEC("fentry/do_init_module")
int BPF_PROG(module_fentry, struct module *mod)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mod_req *req = bpf_map_lookup_elem(&mod_inflight, &tid);
	if (req) {
		bpf_probe_read_kernel_str(req->name, sizeof(req->name), mod->name);
		req->mech = MECH_FENTRY;
	}
	return 0;
}
