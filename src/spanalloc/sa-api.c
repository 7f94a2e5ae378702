/* SPDX-License-Identifier: MIT */
/* The sa_* API (static and shared library) and the implementation of the
 * C allocation functions shared with the malloc overrides in sa-preload.c. */
#include "spanalloc.h"
#include "sa-os.h"
#include "sa-options.h"
#include "sa-span.h"
#include "sa-sizeclass.h"
#include "sa-heap.h"
#include "sa-central.h"
#include "sa-tcache-state.h"
#include "sa-stats.h"
#include "sa-publish.h"
#include "sa-init.h"
#include "sa-large.h"
#include "sa-tcache.h"
#include "sa-api.h"
#include <errno.h>
#include <string.h>

static inline bool sa_is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

/* Usable bytes of a live object; aborts with "<what>: invalid pointer". */
static size_t sa_usable_checked(const void *p, const char *what)
{
	uintptr_t a = (uintptr_t)p;
	struct sa_span *s = sa_span_of(a);
	if (!s)
		sa_die(what, p);
	if (s->cls) {
		uint64_t off = a - s->base;
		if (off >= s->limit || ((off * s->div_mul) >> 32) * s->elem_size != off)
			sa_die(what, p);
		return s->elem_size;
	}
	if (s->state != SA_SPAN_LARGE || a != s->base)
		sa_die(what, p);
	return (size_t)s->npages << SA_PAGE_SHIFT;
}

size_t sa_usable_size_impl(const void *p)
{
	if (!p)
		return 0;
	return sa_usable_checked(p, "malloc_usable_size(): invalid pointer");
}

void *sa_calloc_impl(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (total > SA_MAX_SMALL_SIZE)
		return sa_malloc_large(total, 0, true);
	void *p = sa_malloc_inline(total);
	if (p)
		memset(p, 0, total);
	return p;
}

/* realloc(p, 0) frees p and returns NULL (glibc behaviour). */
void *sa_realloc_impl(void *p, size_t size)
{
	if (!p)
		return sa_malloc_inline(size);
	if (size == 0) {
		sa_free_inline(p);
		return NULL;
	}
	size_t old = sa_usable_checked(p, "realloc(): invalid pointer");
	if (size <= SA_MAX_SMALL_SIZE) {
		if (old <= SA_MAX_SMALL_SIZE && sa_class_size_table[sa_size_to_class(size)] == old)
			return p;
	} else if (size <= old && size > old / 2) {
		return p; /* large: keep unless it shrinks below half */
	} else if (old > SA_MAX_SMALL_SIZE && size <= SA_MAX_REQUEST) {
		/* large to large: grow into the free pages that follow, or give
		 * the tail back, without a copy */
		size_t npages = (size + SA_PAGE_SIZE - 1) >> SA_PAGE_SHIFT;
		if (sa_heap_resize(sa_span_of((uintptr_t)p), npages)) {
			sa_publish_maybe();
			return p;
		}
	}
	void *q = sa_malloc_inline(size);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	sa_free_inline(p);
	return q;
}

/* Any power-of-two alignment. Small requests use a size class whose size is
 * a multiple of the alignment (objects sit at multiples of the class size
 * from an 8 KiB-aligned span start); otherwise a large span aligned by the
 * page heap (over-allocated, then trimmed back). */
