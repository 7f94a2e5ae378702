/* SPDX-License-Identifier: MIT */
/*
 * Evidence that spanalloc really serves this process's mallocs, so that a
 * preload test cannot pass because LD_PRELOAD silently failed (ld.so only
 * prints a warning and runs the program on glibc).
 */
#ifndef PRELOAD_EVIDENCE_H
#define PRELOAD_EVIDENCE_H

#include <stdint.h>

/* If sa_stats() (spanalloc) is reachable through the global symbol scope,
 * stores its cumulative `mallocs` and `scavenges` (madvise calls) counters
 * and returns 1; returns 0 when the process has no spanalloc, -1 when
 * sa_stats() failed. */
int preload_evidence_spanalloc_stats(uint64_t *mallocs, uint64_t *scavenges);

/* Prints on stderr, for the test driver: "mapped: <line>" for every line of
 * /proc/self/maps naming spanalloc (the preloaded library, the statistics
 * memfd), then "spanalloc-mallocs: <count>" and "spanalloc-scavenges:
 * <count>" when sa_stats() is reachable.
 * Uses no malloc (so it cannot disturb the heap it reports on). */
void preload_evidence_report(void);

#endif
