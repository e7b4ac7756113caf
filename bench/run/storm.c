// storm: the workload of the vigil run benchmark. Runs one system call in
// a loop and prints the mean cost per call in nanoseconds, timed inside
// the process so start-up (exec, ld.so, the supervisor's set-up) is not
// counted.
//
//   storm openat N PATH    openat(AT_FDCWD, PATH, O_RDONLY) + close, N times
//   storm getpid N         syscall(SYS_getpid), N times
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: storm openat N PATH | storm getpid N\n");
		return 2;
	}
	long n = atol(argv[2]);
	double t0 = now();
	if (!strcmp(argv[1], "openat") && argc == 4) {
		for (long i = 0; i < n; i++) {
			int fd = openat(AT_FDCWD, argv[3], O_RDONLY);
			if (fd < 0) {
				perror("openat");
				return 1;
			}
			close(fd);
		}
	} else if (!strcmp(argv[1], "getpid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
	} else {
		return 2;
	}
	printf("%.1f\n", (now() - t0) / n);
	return 0;
}
