/* SPDX-License-Identifier: MIT */
/*
 * Which shared object really serves malloc in this process, so that a preload
 * test cannot pass because LD_PRELOAD silently failed (ld.so only warns).
 */
#ifndef PRELOAD_MALLOC_OWNER_H
#define PRELOAD_MALLOC_OWNER_H

#include <stdint.h>

/* Path of the object that defines the malloc this process calls ("?" if
 * unknown). Never allocates. */
const char *malloc_owner_path(void);

/* If sa_stats() (spanalloc) is reachable through the global symbol scope,
 * stores its cumulative `mallocs` counter in *mallocs and returns 1; returns 0
 * when the process has no spanalloc, -1 when sa_stats() failed. */
int malloc_owner_spanalloc_mallocs(uint64_t *mallocs);

/* Prints "malloc-owner: <path>" and, under spanalloc,
 * "spanalloc-mallocs: <count>" on stderr for the test driver to check. */
void malloc_owner_report(void);

#endif
