/* SPDX-License-Identifier: MIT */
/*
 * The inline fast paths shared by the sa_* API and the malloc overrides
 * (sa-preload.c), and the thread caches' slow paths (sa-tcache.c) they
 * fall back to.
 */
#ifndef SA_TCACHE_H
#define SA_TCACHE_H

#include "spanalloc-stats.h"
#include "sa-os.h"
#include "sa-span.h"
#include "sa-sizeclass.h"
#include "sa-freelist.h"
#include "sa-tcache-state.h"
#include "sa-large.h"

SA_HIDDEN void *sa_malloc_slow(uint32_t cls);
SA_HIDDEN void sa_free_slow(void *p, uint32_t cls);

static inline void *sa_malloc_inline(size_t n)
{
	if (unlikely(n > SA_MAX_SMALL_SIZE))
		return sa_malloc_large(n, 0, false);
	uint32_t cls = sa_size_to_class(n);
	struct sa_bin *b = &sa_tc.bins[cls];
	void **o = b->head;
	if (unlikely(!o))
		return sa_malloc_slow(cls);
	b->head = sa_link_next(o);
	b->count--;
	b->nmalloc++;
	o[1] = NULL;
	return o;
}

static inline void sa_free_inline(void *p)
{
	if (unlikely(!p))
		return;
	uintptr_t a = (uintptr_t)p;
	struct sa_arena *ar = sa_arena_of(a);
	if (unlikely(!ar)) {
		sa_free_nonsmall(p, NULL);
		return;
	}
	size_t pg = (a >> SA_PAGE_SHIFT) & (SA_ARENA_PAGES - 1);
	uint32_t info = ar->psmall[pg];
	uint32_t cls = SA_PSMALL_CLASS(info);
	if (unlikely(cls == 0)) {
		sa_free_nonsmall(p, ar->spans[pg]);
		return;
	}
	/* offset in bytes from the span's first byte (a span is a few pages:
	 * 32 bits); objects sit at multiples of the class size below the
	 * class's limit */
	uint32_t off = (uint32_t)(a & (SA_PAGE_SIZE - 1)) + ((uint32_t)SA_PSMALL_INDEX(info) << SA_PAGE_SHIFT);
	const struct sa_class_check *cc = &sa_class_check_table[cls];
	uint32_t q = off * cc->inv; /* off / size if size divides off (see the table) */
	if (unlikely(((q >> cc->shift) | (q << (32 - cc->shift))) >= cc->nobjs ||
		     sa_link_is_free(p))) {
		sa_free_reject(p);
		return;
	}
	struct sa_bin *b = &sa_tc.bins[cls];
	if (unlikely(b->count >= b->max)) {
		sa_free_slow(p, cls);
		return;
	}
	sa_link_set(p, b->head);
	b->head = p;
	b->count++;
}

#endif
