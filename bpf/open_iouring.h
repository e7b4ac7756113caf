// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Included at the end of open.c: opens through io_uring, which share the
 * open sensor's maps, filters and record with the system calls. */
#pragma once

/*
 * io_uring: IORING_OP_OPENAT and IORING_OP_OPENAT2 open files without a
 * system call of their own. A request is seen twice:
 *
 *   at submission, tp_btf/io_uring_submit_req(req) (6.3+) or
 *   tp_btf/io_uring_submit_sqe(req, force_nonblock) (6.0 to 6.2), both
 *   called by io_submit_sqe() right after io_init_req() prepared the
 *   request: struct io_open in req->cmd then holds the name (a kernel
 *   copy, struct filename), dfd, the open_how and the fixed-file slot.
 *   The filters run here, in the submitter's context, and what passes is
 *   kept by request pointer;
 *
 *   at completion, tp_btf/io_uring_complete(ctx, req, ...) (req is the
 *   second argument on every kernel that has req->cmd), in the submitter,
 *   an io-wq worker or the SQPOLL thread, all threads of the submitting
 *   process that share its descriptor table: req->cqe.res is the result,
 *   the descriptor's (or the registered slot's) file gives the path and
 *   the kill rules run.
 *
 * A request that fails before it is prepared skips submission and is
 * seen at io_uring_req_failed instead. Kernels older than 6.0 have no
 * req->cmd: the CO-RE relocations fail, the rung does not load, and vigil
 * says so. Checked against the BTF of 6.1 (submit_sqe), 6.12 and 6.18
 * (submit_req).
 */
#define PF_IO_WORKER 0x00000010 /* io-wq workers and the SQPOLL thread */
#define O_LARGEFILE_ 00100000
#define REQ_F_CQE_SKIP (1ULL << 6) /* REQ_F_CQE_SKIP_BIT mirrors IOSQE_CQE_SKIP_SUCCESS_BIT */

/* An io_uring open between submission and completion. */
struct iou_req {
	struct event_hdr hdr; /* the submitter, at submission */
	__s32 dirfd;
	__u32 flags;
	__u32 mode;
	__u32 syscall;
	__u32 wanted;
	__u32 xflags;
	__u32 filename_len;
	__u32 file_slot; /* sqe->file_index: 0 for a descriptor */
	__u8 filename[FILENAME_LEN];
};

/*
 * Keyed by struct io_kiocb *. LRU: a request whose completion is never
 * traced (its CQE overflowed) must not hold its slot for ever.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct iou_req);
} iou_inflight SEC(".maps");

/* iou_comm sets comm to the acting task's: an io_uring kernel thread
 * (the SQPOLL thread submits) acts for its process, the group leader. */
static __always_inline void iou_comm(char *comm)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (task->flags & PF_IO_WORKER)
		bpf_probe_read_kernel_str(comm, COMM_LEN, task->group_leader->comm);
	else
		bpf_get_current_comm(comm, COMM_LEN);
}

/*
 * iou_filter sets r->wanted from the filters (r's header and name are
 * filled) and returns whether to keep the request: wanted, or checked
 * against the kill rules at completion.
 */
static __always_inline int iou_filter(struct iou_req *r)
{
	char comm[COMM_LEN]; /* a map key, so on the stack */

	__builtin_memcpy(comm, r->hdr.comm, COMM_LEN);
	r->wanted = wanted_proc(comm) && (!n_prefixes || prefix_match((char *)r->filename));
	if (r->wanted)
		return 1;
	struct rule_set *rs = rule_set_of(EV_OPEN);
	return rs && rs->rules;
}

/* iou_report_now reports a request at submission, in a second slot. */
static __always_inline void iou_report_now(struct iou_req *r)
{
	struct scratch *slot = scratch_claim();
	struct open_event *ev;

	if (!slot) {
		count_lost(EV_OPEN);
		return;
	}
	ev = &slot->open;
	ev->hdr = r->hdr;
	ev->result = 0;
	ev->dirfd = r->dirfd;
	ev->flags = r->flags;
	ev->mode = r->mode;
	ev->syscall = r->syscall;
	ev->xflags = r->xflags | OPEN_NO_RESULT;
	ev->file_flags = 0;
	__u32 len = r->filename_len;
	if (len > FILENAME_LEN)
		len = FILENAME_LEN;
	ev->filename_len = len;
	ev->path_len = 0;
	bpf_probe_read_kernel(ev->data, FILENAME_LEN, r->filename);
	submit(ev, offsetof(struct open_event, data) + len, EV_OPEN);
	scratch_release(slot);
}

