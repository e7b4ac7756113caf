// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * net.c: the network sensor: connect, accept, accept4 and listen, each
 * with the socket's family, type and protocol, its addresses and the
 * result.
 *
 * At the call's entry the caller's arguments are kept by thread
 * (net_inflight); at its exit the socket behind the descriptor (for
 * accept, the new one) gives its bound and peer addresses, read from the
 * socket after the call (struct sock_common, include/net/sock.h; for
 * AF_UNIX struct unix_sock, include/net/af_unix.h). The remote address
 * of a connect is the one the caller passed (read from its memory at the
 * exit, where the kernel has validated it), so a failed connect still
 * says where it went.
 *
 * Kill rules are matched at the call's entry, before the kernel acts, and
 * carried out with bpf_send_signal(SIGKILL); deny is bpf/lsm.c's.
 *
 * Records are built in place in the ring buffer (bpf_ringbuf_reserve,
 * 5.8): a net_event is small and fixed-size, so no scratch slot is
 * needed, and a preempted program cannot clobber another's record.
 */
#include "common.h"
#include "rules.h"
#include "net.h"

/* Keep the record types in BTF so bpf2go can generate their Go mirrors. */
const struct net_event *unused_net_event __attribute__((unused));
const enum net_syscall *unused_net_syscall __attribute__((unused));
const enum net_xflags *unused_net_xflags __attribute__((unused));


/* filter_ports: report only calls whose service port is in net_ports
 * (connect: the remote port; accept and listen: the local port). */
const volatile __u32 filter_ports = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} net_ports SEC(".maps");

/* A call between its entry and its exit. */
struct net_req {
	__u64 uaddr;   /* connect: the caller's sockaddr */
	__u32 syscall; /* enum net_syscall */
	__s32 fd;
	__s32 addrlen;
	__s32 backlog;
	__u32 hflags; /* HDR_VERDICT, HDR_ENFORCED of a kill at entry */
	__u32 rule;
	/* io_uring requests: the sockets by file (file: connect's socket or
	 * accept's new one; lfile: accept's listener), the address in kernel
	 * memory (kaddr). */
	__u64 file;
	__u64 lfile;
	__u32 kaddr;
	__u32 via_uring;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* tid */
	__type(value, struct net_req);
} net_inflight SEC(".maps");

static __always_inline __u32 kind_of(__u32 syscall)
{
	switch (syscall) {
	case NET_CONNECT:
		return EV_CONNECT;
	case NET_LISTEN:
		return EV_LISTEN;
	}
	return EV_ACCEPT;
}

static __always_inline int port_wanted(__u16 port)
{
	return !filter_ports || bpf_map_lookup_elem(&net_ports, &port) != NULL;
}

/* user_port returns the port of an inet sockaddr, in the caller's
 * memory (user) or the kernel's, or 0. */
static __always_inline __u16 user_port(__u64 uaddr, __s32 len, int user)
{
	struct {
		__u16 family;
		__be16 port;
	} sa = {};
	if (!uaddr || len < 4 || rd(&sa, sizeof(sa), (void *)uaddr, user))
		return 0;
	if (sa.family != AF_INET && sa.family != AF_INET6)
		return 0;
	return bpf_ntohs(sa.port);
}

/* wanted applies the port filter where the entry can: to a connect. */
static __always_inline int wanted(struct net_req *req)
{
	return req->syscall != NET_CONNECT || !filter_ports || port_wanted(user_port(req->uaddr, req->addrlen, !req->kaddr));
}

/* judge matches the kill rules before the kernel acts, and carries out
 * the first that matches. */
static __always_inline void judge(struct net_req *req)
{
	struct match_in in = {};

	if (match_rules(kind_of(req->syscall), &in) && in.kill) {
		req->hflags = HDR_VERDICT;
		req->rule = lowest(in.kill);
		if (bpf_send_signal(9 /* SIGKILL */) == 0)
			req->hflags |= HDR_ENFORCED;
	}
}

static __always_inline void enter(__u32 syscall, __s32 fd, __u64 uaddr, __s32 addrlen, __s32 backlog)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct net_req req = {.uaddr = uaddr, .syscall = syscall, .fd = fd, .addrlen = addrlen, .backlog = backlog};

	if (!wanted(&req))
		return;
	judge(&req);
	bpf_map_update_elem(&net_inflight, &tid, &req, BPF_ANY);
}

