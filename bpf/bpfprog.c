// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bpfprog.c: the bpf sensor: BPF programs loaded and attached by other
 * processes (not vigil itself), through bpf(2)'s BPF_PROG_LOAD,
 * BPF_PROG_ATTACH, BPF_RAW_TRACEPOINT_OPEN and BPF_LINK_CREATE.
 *
 * syscalls:sys_enter_bpf keeps only those four commands (every other
 * command, the map lookups that make most bpf(2) traffic, returns at
 * once); sys_exit_bpf reads the attributes from the caller's memory and,
 * once the call has succeeded, the program and link from the descriptors
 * the call used or returned: the program's id, type and name, and the
 * function a tracing or LSM program attaches to. Kill rules are evaluated
 * there.
 */
#include "common.h"
#include "rules.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct bpf_event *unused_bpf_event __attribute__((unused));
const enum bpf_xflags *unused_bpf_xflags __attribute__((unused));

/* enum bpf_cmd, include/uapi/linux/bpf.h */
#define CMD_PROG_LOAD 5
#define CMD_PROG_ATTACH 8
#define CMD_RAW_TRACEPOINT_OPEN 17
#define CMD_LINK_CREATE 28

struct bpf_req {
	__u64 attr; /* user pointer to union bpf_attr */
	__u32 cmd;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct bpf_req);
} bpf_inflight SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_bpf")
int bpf_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u32 cmd = (__u32)ctx->args[0];

	if (cmd != CMD_PROG_LOAD && cmd != CMD_PROG_ATTACH && cmd != CMD_RAW_TRACEPOINT_OPEN && cmd != CMD_LINK_CREATE)
		return 0;
	if ((pid_tgid >> 32) == self_tgid)
		return 0;
	struct bpf_req req = {.attr = ctx->args[1], .cmd = cmd};
	bpf_map_update_elem(&bpf_inflight, &tid, &req, BPF_ANY);
	return 0;
}

/* prog_info fills the program's id, type, name and attach function from
 * the struct bpf_prog behind descriptor fd. */
static __always_inline void prog_info(struct bpf_event *ev, int fd)
{
	struct file *f = fd_file(fd);
	struct bpf_prog *prog;
	const char *fn;

	if (!f)
		return;
	prog = BPF_CORE_READ(f, private_data);
	if (!prog)
		return;
	ev->prog_id = BPF_CORE_READ(prog, aux, id);
	ev->prog_type = BPF_CORE_READ(prog, type);
	BPF_CORE_READ_INTO(&ev->prog_name, prog, aux, name);
	ev->xflags |= BPFX_PROG;
	if (ev->xflags & BPFX_ATTACH_NAME)
		return;
	fn = BPF_CORE_READ(prog, aux, attach_func_name);
	if (fn && bpf_probe_read_kernel_str(ev->attach_name, sizeof(ev->attach_name), fn) > 0)
		ev->xflags |= BPFX_ATTACH_NAME;
}

/* link_id returns the id of the struct bpf_link behind descriptor fd. */
static __always_inline __u32 link_id(int fd)
{
	struct file *f = fd_file(fd);
	struct bpf_link *l;
	if (!f)
		return 0;
	l = BPF_CORE_READ(f, private_data);
	return l ? BPF_CORE_READ(l, id) : 0;
}

SEC("tracepoint/syscalls/sys_exit_bpf")
int bpf_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bpf_req *req = bpf_map_lookup_elem(&bpf_inflight, &tid);
	union bpf_attr *attr;
	struct match_in in = {};
	struct scratch *slot;
	struct bpf_event *ev;
	__u32 prog_fd = 0, v = 0;
	__u64 name = 0;
	long ret = ctx->ret;

	if (!req)
		return 0;
	attr = (union bpf_attr *)req->attr;
	v = req->cmd;
	bpf_map_delete_elem(&bpf_inflight, &tid);
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_BPF);
		return 0;
	}
	ev = &slot->bpf;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->cmd = v;
	v = 0;
	fill_hdr(&ev->hdr, EV_BPF, MECH_TRACEPOINT);
	ev->result = ret;
	ev->target_fd = -1;

	/* The attributes, as the caller passed them (uapi: a stable layout). */
	switch (ev->cmd) {
	case CMD_PROG_LOAD:
		bpf_probe_read_user(&ev->prog_type, 4, &attr->prog_type);
		bpf_probe_read_user(&ev->attach_type, 4, &attr->expected_attach_type);
		bpf_probe_read_user(&ev->attach_btf_id, 4, &attr->attach_btf_id);
		bpf_probe_read_user(ev->prog_name, sizeof(ev->prog_name), attr->prog_name);
		ev->prog_name[sizeof(ev->prog_name) - 1] = 0;
		break;
	case CMD_PROG_ATTACH:
		bpf_probe_read_user(&v, 4, &attr->target_fd);
		ev->target_fd = v;
		bpf_probe_read_user(&prog_fd, 4, &attr->attach_bpf_fd);
		bpf_probe_read_user(&ev->attach_type, 4, &attr->attach_type);
		break;
	case CMD_RAW_TRACEPOINT_OPEN:
		bpf_probe_read_user(&name, 8, &attr->raw_tracepoint.name);
		bpf_probe_read_user(&prog_fd, 4, &attr->raw_tracepoint.prog_fd);
		if (name && bpf_probe_read_user_str(ev->attach_name, sizeof(ev->attach_name), (void *)name) > 0)
			ev->xflags |= BPFX_ATTACH_NAME;
		break;
	case CMD_LINK_CREATE:
		bpf_probe_read_user(&prog_fd, 4, &attr->link_create.prog_fd);
		bpf_probe_read_user(&v, 4, &attr->link_create.target_fd);
		ev->target_fd = v;
		bpf_probe_read_user(&ev->attach_type, 4, &attr->link_create.attach_type);
		break;
	}
	/* What the kernel made of it, once it succeeded. */
	if (ret >= 0) {
		if (ev->cmd == CMD_PROG_LOAD) {
			prog_info(ev, (int)ret);
		} else {
			prog_info(ev, (int)prog_fd);
			if (ev->cmd != CMD_PROG_ATTACH) {
				ev->link_id = link_id((int)ret);
				if (ev->link_id)
					ev->xflags |= BPFX_LINK;
			}
		}
	}
	if (match_rules(EV_BPF, &in))
		verdict(&ev->hdr, &in);
	submit(ev, sizeof(*ev), EV_BPF);
	scratch_release(slot);
	return 0;
}
