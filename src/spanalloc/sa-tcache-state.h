/* SPDX-License-Identifier: MIT */
/*
 * The thread caches' data: a cache's bins, the calling thread's cache
 * (initial-exec TLS) and the registry of live caches. No functions, so the
 * statistics and fork code read caches without depending on their slow
 * paths (sa-tcache.c) or on start-up (sa-init.c, which owns the registry).
 */
#ifndef SA_TCACHE_STATE_H
#define SA_TCACHE_STATE_H

#include "sa-os.h"
#include "sa-sizeclass.h"

/* ---------- thread cache (mcache) ---------- */
struct sa_bin {
	void *head;       /* free objects, encoded links (sa_link_set) */
	uint32_t count;   /* objects on the list */
	uint32_t max;     /* flush above this; 0 = every free takes the slow path */
	uint64_t nmalloc; /* cumulative allocations (single writer, racy readers) */
};
enum sa_tc_state { SA_TC_NEW = 0, SA_TC_LIVE = 1, SA_TC_DEAD = 2 };
struct sa_tcache {
	struct sa_bin bins[SA_NUM_CLASSES];
	struct sa_tcache *next, *prev; /* registry, under sa_reg_lock */
	int state;
	uint32_t shard;     /* central shard this thread refills from */
	uint64_t max_bytes; /* sum of bins[c].max * class size (bytes) <= sa_tcache_cap_bytes */
	uint32_t victim;    /* next class whose limit sa_tc_grow shrinks */
};
extern __thread struct sa_tcache sa_tc __attribute__((tls_model("initial-exec"))) SA_HIDDEN;

extern sa_lock_t sa_reg_lock SA_HIDDEN;
extern struct sa_tcache *sa_reg_head SA_HIDDEN;

#endif