/* emit writes the record of a finished call. */
static __always_inline void emit(struct net_req *rq, __s64 ret, __u32 mech)
{
	struct net_req req = *rq;
	struct net_event *ev;
	struct sock *sk, *lsk = NULL;
	__u32 kind = kind_of(req.syscall);

	if (kind == EV_ACCEPT) {
		lsk = req.lfile ? file_sock((struct file *)req.lfile) : fd_sock(req.fd);
		if (req.file)
			sk = file_sock((struct file *)req.file);
		else
			sk = ret >= 0 ? fd_sock((int)ret) : NULL;
		if (filter_ports && !(lsk && port_wanted(BPF_CORE_READ(lsk, __sk_common.skc_num))))
			return;
	} else {
		sk = req.file ? file_sock((struct file *)req.file) : fd_sock(req.fd);
		if (kind == EV_LISTEN && filter_ports && !(sk && port_wanted(BPF_CORE_READ(sk, __sk_common.skc_num))))
			return;
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost(kind);
		return;
	}
	__builtin_memset(&ev->result, 0, sizeof(*ev) - offsetof(struct net_event, result));
	fill_hdr(&ev->hdr, kind, mech);
	if (req.hflags) {
		ev->hdr.flags = req.hflags;
		ev->hdr.rule = req.rule;
		ev->hdr.action = ACT_KILL;
	}
	ev->result = ret;
	ev->fd = req.fd;
	ev->syscall = req.syscall;
	ev->backlog = req.backlog;
	if (req.via_uring)
		ev->xflags |= NET_IO_URING;
	if (kind == EV_CONNECT) {
		if (sockaddr_read(&ev->remote, req.uaddr, req.addrlen, !req.kaddr))
			ev->xflags |= NET_HAS_REMOTE;
		else
			ev->xflags |= NET_REMOTE_UNRESOLVED;
	}
	if (lsk && sock_addr(lsk, &ev->listener, 0))
		ev->xflags |= NET_HAS_LISTENER;
	if (sk) {
		ev->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		ev->type = BPF_CORE_READ(sk, sk_type);
		ev->protocol = BPF_CORE_READ(sk, sk_protocol);
		if (sock_addr(sk, &ev->local, 0))
			ev->xflags |= NET_HAS_LOCAL;
		if (kind == EV_ACCEPT && sock_addr(sk, &ev->remote, 1))
			ev->xflags |= NET_HAS_REMOTE;
		if (kind == EV_CONNECT && !(ev->xflags & NET_HAS_REMOTE) && sock_addr(sk, &ev->remote, 1))
			ev->xflags |= NET_HAS_REMOTE;
	} else if (lsk) {
		/* A failed accept: the listener says what the socket was. */
		ev->family = BPF_CORE_READ(lsk, __sk_common.skc_family);
		ev->type = BPF_CORE_READ(lsk, sk_type);
		ev->protocol = BPF_CORE_READ(lsk, sk_protocol);
	} else if (kind != EV_ACCEPT || ret >= 0) {
		ev->xflags |= NET_SOCK_UNRESOLVED;
	}
	if (kind == EV_ACCEPT && ret >= 0 && !sk)
		ev->xflags |= NET_SOCK_UNRESOLVED;
	submit_reserved(ev);
}

