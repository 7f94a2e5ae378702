/* SPDX-License-Identifier: MIT */
/*
 * Frees the same object twice. Under spanalloc (and glibc) the second free
 * must abort the process (SIGABRT) with the allocator's message on stderr;
 * the test driver checks the signal and the message. Reaching the end of
 * main means the double free went unnoticed: exit status 1.
 *
 * usage: double-free SIZE_BYTES
 *   (small sizes exercise the size-class path, > 32 KiB the large-span path)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preload-evidence.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SIZE_BYTES\n", argv[0]);
		return 2;
	}
	size_t size = strtoull(argv[1], NULL, 10);
	/* volatile: the compiler must not see (and warn about or drop) the bug */
	char *volatile p = malloc(size);

	if (!p)
		return 2;
	memset(p, 0x5a, size);
	preload_evidence_report();
	fflush(stderr);
	free(p);
	free(p);
	fprintf(stderr, "double-free: second free of %zu bytes returned: double free not detected\n", size);
	return 1;
}
