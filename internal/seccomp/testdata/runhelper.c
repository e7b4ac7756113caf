// runhelper: the victim program of vigil run's integration tests, built
// by the tests with the system C compiler. Each mode prints one line.
//
//   runhelper open PATH          open(2) PATH, print "ok CONTENT" or "err ERRNO"
//   runhelper openat DIR NAME    openat(2) NAME relative to an fd of DIR
//   runhelper openat2 PATH       openat2(2) PATH
//   runhelper race ALLOWED DENIED N
//                                one thread flips a path buffer between
//                                ALLOWED and DENIED while the main thread
//                                opens it N times; prints
//                                "allowed A denied D failed F"
//   runhelper abi PATH           open PATH through int 0x80 (i386) and
//                                through the x32 syscall bit; print both
//                                results as "i386 R x32 R". The i386 open
//                                runs in a child: where the kernel has no
//                                i386 ABI, int 0x80 kills it with SIGSEGV
//                                and R is "noabi"
//   runhelper int80              getpid through int 0x80; print
//                                "int80 PID" ("int80 ok" when it is the
//                                caller's pid); without the i386 ABI the
//                                kernel kills the helper with SIGSEGV
//   runhelper exitpending FIFO   a thread opens FIFO (blocking in the
//                                supervisor) while the main thread exits
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e) {
	switch (e) {
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ENOSYS: return "ENOSYS";
	case EROFS: return "EROFS";
	case ELOOP: return "ELOOP";
	case EBADF: return "EBADF";
	default: return strerror(e);
	}
}

static int report(int fd) {
	if (fd < 0) {
		printf("err %s\n", errname(errno));
		return 1;
	}
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) n = 0;
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
	int cloexec = fcntl(fd, F_GETFD) & FD_CLOEXEC;
	printf("ok %s%s\n", buf, cloexec ? " cloexec" : "");
	return 0;
}

static char racebuf[4096];
static const char *race_a, *race_d;
static volatile int racing = 1;

static void *flipper(void *arg) {
	(void)arg;
	size_t la = strlen(race_a) + 1, ld = strlen(race_d) + 1;
	while (racing) {
		memcpy(racebuf, race_d, ld);
		memcpy(racebuf, race_a, la);
	}
	return NULL;
}

static int race(const char *a, const char *d, int n, const char *dcontent) {
	race_a = a, race_d = d;
	memcpy(racebuf, a, strlen(a) + 1);
	pthread_t t;
	pthread_create(&t, NULL, flipper, NULL);
	int allowed = 0, denied = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		int fd = open(racebuf, O_RDONLY);
		if (fd < 0) {
			failed++;
			continue;
		}
		char buf[64] = {0};
		read(fd, buf, sizeof buf - 1);
		close(fd);
		if (strncmp(buf, dcontent, strlen(dcontent)) == 0)
			denied++;
		else
			allowed++;
	}
	racing = 0;
	pthread_join(t, NULL);
	printf("allowed %d denied %d failed %d\n", allowed, denied, failed);
	return 0;
}

// A path the i386 ABI can address: this binary is built -no-pie, so
// .data sits below 4 GiB.
static char lowpath[4096];

static long int80_open(const char *p) {
	long ret;
	// i386 open is 5; int 0x80 takes ebx, ecx, edx.
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(5), "b"(p), "c"(O_RDONLY), "d"(0) : "memory");
	return ret;
}

static long int80_getpid(void) {
	long ret;
	// i386 getpid is 20.
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
	return ret;
}

// abi_i386 opens p through int 0x80 in a child, so that a kernel without
// the i386 ABI (which answers int 0x80 with SIGSEGV) ends the child, not
// the helper, and prints the result or "noabi".
static void abi_i386(const char *p) {
	int pipefd[2];
	if (pipe(pipefd) < 0) {
		perror("pipe");
		exit(2);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		close(pipefd[0]);
		long r = int80_open(p);
		write(pipefd[1], &r, sizeof r);
		_exit(0);
	}
	close(pipefd[1]);
	long r;
	ssize_t n = read(pipefd[0], &r, sizeof r);
	int status;
	waitpid(pid, &status, 0);
	if (n == sizeof r)
		printf("i386 %ld", r);
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		printf("i386 noabi");
	else
		printf("i386 child-status-%d", status);
}

static void *pending_open(void *arg) {
	open((const char *)arg, O_RDONLY); // blocks: the FIFO has no writer
	return NULL;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2) return 2;
	const char *m = argv[1];
	if (!strcmp(m, "open") && argc == 3) return report(open(argv[2], O_RDONLY | O_CLOEXEC));
	if (!strcmp(m, "openat") && argc == 4) {
		int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
		return report(openat(dfd, argv[3], O_RDONLY));
	}
	if (!strcmp(m, "openat2") && argc == 3) {
		struct open_how how = {.flags = O_RDONLY};
		return report(syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof how));
	}
	if (!strcmp(m, "race") && argc == 6) return race(argv[2], argv[3], atoi(argv[4]), argv[5]);
	if (!strcmp(m, "abi") && argc == 3) {
		strncpy(lowpath, argv[2], sizeof lowpath - 1);
		abi_i386(lowpath);
		long r2 = syscall(0x40000000 | SYS_openat, AT_FDCWD, lowpath, O_RDONLY);
		printf(" x32 %ld\n", r2 < 0 ? -errno : r2);
		return 0;
	}
	if (!strcmp(m, "int80") && argc == 2) {
		long r = int80_getpid();
		if (r == getpid())
			printf("int80 ok\n");
		else
			printf("int80 %ld\n", r);
		return 0;
	}
	if (!strcmp(m, "exitpending") && argc == 3) {
		pthread_t t;
		pthread_create(&t, NULL, pending_open, argv[2]);
		usleep(200000);
		printf("exiting\n");
		exit(0);
	}
	fprintf(stderr, "runhelper: bad usage\n");
	return 2;
}
