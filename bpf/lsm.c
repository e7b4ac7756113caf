// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lsm.c: deny rules through BPF LSM (Linux 5.7+, "bpf" in the active
 * LSMs). Each hook evaluates the deny rules of its event type with the
 * in-kernel matcher (rules.h), fails the operation with the rule's errno,
 * and reports the denial as a record of that event type with the verdict.
 *
 *   exec      lsm/bprm_check_security: once per binary handler pass, so
 *             a script and its interpreter are both checked
 *   open      lsm/file_open (opens for exec are left to the exec rules)
 *   exec      lsm/mmap_file and lsm/file_mprotect too, for exec rules on
 *             files (rule_set.map): mapping the file executable is how
 *             ld.so, LD_PRELOAD and dlopen run code without an exec
 *   mprotect  lsm/file_mprotect: W^X judged from the mapping's flags;
 *             lsm/mmap_file for mmaps that ask for PROT_EXEC
 *   module    lsm/kernel_read_file (finit_module) and
 *             lsm/kernel_load_data (init_module)
 *   connect   lsm/socket_connect; accept lsm/socket_accept; listen
 *             lsm/socket_listen (net_deny below)
 *   mount     lsm/sb_mount, lsm/sb_umount, lsm/move_mount, lsm/sb_pivotroot
 *   bpf       lsm/bpf (program loads and attachments)
 */
#include "common.h"
#include "rules.h"
#include "net.h"

#define FMODE_EXEC 0x20
#define PROT_WRITE 2
#define PROT_EXEC 4

static __always_inline __u64 denied(__u32 kind, struct match_in *in, __u32 *rule)
{
	if (!match_rules(kind, in) || !in->deny)
		return 0;
	*rule = lowest(in->deny);
	return in->deny;
}

static __always_inline void deny_hdr(struct event_hdr *h, __u32 kind, __u32 rule)
{
	fill_hdr(h, kind, MECH_LSM);
	h->flags = HDR_VERDICT | HDR_ENFORCED;
	h->rule = rule;
	h->action = ACT_DENY;
}

#include "priv_lsm.h" /* cred and ptrace */

SEC("lsm/bprm_check_security")
int BPF_PROG(deny_exec, struct linux_binprm *bprm, int ret)
{
	struct file *file = bprm->file;
	struct match_in in = {.file = (__u64)file};
	struct scratch *slot;
	struct exec_event *ev;
	__u32 rule = 0, off, pstart;
	long n, rc;

	if (ret)
		return ret;
	in.deleted = BPF_CORE_READ(file, f_inode, i_nlink) == 0;
	if (!denied(EV_EXEC, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_EXEC);
		return lsm_ret(rc);
	}
	ev = &slot->exec;
	deny_hdr(&ev->hdr, EV_EXEC, rule);
	ev->euid = 0;
	ev->base_addr = 0;
	ev->file_flags = 0;
	ev->args_len = 0;
	n = bpf_probe_read_kernel_str(ev->data, FILENAME_LEN, bprm->filename);
	off = n > 0 ? n : 0;
	ev->filename_len = off;
	file_info(file, &ev->dev, &ev->ino, &ev->file_flags);
	pstart = off;
	off = read_path(&file->f_path, ev->data, off, &ev->file_flags);
	ev->path_len = off - pstart;
	submit(ev, offsetof(struct exec_event, data) + (off & (DATA_LEN - 1)), EV_EXEC);
	scratch_release(slot);
	return lsm_ret(rc);
}

SEC("lsm/file_open")
int BPF_PROG(deny_open, struct file *file, int ret)
{
	struct match_in in = {};
	struct scratch *slot;
	struct open_event *ev;
	__u32 rule = 0, off;
	long rc;

	if (ret)
		return ret;
	if (BPF_CORE_READ(file, f_mode) & FMODE_EXEC)
		return 0;
	in.file = (__u64)file;
	in.flags = BPF_CORE_READ(file, f_flags);
	if (!denied(EV_OPEN, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_OPEN);
		return lsm_ret(rc);
	}
	ev = &slot->open;
	deny_hdr(&ev->hdr, EV_OPEN, rule);
	ev->result = rc;
	ev->dirfd = -100;
	ev->flags = in.flags;
	ev->mode = 0;
	ev->syscall = 0;
	ev->file_flags = 0;
	ev->filename_len = 0;
	off = read_path(&file->f_path, ev->data, 0, &ev->file_flags);
	ev->path_len = off;
	submit(ev, offsetof(struct open_event, data) + (off & (DATA_LEN - 1)), EV_OPEN);
	scratch_release(slot);
	return lsm_ret(rc);
}

