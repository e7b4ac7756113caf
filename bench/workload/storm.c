// storm: syscall storms for vigil's overhead benchmarks. Each mode runs
// its loop and prints the elapsed nanoseconds on stdout.
//
//   storm exec N            fork + execve(/bin/true) + wait, N times
//   storm open N PATH       openat(PATH) + close, N times
//   storm getpid N          getpid, N times (a call nobody traces)
//   storm mprotect N        mprotect one page RW <-> R, N times
//   storm mmap N rx|rw      mmap one anonymous page PROT_READ|PROT_EXEC
//                           (or PROT_READ|PROT_WRITE) + munmap, N times
//   storm rate R S PATH     openat(PATH) + close at R per second for S seconds
//   storm uring N PATH      IORING_OP_OPENAT(PATH) through io_uring, wait, close, N times
//   storm connect N         TCP connect to its own listener on 127.0.0.1 + accept + close both, N times
//   storm rename N PATH     rename(PATH, PATH.2) and back, N times each way
//   storm chmod N PATH      chmod(PATH) 0644 <-> 0600, N times
//   storm setresuid N       setresuid(-1, -1, -1), N times (changes nothing)
//   storm ptrace N          ptrace(PTRACE_POKEDATA, -1): ESRCH, N times
//   storm unshare N         unshare(CLONE_NEWUTS), N times
//   storm mount N DIR       mount a tmpfs on DIR + umount2, N times, in a mount
//                           namespace of its own (root)
//   storm bpfload N         bpf(BPF_PROG_LOAD) of a two-instruction socket
//                           filter + close, N times (root)
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void one_open(const char *path)
{
	int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
}

/*
 * uring_opens opens path n times with IORING_OP_OPENAT, one request per
 * io_uring_enter (submit and wait), closing each descriptor: the openat
 * storm's loop, through io_uring. No liburing: the raw rings.
 */
static int uring_opens(long n, const char *path)
{
	struct io_uring_params p = {0};
	int fd = syscall(__NR_io_uring_setup, 8, &p);
	if (fd < 0) {
		perror("io_uring_setup");
		return 1;
	}
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail), *sq_array = (unsigned *)(sq + p.sq_off.array);
	unsigned sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *cq_head = (unsigned *)(cq + p.cq_off.head), *cq_tail = (unsigned *)(cq + p.cq_off.tail);
	unsigned cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	for (long i = 0; i < n; i++) {
		unsigned tail = *sq_tail, idx = tail & sq_mask;
		struct io_uring_sqe *e = &sqes[idx];
		memset(e, 0, sizeof(*e));
		e->opcode = IORING_OP_OPENAT;
		e->fd = AT_FDCWD;
		e->addr = (unsigned long)path;
		e->open_flags = O_RDONLY | O_CLOEXEC;
		sq_array[idx] = idx;
		__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
		if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) != 1) {
			perror("io_uring_enter");
			return 1;
		}
		unsigned head = *cq_head;
		if (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) {
			fprintf(stderr, "storm: no completion\n");
			return 1;
		}
		int res = cqes[head & cq_mask].res;
		__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
		if (res >= 0)
			close(res);
	}
	return 0;
}

/* tcp_connects connects to a listener of its own on 127.0.0.1 n times,
 * accepting and closing both ends each time. */
static int tcp_connects(long n)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 16) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		return 1;
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
			return 1;
		int a = accept(l, NULL, NULL);
		if (a < 0)
			return 1;
		close(a);
		close(c);
	}
	return 0;
}

/* mount_setup leaves the host's mounts alone: a private mount namespace. */
static int mount_setup(void)
{
	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("unshare/mount");
		return 1;
	}
	return 0;
}

/* bpf_load loads "return 0" as a socket filter; it returns the fd or -1. */
static int bpf_load(void)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insn_cnt = 2;
	attr.insns = (unsigned long)insns;
	attr.license = (unsigned long)"MIT";
	strcpy(attr.prog_name, "storm");
	return syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: storm exec|open|uring|getpid|mprotect|mmap|rate|mount|bpfload N [...]\n");
		return 2;
	}
	long n = atol(argv[2]);
	long long start = now();
	if (!strcmp(argv[1], "exec")) {
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			int st;
			waitpid(pid, &st, 0);
		}
	} else if (!strcmp(argv[1], "open") && argc == 4) {
		for (long i = 0; i < n; i++)
			one_open(argv[3]);
	} else if (!strcmp(argv[1], "uring") && argc == 4) {
		if (uring_opens(n, argv[3]))
			return 1;
	} else if (!strcmp(argv[1], "connect")) {
		if (tcp_connects(n))
			return 1;
	} else if (!strcmp(argv[1], "mount") && argc == 4) {
		if (mount_setup())
			return 1;
		start = now();
		for (long i = 0; i < n; i++) {
			if (mount("storm", argv[3], "tmpfs", 0, "size=64k") || umount2(argv[3], 0)) {
				perror("mount/umount2");
				return 1;
			}
		}
	} else if (!strcmp(argv[1], "bpfload")) {
		for (long i = 0; i < n; i++) {
			int fd = bpf_load();
			if (fd < 0) {
				perror("bpf");
				return 1;
			}
			close(fd);
		}
	} else if (!strcmp(argv[1], "getpid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
	} else if (!strcmp(argv[1], "mprotect")) {
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		for (long i = 0; i < n; i++)
			mprotect(p, 4096, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ);
	} else if (!strcmp(argv[1], "mmap") && argc == 4) {
		int prot = !strcmp(argv[3], "rx") ? PROT_READ | PROT_EXEC : PROT_READ | PROT_WRITE;
		for (long i = 0; i < n; i++) {
			void *p = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return 1;
			munmap(p, 4096);
		}
	} else if (!strcmp(argv[1], "rename") && argc == 4) {
		char other[4096];
		snprintf(other, sizeof(other), "%s.2", argv[3]);
		for (long i = 0; i < n; i++)
			if (rename((i & 1) ? other : argv[3], (i & 1) ? argv[3] : other))
				return 1;
		if (n & 1)
			rename(other, argv[3]);
	} else if (!strcmp(argv[1], "chmod") && argc == 4) {
		for (long i = 0; i < n; i++)
			if (chmod(argv[3], (i & 1) ? 0644 : 0600))
				return 1;
	} else if (!strcmp(argv[1], "rate") && argc == 5) {
		long secs = atol(argv[3]);
		long long per = 1000000000LL / n; /* ns between opens */
		long long next = start;
		long long end = start + secs * 1000000000LL;
		long done = 0;
		while (next < end) {
			/* Batches of 50 keep the pace without a syscall per sleep. */
			for (int j = 0; j < 50; j++, done++)
				one_open(argv[4]);
			next += 50 * per;
			long long t = now();
			if (next > t) {
				struct timespec ts = {(next - t) / 1000000000LL, (next - t) % 1000000000LL};
				nanosleep(&ts, NULL);
			}
		}
		fprintf(stderr, "%ld opens\n", done);
	} else if (!strcmp(argv[1], "setresuid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_setresuid, -1, -1, -1);
	} else if (!strcmp(argv[1], "ptrace")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_ptrace, 5 /* PTRACE_POKEDATA */, -1, 0, 0);
	} else if (!strcmp(argv[1], "unshare")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_unshare, 0x04000000 /* CLONE_NEWUTS */);
	} else {
		fprintf(stderr, "storm: bad mode %s\n", argv[1]);
		return 2;
	}
	printf("%lld\n", now() - start);
	return 0;
}
