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
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: storm exec|open|getpid|mprotect|mmap|rate N [...]\n");
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
	} else {
		fprintf(stderr, "storm: bad mode %s\n", argv[1]);
		return 2;
	}
	printf("%lld\n", now() - start);
	return 0;
}
