/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * net.h: reading sockets and socket addresses into struct net_addr, for
 * the network sensor (net.c) and its BPF LSM deny hooks (lsm.c).
 */
#ifndef VIGIL_NET_H
#define VIGIL_NET_H

#include <bpf/bpf_endian.h>

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* file_sock returns the socket of file f, or NULL when it is none. */
static __always_inline struct sock *file_sock(struct file *f)
{
	struct socket *so;

	if (!f)
		return NULL;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	so = BPF_CORE_READ(f, private_data);
	if (!so)
		return NULL;
	return BPF_CORE_READ(so, sk);
}

/* fd_sock returns the socket behind fd in the current task, or NULL. */
static __always_inline struct sock *fd_sock(int fd)
{
	return file_sock(fd_file(fd));
}

/* unix_path copies an AF_UNIX address's sun_path (len: the address's
 * length with sun_family) from kernel memory. */
static __always_inline void unix_path(struct net_addr *a, struct unix_address *ua)
{
	__s32 n = BPF_CORE_READ(ua, len) - 2;
	if (n <= 0)
		return;
	n &= 127;
	if (n > NET_PATH_LEN)
		n = NET_PATH_LEN;
	if (bpf_probe_read_kernel(a->path, n, (void *)ua + bpf_core_field_offset(struct unix_address, name) + 2) == 0)
		a->path_len = n;
}

/*
 * sock_addr fills a with the socket's own address (peer 0) or its peer's
 * (peer 1) and returns non-zero when there is one: an inet socket bound
 * or connected, an AF_UNIX socket with a name.
 */
static __always_inline int sock_addr(struct sock *sk, struct net_addr *a, int peer)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	a->family = fam;
	if (fam == AF_INET) {
		__be32 ip;
		if (peer) {
			ip = BPF_CORE_READ(sk, __sk_common.skc_daddr);
			a->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		} else {
			ip = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
			a->port = BPF_CORE_READ(sk, __sk_common.skc_num);
		}
		__builtin_memcpy(a->addr, &ip, 4);
		return ip || a->port;
	}
	if (fam == AF_INET6) {
		__u64 w[2];
		if (peer) {
			BPF_CORE_READ_INTO(&w, sk, __sk_common.skc_v6_daddr);
			a->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		} else {
			BPF_CORE_READ_INTO(&w, sk, __sk_common.skc_v6_rcv_saddr);
			a->port = BPF_CORE_READ(sk, __sk_common.skc_num);
		}
		__builtin_memcpy(a->addr, w, 16);
		return w[0] || w[1] || a->port;
	}
	if (fam == AF_UNIX) {
		struct unix_sock *u = (struct unix_sock *)sk;
		struct unix_address *ua;
		if (peer)
			u = (struct unix_sock *)BPF_CORE_READ(u, peer);
		if (!u)
			return 0;
		ua = BPF_CORE_READ(u, addr);
		if (!ua)
			return 0;
		unix_path(a, ua);
		return 1;
	}
	return 0;
}

/* rd reads user memory (user) or kernel memory. */
static __always_inline long rd(void *dst, __u32 n, const void *src, int user)
{
	return user ? bpf_probe_read_user(dst, n, src) : bpf_probe_read_kernel(dst, n, src);
}

/*
 * sockaddr_read fills a from a struct sockaddr of len bytes at uaddr, in
 * the caller's memory (user) or the kernel's (an LSM hook's copy); it
 * returns non-zero when it could be read.
 */
static __always_inline int sockaddr_read(struct net_addr *a, __u64 uaddr, __s32 len, int user)
{
	__u16 fam = 0;
	void *p = (void *)uaddr;

	if (!uaddr || len < 2 || rd(&fam, sizeof(fam), p, user))
		return 0;
	a->family = fam;
	if (fam == AF_INET) {
		struct sockaddr_in sin;
		if (len < 8 || rd(&sin, 8, p, user))
			return 0;
		a->port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(a->addr, &sin.sin_addr, 4);
		return 1;
	}
	if (fam == AF_INET6) {
		struct sockaddr_in6 sin6;
		if (len < 24 || rd(&sin6, 24, p, user))
			return 0;
		a->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(a->addr, &sin6.sin6_addr, 16);
		return 1;
	}
	if (fam == AF_UNIX) {
		__s32 n = len - 2;
		if (n <= 0)
			return 1; /* an unnamed address */
		n &= 127;
		if (n > NET_PATH_LEN)
			n = NET_PATH_LEN;
		if (rd(a->path, n, p + 2, user))
			return 0;
		a->path_len = n;
		return 1;
	}
	return 1; /* a family vigil does not decode: its number is known */
}

/* submit_reserved commits a record reserved in the ring, waking the
 * reader only past wakeup_bytes as submit() does. */
static __always_inline void submit_reserved(void *rec)
{
	__u64 flags = 0;
	if (wakeup_bytes && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		flags = BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
}

#endif