void *sa_memalign_impl(size_t align, size_t size)
{
	if (align <= 16)
		return sa_malloc_inline(size);
	if (!sa_is_pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	if (size > SA_MAX_REQUEST || align > SA_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	if (size == 0)
		size = 1;
	if (size <= SA_MAX_SMALL_SIZE && align <= SA_PAGE_SIZE) {
		for (uint32_t c = sa_size_to_class(size); c < SA_NUM_CLASSES; c++) {
			uint32_t cs = sa_class_size_table[c];
			if (cs > 2 * size && cs > size + align)
				break;
			if (cs % align == 0)
				return sa_malloc_inline(cs);
		}
	}
	return sa_malloc_large(size, align, false);
}

SA_EXPORT void *sa_malloc(size_t size)
{
	return sa_malloc_inline(size);
}

SA_EXPORT void sa_free(void *p)
{
	sa_free_inline(p);
}

SA_EXPORT void *sa_calloc(size_t n, size_t size)
{
	return sa_calloc_impl(n, size);
}

SA_EXPORT void *sa_realloc(void *p, size_t size)
{
	return sa_realloc_impl(p, size);
}

SA_EXPORT void *sa_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return sa_realloc_impl(p, total);
}

SA_EXPORT int sa_posix_memalign(void **out, size_t alignment, size_t size)
{
	if (!sa_is_pow2(alignment) || alignment < sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = sa_memalign_impl(alignment, size);
	if (!p) {
		int e = errno;
		errno = saved;
		return e ? e : ENOMEM;
	}
	*out = p;
	return 0;
}

SA_EXPORT void *sa_aligned_alloc(size_t alignment, size_t size)
{
	return sa_memalign_impl(alignment, size);
}

SA_EXPORT void *sa_memalign(size_t alignment, size_t size)
{
	/* glibc rounds a non-power-of-two alignment up */
	if (alignment > 16 && !sa_is_pow2(alignment)) {
		if (alignment > SA_MAX_REQUEST) {
			errno = ENOMEM;
			return NULL;
		}
		alignment = (size_t)1 << (64 - __builtin_clzll(alignment));
	}
	return sa_memalign_impl(alignment, size);
}

SA_EXPORT size_t sa_usable_size(const void *p)
{
	return sa_usable_size_impl(p);
}

SA_EXPORT size_t sa_good_size(size_t size)
{
	if (size <= SA_MAX_SMALL_SIZE)
		return sa_class_size_table[sa_size_to_class(size)];
	return (size + SA_PAGE_SIZE - 1) & ~(size_t)(SA_PAGE_SIZE - 1);
}

SA_EXPORT void sa_thread_flush(void)
{
	if (sa_tc.state == SA_TC_LIVE)
		sa_tc_flush_all(&sa_tc);
}

SA_EXPORT size_t sa_scavenge(void)
{
	sa_ensure_init();
	sa_thread_flush();
	sa_central_release_empty();
	size_t r = sa_heap_scavenge(true);
	struct sa_stats st;
	sa_stats_collect(&st);
	sa_publish(&st);
	return r;
}

SA_EXPORT size_t sa_release_all(void)
{
	sa_ensure_init();
	sa_thread_flush();
	sa_central_release_empty();
	size_t r = sa_heap_release_all_dontneed();
	struct sa_stats st;
	sa_stats_collect(&st);
	sa_publish(&st);
	return r;
}

SA_EXPORT int sa_set_release_mode(enum sa_release_mode mode)
{
	if (mode != SA_RELEASE_FREE && mode != SA_RELEASE_DONTNEED)
		return EINVAL;
	sa_ensure_init();
	__atomic_store_n(&sa_release_mode_cur, (int)mode, __ATOMIC_RELAXED);
	return 0;
}

SA_EXPORT void sa_set_scavenge_delay(uint64_t ms)
{
	sa_ensure_init();
	__atomic_store_n(&sa_scavenge_delay_ms, ms, __ATOMIC_RELAXED);
}

SA_EXPORT int sa_arenas(struct sa_arena_table *out)
{
	if (!out)
		return EINVAL;
	sa_ensure_init();
	sa_heap_arenas(out);
	return 0;
}

SA_EXPORT enum sa_release_mode sa_get_release_mode(void)
{
	sa_ensure_init();
	return (enum sa_release_mode)__atomic_load_n(&sa_release_mode_cur, __ATOMIC_RELAXED);
}

SA_EXPORT int sa_stats(struct sa_stats *out)
{
	if (!out)
		return EINVAL;
	sa_ensure_init();
	sa_stats_collect(out);
	sa_publish(out);
	return 0;
}

SA_EXPORT int sa_spans(struct sa_span_table *out)
{
	if (!out)
		return EINVAL;
	sa_ensure_init();
	sa_spans_collect(out);
	return 0;
}
