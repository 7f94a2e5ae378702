/* SPDX-License-Identifier: MIT */
/* Helpers shared by the spanalloc tests: read the kernel's view of this
 * process (smaps_rollup fields, kB -> bytes). */
#ifndef SA_TEST_UTIL_H
#define SA_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

#endif