static __always_inline void iou_submit(struct io_kiocb *req)
{
	__u8 op = BPF_CORE_READ(req, opcode);
	struct scratch *slot;
	struct iou_req *r;
	long n;

	if (op != IORING_OP_OPENAT && op != IORING_OP_OPENAT2)
		return;
	struct io_open *open = (void *)req + bpf_core_field_offset(struct io_kiocb, cmd);
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_OPEN);
		return;
	}
	/* Built in the scratch slot: it does not fit on the stack. */
	r = (struct iou_req *)&slot->open;
	fill_hdr(&r->hdr, EV_OPEN, MECH_TP_BTF);
	iou_comm((char *)r->hdr.comm);
	n = bpf_probe_read_kernel_str(r->filename, FILENAME_LEN, BPF_CORE_READ(open, filename, name));
	r->filename_len = n > 0 ? n : 0;
	if (n <= 0)
		r->filename[0] = 0;
	if (!iou_filter(r))
		goto out;
	r->dirfd = BPF_CORE_READ(open, dfd);
	r->flags = (__u32)BPF_CORE_READ(open, how.flags);
	r->mode = (__u32)BPF_CORE_READ(open, how.mode);
	r->syscall = op == IORING_OP_OPENAT ? OPEN_OPENAT : OPEN_OPENAT2;
	/* __io_openat_prep() adds O_LARGEFILE to every request, as openat(2)
	 * does out of sight of its tracepoint: report the flags as the
	 * system call's event would (the caller's cannot be told apart). */
	r->flags &= ~O_LARGEFILE_;
	r->xflags = OPEN_IO_URING;
	r->file_slot = BPF_CORE_READ(open, file_slot);
	if (r->file_slot)
		r->xflags |= OPEN_FIXED_FILE;
	/* req->flags is 32 bits before 6.5, 64 after: read its real size. */
	__u64 req_flags = 0;
	bpf_core_read(&req_flags, bpf_core_field_size(req->flags), &req->flags);
	if (req_flags & REQ_F_CQE_SKIP) {
		/* No completion on success: report now, without a result. */
		if (r->wanted)
			iou_report_now(r);
		goto out;
	}
	__u64 key = (__u64)req;
	bpf_map_update_elem(&iou_inflight, &key, r, BPF_ANY);
out:
	scratch_release(slot);
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(iou_submit_req, struct io_kiocb *req)
{
	iou_submit(req);
	return 0;
}

SEC("tp_btf/io_uring_submit_sqe")
int BPF_PROG(iou_submit_sqe, struct io_kiocb *req)
{
	iou_submit(req);
	return 0;
}

/*
 * A request that fails before it is prepared (a bad name pointer: EFAULT;
 * a bad open_how) never reaches io_uring_submit_*, but
 * io_submit_fail_init() traces it with its SQE and completes it with the
 * error: read what the SQE says, in the submitter, and let iou_complete
 * report it. The tracepoint is (sqe, req, error) on the kernels that
 * have req->cmd (6.0+; 5.x put ctx before req), so the check below keeps
 * this program from misreading elsewhere.
 */
SEC("tp_btf/io_uring_req_failed")
int BPF_PROG(iou_req_failed, const struct io_uring_sqe *sqe, struct io_kiocb *req)
{
	struct scratch *slot;
	struct iou_req *r;
	long n;

	if (!bpf_core_field_exists(((struct io_kiocb *)0)->cmd))
		return 0;
	__u8 op = BPF_CORE_READ(sqe, opcode);
	if (op != IORING_OP_OPENAT && op != IORING_OP_OPENAT2)
		return 0;
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_OPEN);
		return 0;
	}
	r = (struct iou_req *)&slot->open;
	fill_hdr(&r->hdr, EV_OPEN, MECH_TP_BTF);
	iou_comm((char *)r->hdr.comm);
	n = bpf_probe_read_user_str(r->filename, FILENAME_LEN, (void *)BPF_CORE_READ(sqe, addr));
	r->filename_len = n > 0 ? n : 0;
	if (n <= 0)
		r->filename[0] = 0;
	if (!iou_filter(r))
		goto out;
	r->dirfd = BPF_CORE_READ(sqe, fd);
	if (op == IORING_OP_OPENAT) {
		r->flags = BPF_CORE_READ(sqe, open_flags);
		r->mode = BPF_CORE_READ(sqe, len);
		r->syscall = OPEN_OPENAT;
	} else {
		struct open_how how = {};
		bpf_probe_read_user(&how, sizeof(how), (void *)BPF_CORE_READ(sqe, addr2));
		r->flags = (__u32)how.flags;
		r->mode = (__u32)how.mode;
		r->syscall = OPEN_OPENAT2;
	}
	r->xflags = OPEN_IO_URING;
	r->file_slot = 0; /* failed: no file to look up */
	__u64 key = (__u64)req;
	bpf_map_update_elem(&iou_inflight, &key, r, BPF_ANY);
out:
	scratch_release(slot);
	return 0;
}

