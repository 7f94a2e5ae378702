/* SPDX-License-Identifier: MIT */
/* Page heap: splitting a free run, coalescing a freed span with free
 * neighbours on both sides, best-fit choice, aligned spans, large realloc
 * in place (grow into free pages, shrink). Runs in its own
 * process so the heap starts empty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "sa-internal.h"

#define PG ((uintptr_t)SA_PAGE_SIZE)

static void test_split_and_coalesce(void **state)
{
	(void)state;
	struct sa_span *a = sa_heap_alloc(5, 0, SA_SPAN_LARGE);
	struct sa_span *b = sa_heap_alloc(7, 0, SA_SPAN_LARGE);
	struct sa_span *c = sa_heap_alloc(3, 0, SA_SPAN_LARGE);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(a->npages, 5);
	assert_int_equal(b->npages, 7);
	/* split: each comes from the front of the same fresh run */
	assert_true(b->base == a->base + 5 * PG);
	assert_true(c->base == b->base + 7 * PG);
	uintptr_t abase = a->base, bbase = b->base, cbase = c->base, base = 0;
	/* the rest of the run is free and starts right after c */
	size_t tail = sa_heap_debug_free_run(cbase + 3 * PG, &base);
	assert_true(tail > 0);
	assert_true(base == cbase + 3 * PG);
	assert_int_equal(sa_span_of(abase + 4 * PG), a);

	sa_heap_free(b); /* neighbours in use: no merge */
	assert_int_equal(sa_heap_debug_free_run(bbase, &base), 7);
	assert_true(base == bbase);
	sa_heap_free(a); /* merges forward with b's run */
	assert_int_equal(sa_heap_debug_free_run(bbase, &base), 12);
	assert_true(base == abase);
	sa_heap_free(c); /* merges backward with a+b and forward with the tail */
	assert_int_equal(sa_heap_debug_free_run(cbase, &base), 15 + tail);
	assert_true(base == abase);
}

static void test_best_fit(void **state)
{
	(void)state;
	struct sa_span *s[6];
	size_t len[6] = { 4, 1, 9, 1, 6, 1 };
	for (int i = 0; i < 6; i++) {
		s[i] = sa_heap_alloc(len[i], 0, SA_SPAN_LARGE);
		assert_non_null(s[i]);
	}
	uintptr_t r4 = s[0]->base, r9 = s[2]->base, r6 = s[4]->base;
	sa_heap_free(s[0]);
	sa_heap_free(s[2]);
	sa_heap_free(s[4]);
	/* 5 pages: the 6-page run fits best (not 9, not the big tail) */
	struct sa_span *x = sa_heap_alloc(5, 0, SA_SPAN_LARGE);
	assert_true(x->base == r6);
	/* 4 pages: the exact run */
	struct sa_span *y = sa_heap_alloc(4, 0, SA_SPAN_LARGE);
	assert_true(y->base == r4);
	/* 8 pages: the 9-page run, split, leaving 1 page free */
	struct sa_span *z = sa_heap_alloc(8, 0, SA_SPAN_LARGE);
	assert_true(z->base == r9);
	assert_int_equal(sa_heap_debug_free_run(r9 + 8 * PG, NULL), 1);
	/* the 1-page leftover of x's run (6 - 5) */
	assert_int_equal(sa_heap_debug_free_run(r6 + 5 * PG, NULL), 1);
	sa_heap_free(x);
	sa_heap_free(y);
	sa_heap_free(z);
	for (int i = 1; i < 6; i += 2)
		sa_heap_free(s[i]);
}

static void test_aligned_span(void **state)
{
	(void)state;
	struct sa_span *pad = sa_heap_alloc(1, 0, SA_SPAN_LARGE);
	for (size_t al = 2; al <= 256; al *= 2) {
		struct sa_span *s = sa_heap_alloc(3, al, SA_SPAN_LARGE);
		assert_non_null(s);
		assert_int_equal(s->base % (al * PG), 0);
		assert_int_equal(s->npages, 3);
		assert_int_equal(sa_span_of(s->base + 2 * PG), s);
		sa_heap_free(s);
	}
	sa_heap_free(pad);
	struct sa_heap_counters h;
	sa_heap_counters(&h);
	assert_int_equal(h.inuse_pages, 0);
	assert_int_equal(h.large_allocs, h.large_frees);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 13);
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 13))
			return 0;
	return 1;
}

/* Large realloc: in place when the following pages are free (grow) or
 * always (shrink, large to large), a move otherwise; contents kept and the
 * statistics exact in every case. */
static void test_realloc_in_place(void **state)
{
	(void)state;
	struct sa_stats a, b;
	assert_int_equal(sa_stats(&a), 0);
	const size_t n1 = 100000, n2 = 300000, n3 = 500000, n4 = 40000;
	unsigned char *p = sa_malloc(n1);
	assert_non_null(p);
	fill(p, n1, 1);
	uintptr_t end = (uintptr_t)p + ((n1 + PG - 1) & ~(PG - 1)), base = 0;
	size_t after = sa_heap_debug_free_run(end, &base);
	/* the test's premise: a fresh run follows p (the heap is ours alone) */
	assert_true(base == end && after * PG >= n2 - n1);
	unsigned char *q = sa_realloc(p, n2);
	assert_ptr_equal(q, p); /* grown in place */
	assert_true(same(q, n1, 1));
	assert_int_equal(sa_usable_size(q), (n2 + PG - 1) & ~(PG - 1));
	assert_int_equal(sa_span_of((uintptr_t)q + n2 - 1), sa_span_of((uintptr_t)q));
	assert_int_equal(sa_stats(&b), 0);
	assert_int_equal(b.heap_alloc - a.heap_alloc, (n2 + PG - 1) & ~(PG - 1));
	assert_int_equal(b.heap_objects - a.heap_objects, 1);
	fill(q, n2, 2);

	/* a neighbour right after q: growing must move */
	unsigned char *g = sa_malloc(n1);
	assert_true((uintptr_t)g == (uintptr_t)q + ((n2 + PG - 1) & ~(PG - 1)));
	unsigned char *r = sa_realloc(q, n3);
	assert_non_null(r);
	assert_ptr_not_equal(r, q);
	assert_true(same(r, n2, 2));

	/* shrink, large to large: the same pointer, the tail is a free run */
	unsigned char *t = sa_realloc(r, n4);
	assert_ptr_equal(t, r);
	assert_true(same(t, n4, 2));
	uintptr_t tail = (uintptr_t)t + ((n4 + PG - 1) & ~(PG - 1));
	assert_true(sa_heap_debug_free_run(tail, &base) > 0);
	assert_true(base == tail);
	assert_int_equal(sa_stats(&b), 0);
	assert_int_equal(b.heap_alloc - a.heap_alloc,
			 ((n4 + PG - 1) & ~(PG - 1)) + ((n1 + PG - 1) & ~(PG - 1)));
	assert_int_equal(b.heap_idle, b.heap_sys - b.heap_inuse);
	sa_free(t);
	sa_free(g);
	assert_int_equal(sa_stats(&b), 0);
	assert_int_equal(b.heap_alloc, a.heap_alloc);
	assert_int_equal(b.heap_objects, a.heap_objects);
	assert_int_equal(b.large_inuse, a.large_inuse);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_and_coalesce),
		cmocka_unit_test(test_best_fit),
		cmocka_unit_test(test_aligned_span),
		cmocka_unit_test(test_realloc_in_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