static __always_inline void leave(__s64 ret, __u32 mech)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct net_req *r = bpf_map_lookup_elem(&net_inflight, &tid);
	struct net_req req;

	if (!r)
		return;
	req = *r;
	bpf_map_delete_elem(&net_inflight, &tid);
	emit(&req, ret, mech);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(NET_CONNECT, (__s32)ctx->args[0], ctx->args[1], (__s32)ctx->args[2], 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept")
int accept_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(NET_ACCEPT, (__s32)ctx->args[0], 0, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int accept4_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(NET_ACCEPT4, (__s32)ctx->args[0], 0, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_listen")
int listen_enter(struct trace_event_raw_sys_enter *ctx)
{
	enter(NET_LISTEN, (__s32)ctx->args[0], 0, 0, (__s32)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	leave(ctx->ret, MECH_TRACEPOINT);
	return 0;
}

/* Also attached to sys_exit_accept4. */
SEC("tracepoint/syscalls/sys_exit_accept")
int accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	leave(ctx->ret, MECH_TRACEPOINT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int listen_exit(struct trace_event_raw_sys_exit *ctx)
{
	leave(ctx->ret, MECH_TRACEPOINT);
	return 0;
}

/*
 * The fentry/fexit rung: the system calls' own functions in net/socket.c
 * (__sys_connect, __sys_accept4, __sys_listen, which sys_connect,
 * sys_accept, sys_accept4 and sys_listen call), so no syscall
 * tracepoint puts every system call of every task on the slow path. The
 * fexit program sees the arguments and the result at once; the fentry
 * program only matches kill rules, before the kernel acts, and leaves a
 * verdict for the fexit program by thread.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct net_req);
} net_verdicts SEC(".maps");

static __always_inline void fentry_judge(struct net_req *req)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!wanted(req))
		return;
	judge(req);
	if (req->hflags)
		bpf_map_update_elem(&net_verdicts, &tid, req, BPF_ANY);
}

static __always_inline void fexit_emit(struct net_req *req, __s64 ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct net_req *v = bpf_map_lookup_elem(&net_verdicts, &tid);

	if (v) {
		req->hflags = v->hflags;
		req->rule = v->rule;
		bpf_map_delete_elem(&net_verdicts, &tid);
	} else if (!wanted(req)) {
		return;
	}
	emit(req, ret, MECH_FENTRY);
}

SEC("fentry/__sys_connect")
int BPF_PROG(connect_fentry, int fd, void *uaddr, int addrlen)
{
	struct net_req req = {.uaddr = (__u64)uaddr, .syscall = NET_CONNECT, .fd = fd, .addrlen = addrlen};
	fentry_judge(&req);
	return 0;
}

SEC("fexit/__sys_connect")
int BPF_PROG(connect_fexit, int fd, void *uaddr, int addrlen, int ret)
{
	struct net_req req = {.uaddr = (__u64)uaddr, .syscall = NET_CONNECT, .fd = fd, .addrlen = addrlen};
	fexit_emit(&req, ret);
	return 0;
}

/* accept_call tells sys_accept (43) from sys_accept4, which both call
 * __sys_accept4, by the system call number in the task's registers. */
static __always_inline __u32 accept_call(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return BPF_CORE_READ(regs, orig_ax) == 43 ? NET_ACCEPT : NET_ACCEPT4;
}

SEC("fentry/__sys_accept4")
int BPF_PROG(accept_fentry, int fd, void *uaddr, int *ulen, int flags)
{
	struct net_req req = {.syscall = NET_ACCEPT4, .fd = fd};
	fentry_judge(&req);
	return 0;
}

SEC("fexit/__sys_accept4")
int BPF_PROG(accept_fexit, int fd, void *uaddr, int *ulen, int flags, int ret)
{
	struct net_req req = {.syscall = accept_call(), .fd = fd};
	fexit_emit(&req, ret);
	return 0;
}

SEC("fentry/__sys_listen")
int BPF_PROG(listen_fentry, int fd, int backlog)
{
	struct net_req req = {.syscall = NET_LISTEN, .fd = fd, .backlog = backlog};
	fentry_judge(&req);
	return 0;
}

SEC("fexit/__sys_listen")
int BPF_PROG(listen_fexit, int fd, int backlog, int ret)
{
	struct net_req req = {.syscall = NET_LISTEN, .fd = fd, .backlog = backlog};
	fexit_emit(&req, ret);
	return 0;
}

/*
 * io_uring: IORING_OP_CONNECT calls __sys_connect_file with the address
 * it copied at preparation, and IORING_OP_ACCEPT calls do_accept
 * (io_uring/net.c); the system calls reach the same functions through
 * __sys_connect and __sys_accept4_file, which their own programs report.
 * A call is io_uring's when it runs in an io-wq worker (PF_IO_WORKER) or
 * in a task whose system call is not connect (42), accept (43) or
 * accept4 (288): the submitter inside io_uring_enter. The request's
 * descriptor is not known here (fd -1), nor, for an accept, the new one
 * (result 0 on success). Kill rules are not matched (fexit is after the
 * call).
 */
#define PF_IO_WORKER 0x00000010

static __always_inline int from_syscall(long nr1, long nr2)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long nr = BPF_CORE_READ(regs, orig_ax);

	if (task->flags & PF_IO_WORKER)
		return 0;
	return nr == nr1 || nr == nr2;
}

SEC("fexit/__sys_connect_file")
int BPF_PROG(connect_uring, struct file *file, void *address, int addrlen, int file_flags, int ret)
{
	struct net_req req = {.uaddr = (__u64)address, .syscall = NET_CONNECT, .fd = -1, .addrlen = addrlen,
			      .file = (__u64)file, .kaddr = 1, .via_uring = 1};

	if (from_syscall(42, 42) || !wanted(&req))
		return 0;
	emit(&req, ret, MECH_FENTRY);
	return 0;
}

/* do_accept returns a struct file * or an ERR_PTR: read as a number
 * (bpf_get_func_ret, 5.17), the verifier lets it be compared. */
SEC("fexit/do_accept")
int accept_uring(unsigned long long *ctx)
{
	struct net_req req = {.syscall = NET_ACCEPT4, .fd = -1, .lfile = ctx[0], .via_uring = 1};
	__u64 ret = 0;
	long res;

	bpf_get_func_ret(ctx, &ret);
	res = (long)ret;

	if (from_syscall(43, 288))
		return 0;
	if (res < 0 && res >= -4095) {
		emit(&req, res, MECH_FENTRY);
		return 0;
	}
	req.file = ret;
	emit(&req, 0, MECH_FENTRY);
	return 0;
}
