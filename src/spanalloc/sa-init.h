/* SPDX-License-Identifier: MIT */
/*
 * Start-up and the thread registry (sa-init.c): sa_ensure_init runs
 * sa_init_slow once (keys, options, pthread key, fork handlers).
 */
#ifndef SA_INIT_H
#define SA_INIT_H

#include "sa-base.h"

struct sa_tcache;

/* ---------- global state, init, registry, fork ---------- */
extern int sa_inited SA_HIDDEN;
SA_HIDDEN void sa_init_slow(void);
/* Registers the calling thread's cache (its first slow path): shard,
 * registry, the pthread key whose destructor flushes it at thread exit. */
SA_HIDDEN void sa_tc_register(struct sa_tcache *tc);
static inline void sa_ensure_init(void)
{
	if (unlikely(!__atomic_load_n(&sa_inited, __ATOMIC_ACQUIRE)))
		sa_init_slow();
}
SA_HIDDEN void sa_tc_flush_all(struct sa_tcache *tc);

#endif
