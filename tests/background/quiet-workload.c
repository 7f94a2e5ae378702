/* SPDX-License-Identifier: MIT */
/*
 * quiet-workload COUNT SIZE PERCENT [fork]: run under
 * LD_PRELOAD=libspanalloc-malloc.so. mallocs COUNT objects of SIZE bytes
 * (touching each), frees the first PERCENT% of them (in allocation order, so
 * whole spans become free), prints "ready PID" and then stays quiet (no
 * allocation at all) until stdin closes. With "fork", it forks first and the
 * child (which inherits the heap and never allocates) is the one that
 * prints its pid and stays quiet; the parent waits for it.
 * The test reading its statistics segment meanwhile sees what only the
 * background thread can have published.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "fork") == 0))
		return 2;
	long count = atol(argv[1]), size = atol(argv[2]), percent = atol(argv[3]);
	if (count <= 0 || size <= 0 || percent < 0 || percent > 100)
		return 2;
	void **p = malloc((size_t)count * sizeof(*p));
	if (!p)
		return 3;
	for (long i = 0; i < count; i++) {
		p[i] = malloc((size_t)size);
		if (!p[i])
			return 3;
		memset(p[i], 0x5a, (size_t)size);
	}
	long nfree = count * percent / 100;
	for (long i = 0; i < nfree; i++)
		free(p[i]);
	if (argc == 5) {
		pid_t child = fork();
		if (child < 0)
			return 5;
		if (child > 0) {
			int st;
			if (waitpid(child, &st, 0) != child || !WIFEXITED(st))
				return 6;
			return WEXITSTATUS(st);
		}
	}
	/* snprintf into a stack buffer and write(2): nothing allocates after
	 * this point */
	char line[32];
	int len = snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	if (write(STDOUT_FILENO, line, (size_t)len) != len)
		return 4;
	char c;
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	return 0;
}
