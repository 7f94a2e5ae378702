/* SPDX-License-Identifier: MIT */
/*
 * unshare-probe: run under LD_PRELOAD=libspanalloc-malloc.so. A program that
 * was single-threaded before the preload must still be able to unshare a
 * user and a mount namespace (both refuse a multithreaded caller with
 * EINVAL): the library stops its background thread for the call and starts
 * it again. Exit 0 when unshare worked and the thread is back, 1 on
 * failure, 77 (skip) when the kernel or sandbox forbids user namespaces.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Threads of this process named spanalloc-bg, and all threads. */
static int count_threads(int *bg)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	*bg = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		char path[300], comm[32] = { 0 };
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f) && strcmp(comm, "spanalloc-bg\n") == 0)
				(*bg)++;
			fclose(f);
		}
	}
	closedir(d);
	return n;
}

int main(void)
{
	for (int i = 0; i < 1000; i++)
		free(malloc(100));
	int bg, n = count_threads(&bg);
	if (n != 2 || bg != 1) {
		fprintf(stderr, "before: %d threads, %d spanalloc-bg (want 2, 1)\n", n, bg);
		return 1;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		int e = errno;
		fprintf(stderr, "unshare: %s\n", strerror(e));
		return e == EINVAL ? 1 : 77;
	}
	n = count_threads(&bg);
	if (n != 2 || bg != 1) {
		fprintf(stderr, "after: %d threads, %d spanalloc-bg (want 2, 1)\n", n, bg);
		return 1;
	}
	puts("ok");
	return 0;
}
