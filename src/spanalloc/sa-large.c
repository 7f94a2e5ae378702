/* SPDX-License-Identifier: MIT */
/*
 * Large objects (above SA_MAX_SMALL_SIZE): each is its own span of whole
 * pages, straight from the page heap; and the checks of a free that is not
 * of a small object.
 */
#include "sa-large.h"
#include "spanalloc-stats.h"
#include "sa-os.h"
#include "sa-span.h"
#include "sa-freelist.h"
#include "sa-heap.h"
#include "sa-publish.h"
#include "sa-init.h"
#include <errno.h>
#include <string.h>

void sa_free_reject(const void *p)
{
	struct sa_span *s = sa_span_of((uintptr_t)p);
	uint64_t off = (uintptr_t)p - s->base;
	if (off < s->limit && ((off * s->div_mul) >> 32) * s->elem_size == off && sa_link_is_free(p))
		sa_die("free(): double free detected", p);
	sa_die("free(): invalid pointer", p);
}

void sa_free_nonsmall(void *p, struct sa_span *s)
{
	if (!s)
		sa_die("free(): invalid pointer (not owned by spanalloc)", p);
	if (s->state == SA_SPAN_SMALL)
		sa_die("free(): invalid pointer (span being set up)", p);
	if (s->state != SA_SPAN_LARGE) {
		if (s->state == SA_SPAN_FREE && (uintptr_t)p >= s->base &&
		    (uintptr_t)p - s->base < ((uintptr_t)s->npages << SA_PAGE_SHIFT))
			sa_die("free(): double free detected (page already free)", p);
		sa_die("free(): invalid pointer", p);
	}
	if ((uintptr_t)p != s->base)
		sa_die("free(): invalid pointer (inside a large object)", p);
	sa_heap_free(s);
	sa_publish_maybe();
}

void *sa_malloc_large(size_t n, size_t align, bool zero)
{
	if (n > SA_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	sa_ensure_init();
	size_t npages = (n + SA_PAGE_SIZE - 1) >> SA_PAGE_SHIFT;
	if (npages == 0)
		npages = 1;
	size_t align_pages = align > SA_PAGE_SIZE ? align >> SA_PAGE_SHIFT : 0;
	struct sa_span *s = sa_heap_alloc(npages, align_pages, SA_SPAN_LARGE);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (zero && !s->zeroed)
		memset((void *)s->base, 0, n);
	sa_publish_maybe();
	return (void *)s->base;
}
