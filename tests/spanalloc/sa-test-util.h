/* SPDX-License-Identifier: MIT */
/* Helpers shared by the spanalloc tests: read the kernel's view of this
 * process (smaps_rollup fields, kB -> bytes); run a piece of a test in a
 * child process and collect what it wrote to stderr (abort checks). */
#ifndef SA_TEST_UTIL_H
#define SA_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Value of `field` ("Rss", "LazyFree", ...) in /proc/self/smaps_rollup, in
 * bytes; -1 if missing. */
static inline int64_t sa_test_rollup(const char *field)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	if (!f)
		return -1;
	char line[256];
	size_t fl = strlen(field);
	int64_t v = -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			long long kb;
			if (sscanf(line + fl + 1, "%lld", &kb) == 1)
				v = (int64_t)kb * 1024;
			break;
		}
	}
	fclose(f);
	return v;
}

/* Runs `what` in a forked child whose stderr is a pipe (the child exits 0
 * if `what` returns); up to size - 1 bytes of that stderr go to `buf`,
 * NUL-terminated. Returns the child's wait status, -1 if it could not be
 * started or waited for. */
static inline int sa_test_run_child(void (*what)(void), char *buf, size_t size)
{
	int fds[2], status;
	size_t have = 0;
	ssize_t r;
	pid_t pid;

	memset(buf, 0, size);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 2);
		what();
		_exit(0);
	}
	close(fds[1]);
	while (have < size - 1 && (r = read(fds[0], buf + have, size - 1 - have)) > 0)
		have += (size_t)r;
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

#endif
