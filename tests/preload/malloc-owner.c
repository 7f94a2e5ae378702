/* SPDX-License-Identifier: MIT */
#include "malloc-owner.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "spanalloc-stats.h"

const char *malloc_owner_path(void)
{
	/* RTLD_DEFAULT follows the global lookup order, preloads first: the
	 * same resolution the program's own malloc calls got. */
	void *sym = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info info;

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return "?";
	return info.dli_fname;
}

int malloc_owner_spanalloc_mallocs(uint64_t *mallocs)
{
	int (*stats_fn)(struct sa_stats *) = (int (*)(struct sa_stats *))dlsym(RTLD_DEFAULT, "sa_stats");
	/* static: struct sa_stats holds the per-class table (several kB) */
	static struct sa_stats stats;

	if (!stats_fn)
		return 0;
	if (stats_fn(&stats) != 0)
		return -1;
	*mallocs = stats.mallocs;
	return 1;
}

void malloc_owner_report(void)
{
	uint64_t mallocs = 0;
	int have = malloc_owner_spanalloc_mallocs(&mallocs);

	fprintf(stderr, "malloc-owner: %s\n", malloc_owner_path());
	if (have == 1)
		fprintf(stderr, "spanalloc-mallocs: %llu\n", (unsigned long long)mallocs);
	else if (have < 0)
		fprintf(stderr, "spanalloc-mallocs: sa_stats failed\n");
}
