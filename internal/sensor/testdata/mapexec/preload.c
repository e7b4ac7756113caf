/*
 * preload.c: a shared library a test must never let run: loaded through
 * LD_PRELOAD or dlopen, its constructor creates the file named by
 * $VIGIL_MARKER.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void payload(void)
{
	const char *m = getenv("VIGIL_MARKER");
	if (!m)
		return;
	int fd = open(m, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
}