SEC("lsm/file_mprotect")
int BPF_PROG(deny_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret)
{
	struct match_in in = {};
	struct mprotect_event ev = {};
	__u32 rule = 0;
	long rc;

	if (ret)
		return ret;
	__u32 old = BPF_CORE_READ(vma, vm_flags) & 7;
	__u32 w = reqprot & 2, x = reqprot & 4;
	in.prot = reqprot;
	in.wx = (w && x) || (w && (old & 4)) || (x && (old & 2));
	if (!denied(EV_MPROTECT, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	deny_hdr(&ev.hdr, EV_MPROTECT, rule);
	ev.addr = BPF_CORE_READ(vma, vm_start);
	ev.len = BPF_CORE_READ(vma, vm_end) - ev.addr;
	ev.prot = reqprot;
	ev.old_prot = old;
	ev.flags = MPROT_HAS_OLD;
	ev.result = rc;
	submit(&ev, sizeof(ev), EV_MPROTECT);
	return lsm_ret(rc);
}

/* deny_map reports a denied mapping as an mprotect record. */
static __always_inline void deny_map(__u32 rule, long rc, struct file *file, __u64 addr, __u64 len,
				     __u32 prot, __u32 flags, __u32 map_flags)
{
	struct mprotect_event ev = {};

	deny_hdr(&ev.hdr, EV_MPROTECT, rule);
	ev.addr = addr;
	ev.len = len;
	ev.prot = prot;
	ev.flags = flags;
	ev.map_flags = map_flags;
	ev.fd = -1;
	ev.result = rc;
	if (file) {
		__u32 ff = 0;
		file_info(file, &ev.dev, &ev.ino, &ff);
		ev.flags |= MPROT_FILE;
	}
	submit(&ev, sizeof(ev), EV_MPROTECT);
}

/* An exec rule's file mapped executable: mmap(PROT_EXEC) of the file. */
SEC("lsm/mmap_file")
int BPF_PROG(deny_mmap_exec, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags, int ret)
{
	struct match_in in = {.map = 1};
	__u32 rule = 0;
	long rc;

	if (ret)
		return ret;
	if (!file || !(prot & PROT_EXEC))
		return 0;
	in.file = (__u64)file;
	in.deleted = BPF_CORE_READ(file, f_inode, i_nlink) == 0;
	if (!denied(EV_EXEC, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	deny_map(rule, rc, file, 0, 0, reqprot, MPROT_MMAP, flags);
	return lsm_ret(rc);
}

/* An mmap asking for PROT_EXEC, under the mprotect rules (wx, prot). */
SEC("lsm/mmap_file")
int BPF_PROG(deny_mmap_prot, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags, int ret)
{
	struct match_in in = {};
	__u32 rule = 0;
	long rc;

	if (ret)
		return ret;
	/* prot, not reqprot: READ_IMPLIES_EXEC adds PROT_EXEC to PROT_READ. */
	if (!(prot & PROT_EXEC))
		return 0;
	in.prot = prot;
	in.wx = (prot & PROT_WRITE) != 0;
	if (!denied(EV_MPROTECT, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	deny_map(rule, rc, file, 0, 0, prot, MPROT_MMAP, flags);
	return lsm_ret(rc);
}

/* An exec rule's file mapped executable: mprotect adding PROT_EXEC. */
SEC("lsm/file_mprotect")
int BPF_PROG(deny_mprotect_exec, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret)
{
	struct match_in in = {.map = 1};
	struct file *file;
	__u32 rule = 0;
	long rc;

	if (ret)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	file = BPF_CORE_READ(vma, vm_file);
	if (!file)
		return 0;
	in.file = (__u64)file;
	in.deleted = BPF_CORE_READ(file, f_inode, i_nlink) == 0;
	if (!denied(EV_EXEC, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	__u64 start = BPF_CORE_READ(vma, vm_start);
	deny_map(rule, rc, file, start, BPF_CORE_READ(vma, vm_end) - start, reqprot, 0, 0);
	return lsm_ret(rc);
}

static __always_inline long deny_module(struct file *file)
{
	struct match_in in = {.file = (__u64)file};
	struct scratch *slot;
	struct module_event *ev;
	__u32 rule = 0;
	long ret;

	if (!denied(EV_MODULE, &in, &rule))
		return 0;
	ret = deny_errno(rule);
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_MODULE);
		return ret;
	}
	ev = &slot->module;
	deny_hdr(&ev->hdr, EV_MODULE, rule);
	ev->result = ret;
	ev->fd = -1;
	ev->syscall = file ? MOD_FINIT : MOD_INIT;
	ev->file_flags = 0;
	ev->path_len = 0;
	ev->name[0] = 0;
	if (file)
		ev->path_len = read_path(&file->f_path, ev->data, 0, &ev->file_flags);
	submit(ev, offsetof(struct module_event, data) + (ev->path_len & (DATA_LEN - 1)), EV_MODULE);
	scratch_release(slot);
	return ret;
}

SEC("lsm/kernel_read_file")
int BPF_PROG(deny_module_file, struct file *file, enum kernel_read_file_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id != bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE))
		return 0;
	return lsm_ret(deny_module(file));
}

SEC("lsm/kernel_load_data")
int BPF_PROG(deny_module_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE))
		return 0;
	return lsm_ret(deny_module(NULL));
}

/*
 * net_deny reports a denied connect, accept or listen as a net_event:
 * the socket, its bound address and, for connect, the address asked for
 * (the kernel's copy, address of addrlen bytes).
 */
static __always_inline void net_deny(__u32 kind, __u32 syscall, __u32 rule, long rc, struct socket *sock,
				     struct sockaddr *address, int addrlen, int backlog)
{
	struct net_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	struct sock *sk = BPF_CORE_READ(sock, sk);

	if (!ev) {
		count_lost(kind);
		return;
	}
	__builtin_memset(&ev->result, 0, sizeof(*ev) - offsetof(struct net_event, result));
	deny_hdr(&ev->hdr, kind, rule);
	ev->result = rc;
	ev->fd = -1; /* the hook sees the socket, not the descriptor */
	ev->syscall = syscall;
	ev->backlog = backlog;
	if (address) {
		if (sockaddr_read(&ev->remote, (__u64)address, addrlen, 0))
			ev->xflags |= NET_HAS_REMOTE;
		else
			ev->xflags |= NET_REMOTE_UNRESOLVED;
	}
	if (sk) {
		ev->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		ev->type = BPF_CORE_READ(sk, sk_type);
		ev->protocol = BPF_CORE_READ(sk, sk_protocol);
		if (sock_addr(sk, kind == EV_ACCEPT ? &ev->listener : &ev->local, 0))
			ev->xflags |= kind == EV_ACCEPT ? NET_HAS_LISTENER : NET_HAS_LOCAL;
	} else {
		ev->xflags |= NET_SOCK_UNRESOLVED;
	}
	submit_reserved(ev);
}

SEC("lsm/socket_connect")
int BPF_PROG(deny_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	struct match_in in = {};
	__u32 rule = 0;
	long rc;

	if (ret)
		return ret;
	if (!denied(EV_CONNECT, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	net_deny(EV_CONNECT, NET_CONNECT, rule, rc, sock, address, addrlen, 0);
	return lsm_ret(rc);
}

SEC("lsm/socket_accept")
int BPF_PROG(deny_accept, struct socket *sock, struct socket *newsock, int ret)
{
	struct match_in in = {};
	__u32 rule = 0;
	long rc;

	if (ret)
		return ret;
	if (!denied(EV_ACCEPT, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	net_deny(EV_ACCEPT, NET_ACCEPT, rule, rc, sock, NULL, 0, 0);
	return lsm_ret(rc);
}

SEC("lsm/socket_listen")
int BPF_PROG(deny_listen, struct socket *sock, int backlog, int ret)
{
	struct match_in in = {};
	__u32 rule = 0;
	long rc;

	if (ret)
		return ret;
	if (!denied(EV_LISTEN, &in, &rule))
		return 0;
	rc = deny_errno(rule);
	net_deny(EV_LISTEN, NET_LISTEN, rule, rc, sock, NULL, 0, backlog);
	return lsm_ret(rc);
}

/*
 * mount: lsm/sb_mount (mount(2): new, bind, move, remount, propagation),
 * lsm/sb_umount, lsm/move_mount (move_mount(2)) and lsm/sb_pivotroot.
 * The record names the call and the mount point as the kernel resolved
 * it (in the target's directory part, with no target string).
 */
static __always_inline long deny_mount(__u32 syscall, const struct path *tgt, const char *src, const char *fstype, __u64 flags)
{
	struct match_in in = {};
	struct scratch *slot;
	struct mount_event *ev;
	__u32 rule = 0, off = 0;
	long ret, n;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	if (!denied(EV_MOUNT, &in, &rule))
		return 0;
	ret = deny_errno(rule);
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_MOUNT);
		return ret;
	}
	ev = &slot->mount;
	deny_hdr(&ev->hdr, EV_MOUNT, rule);
	ev->result = ret;
	ev->flags = flags;
	ev->syscall = syscall;
	ev->attr_flags = 0;
	ev->src_dfd = -100;
	ev->tgt_dfd = -100;
	ev->xflags = 0;
	ev->file_flags = 0;
	ev->src_len = 0;
	ev->tgt_len = 0;
	ev->fstype_len = 0;
	ev->src_dir_len = 0;
	ev->tgt_dir_len = 0;
	if (src) {
		n = bpf_probe_read_kernel_str(ev->data, 256, src);
		if (n > 0) {
			ev->src_len = n;
			off = n;
		}
	}
	if (fstype) {
		n = bpf_probe_read_kernel_str(&ev->data[off & DATA_MASK], 64, fstype);
		if (n > 0) {
			ev->fstype_len = n;
			off += n;
		}
	}
	if (tgt) {
		__u32 start = off;
		bpf_probe_read_kernel(&off, sizeof(off), &off); /* no range: see mount.c */
		off = read_path(tgt, ev->data, off, &ev->file_flags);
		ev->tgt_dir_len = off - start;
		ev->xflags |= MNTX_TGT_DIR;
	}
	submit(ev, offsetof(struct mount_event, data) + (off & (DATA_LEN - 1)), EV_MOUNT);
	scratch_release(slot);
	return ret;
}

SEC("lsm/sb_mount")
int BPF_PROG(deny_sb_mount, const char *dev_name, const struct path *path, const char *type, unsigned long flags, void *data, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_mount(MCALL_MOUNT, path, dev_name, type, flags));
}

SEC("lsm/sb_umount")
int BPF_PROG(deny_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct path p;
	if (ret)
		return ret;
	/* The mount's root, which is where it is mounted. */
	p.mnt = mnt;
	p.dentry = BPF_CORE_READ(mnt, mnt_root);
	return lsm_ret(deny_mount(MCALL_UMOUNT, &p, NULL, NULL, flags));
}

SEC("lsm/move_mount")
int BPF_PROG(deny_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_mount(MCALL_MOVE_MOUNT, to_path, NULL, NULL, 0));
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(deny_sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	if (ret)
		return ret;
	return lsm_ret(deny_mount(MCALL_PIVOT_ROOT, new_path, NULL, NULL, 0));
}

/*
 * bpf: lsm/bpf, for the commands the bpf event reports; never for vigil
 * itself. Its arguments differ between kernels (6.14 added one), so the
 * previous programs' result is not read: a denial by an earlier program
 * stands whatever this one returns.
 */
SEC("lsm/bpf")
int BPF_PROG(deny_bpf, int cmd)
{
	struct match_in in = {};
	struct scratch *slot;
	struct bpf_event *ev;
	__u32 rule = 0;
	long ret;

	if (cmd != 5 && cmd != 8 && cmd != 17 && cmd != 28)
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	if (!denied(EV_BPF, &in, &rule))
		return 0;
	ret = deny_errno(rule);
	slot = scratch_claim();
	if (!slot) {
		count_lost(EV_BPF);
		return lsm_ret(ret);
	}
	ev = &slot->bpf;
	__builtin_memset(ev, 0, sizeof(*ev));
	deny_hdr(&ev->hdr, EV_BPF, rule);
	ev->cmd = cmd;
	ev->result = ret;
	ev->target_fd = -1;
	submit(ev, sizeof(*ev), EV_BPF);
	scratch_release(slot);
	return lsm_ret(ret);
}
