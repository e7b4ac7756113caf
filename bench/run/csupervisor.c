// csupervisor: a minimal seccomp user-notification supervisor in C, the
// floor vigil run is measured against. It does what vigil does per call
// and nothing more: no rules, no trace, no credentials, one thread.
//
//   csupervisor MODE SYNC -- CMD ARGS...
//
// MODE: filter    the filter vigil installs (arch and x32 checks), with
//                 nothing sent to the supervisor: the cost of a filter alone
//       continue  openat answered SECCOMP_USER_NOTIF_FLAG_CONTINUE (unsafe
//                 for path checks: the TOCTOU vigil avoids)
//       emulate   openat performed by the supervisor and the fd injected
//                 with SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND,
//                 as vigil does (absolute paths only)
// SYNC: 1 to set SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0 not to.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

static int install(int notify) {
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, notify ? __NR_openat : 0xfffff, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static void sendfd(int sock, int fd) {
	char c = 'L', cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&c, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET, cm->cmsg_type = SCM_RIGHTS, cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	if (sendmsg(sock, &m, 0) < 0) _exit(125);
}

static int recvfd(int sock) {
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&c, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (recvmsg(sock, &m, 0) <= 0) return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
	return fd;
}

int main(int argc, char **argv) {
	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: csupervisor filter|continue|emulate 0|1 -- CMD ARGS...\n");
		return 2;
	}
	const char *mode = argv[1];
	int sync = atoi(argv[2]);
	int sv[2];
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		int lfd = install(strcmp(mode, "filter") != 0);
		if (lfd < 0) _exit(125);
		sendfd(sv[1], lfd);
		close(lfd);
		close(sv[1]);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	close(sv[1]);
	int lfd = recvfd(sv[0]);
	if (lfd < 0) return 125;
	if (sync) ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	int emulate = !strcmp(mode, "emulate");
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	char path[4096];
	for (;;) {
		memset(&req, 0, sizeof req);
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR) continue;
			if (errno == ENOENT) {
				struct pollfd p = {lfd, 0, 0};
				if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP)) break;
				continue;
			}
			break;
		}
		memset(&resp, 0, sizeof resp);
		resp.id = req.id;
		if (!emulate) {
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
			continue;
		}
		struct iovec local = {path, sizeof path}, remote = {(void *)req.data.args[1], sizeof path};
		ssize_t n = process_vm_readv(req.pid, &local, 1, &remote, 1, 0);
		if (n <= 0 || !memchr(path, 0, n)) {
			resp.error = -EFAULT;
			ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
			continue;
		}
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0) continue;
		int fd = openat(AT_FDCWD, path, (int)req.data.args[2] | O_CLOEXEC, (int)req.data.args[3]);
		if (fd < 0) {
			resp.error = -errno;
			ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
			continue;
		}
		struct seccomp_notif_addfd add = {.id = req.id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = fd,
			.newfd_flags = (req.data.args[2] & O_CLOEXEC) ? O_CLOEXEC : 0};
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
			resp.error = -errno;
			ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		}
		close(fd);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
