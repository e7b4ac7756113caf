/*
 * payload.c: the program a test must never let run. It creates the file
 * named by its first argument, the marker the test looks for.
 */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}
