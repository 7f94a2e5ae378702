/* SPDX-License-Identifier: MIT */
/*
 * Size classes: the generated table (sa-sizeclass-table.h), the inline
 * size -> class lookup of the fast path, and per-class counts
 * (sa-sizeclass.c).
 */
#ifndef SA_SIZECLASS_H
#define SA_SIZECLASS_H

#include "sa-base.h"
#include "spanalloc-stats.h"
#include "sa-sizeclass-table.h"

_Static_assert(SA_NUM_CLASSES <= SA_STATS_MAX_CLASSES, "stats segment bound");

/* ---------- size classes ---------- */
static inline uint32_t sa_size_to_class(size_t n)
{
	if (likely(n <= 1024))
		return sa_class_small_table[(n + 15) >> 4];
	return sa_class_mid_table[(n - 1024 + 127) >> 7];
}
static inline uint32_t sa_class_div_mul(uint32_t size)
{
	return (uint32_t)(UINT32_MAX / size + 1);
}
SA_HIDDEN uint32_t sa_class_objs(uint32_t cls);
/* Objects moved per refill/flush: about SA_BATCH_BYTES worth, 2..64 objects.
 * A thread's cache of one class swings between empty and two batches, so the
 * batch size in bytes is what an idle thread cache costs in RSS per class. */
#define SA_BATCH_BYTES 8192u
/* Inline: the thread caches' slow paths use it on every refill and flush. */
static inline uint32_t sa_class_batch(uint32_t cls)
{
	uint32_t n = SA_BATCH_BYTES / sa_class_size_table[cls];
	return n < 2 ? 2 : n > 64 ? 64 : n;
}

#endif