/*
 * The file table before 6.13 (6.1, 6.12): an array of io_fixed_file in
 * file_table.files, its size ctx->nr_user_files. Local flavours for CO-RE;
 * vmlinux.h has the newer one (file_table.data.nodes[i]->file_ptr).
 */
struct io_fixed_file___files {
	unsigned long file_ptr;
};
struct io_file_table___files {
	struct io_fixed_file___files *files;
};
struct io_ring_ctx___files {
	struct io_file_table___files file_table;
	unsigned int nr_user_files;
};

#define FFS_MASK (~3UL)           /* file_ptr's low bits are FFS_NOWAIT, FFS_ISREG */
#define IORING_FILE_INDEX_ALLOC (~0U) /* sqe->file_index: pick a free slot */

/*
 * fixed_file returns the file an open put in a registered file slot: slot
 * file_slot - 1, or the slot the kernel picked (the result) for
 * IORING_FILE_INDEX_ALLOC. NULL when it cannot tell.
 */
static __always_inline struct file *fixed_file(struct io_kiocb *req, __u32 file_slot, long ret)
{
	struct io_ring_ctx *ctx = BPF_CORE_READ(req, ctx);
	__u32 i = file_slot == IORING_FILE_INDEX_ALLOC ? (__u32)ret : file_slot - 1;
	unsigned long ptr = 0;

	if (bpf_core_field_exists(struct io_file_table___files, files)) {
		struct io_ring_ctx___files *c = (void *)ctx;
		if (i >= BPF_CORE_READ(c, nr_user_files))
			return NULL;
		struct io_fixed_file___files *files = BPF_CORE_READ(c, file_table.files);
		bpf_probe_read_kernel(&ptr, sizeof(ptr), &files[i].file_ptr);
	} else {
		if (i >= BPF_CORE_READ(ctx, file_table.data.nr))
			return NULL;
		struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
		struct io_rsrc_node *node = NULL;
		bpf_probe_read_kernel(&node, sizeof(node), &nodes[i]);
		if (!node)
			return NULL;
		ptr = BPF_CORE_READ(node, file_ptr);
	}
	return (struct file *)(ptr & FFS_MASK);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(iou_complete, void *ring, struct io_kiocb *req)
{
	__u64 key = (__u64)req;
	struct iou_req *r = bpf_map_lookup_elem(&iou_inflight, &key);
	struct scratch *slot;
	struct open_event *ev;
	__u32 off;

	if (!r)
		return 0;
	long ret = BPF_CORE_READ(req, cqe.res);
	if (!r->wanted && ret < 0) {
		bpf_map_delete_elem(&iou_inflight, &key);
		return 0;
	}
	slot = scratch_claim();
	if (!slot) {
		bpf_map_delete_elem(&iou_inflight, &key);
		count_lost(EV_OPEN);
		return 0;
	}
	ev = &slot->open;
	ev->hdr = r->hdr;
	ev->hdr.ktime = bpf_ktime_get_ns();
	ev->result = ret;
	ev->dirfd = r->dirfd;
	ev->flags = r->flags;
	ev->mode = r->mode;
	ev->syscall = r->syscall;
	ev->xflags = r->xflags;
	ev->file_flags = 0;
	off = r->filename_len;
	if (off > FILENAME_LEN)
		off = FILENAME_LEN;
	ev->filename_len = off;
	bpf_probe_read_kernel(ev->data, FILENAME_LEN, r->filename);
	__u32 want = r->wanted;
	__u32 tgid = r->hdr.pid;
	__u32 file_slot = r->file_slot;
	bpf_map_delete_elem(&iou_inflight, &key);
	ev->path_len = 0;
	if (ret >= 0) {
		/* A descriptor is in the table of the submitting process; a
		 * completion run anywhere else (a kworker's fallback) can look
		 * up neither it nor a fixed file, nor kill. */
		struct file *f = NULL;
		if ((bpf_get_current_pid_tgid() >> 32) == tgid)
			f = file_slot ? fixed_file(req, file_slot, ret) : fd_file(ret);
		if (!f) {
			ev->xflags |= OPEN_UNRESOLVED;
		} else {
			struct match_in in = {.file = (__u64)f, .flags = ev->flags, .comm_set = 1};
			__builtin_memcpy(in.comm, ev->hdr.comm, COMM_LEN);
			if (match_rules(EV_OPEN, &in))
				verdict(&ev->hdr, &in);
			if (!want && !(ev->hdr.flags & HDR_VERDICT)) {
				scratch_release(slot);
				return 0;
			}
			__u32 start = off;
			off = read_path(&f->f_path, ev->data, off, &ev->file_flags);
			ev->path_len = off - start;
		}
	}
	if (!want && !(ev->hdr.flags & HDR_VERDICT)) {
		scratch_release(slot);
		return 0;
	}
	submit(ev, offsetof(struct open_event, data) + (off & (DATA_LEN - 1)), EV_OPEN);
	scratch_release(slot);
	return 0;
}
