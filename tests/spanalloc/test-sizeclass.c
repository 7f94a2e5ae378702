/* SPDX-License-Identifier: MIT */
/* Size-class invariants: every request maps to the smallest class that
 * holds it, internal waste is bounded (< 16 bytes up to 128 B, < 12.5% of the
 * class size above), span tail waste <= 12.5%, every class is 16-byte
 * aligned, and the free path's reciprocal division recognises exactly the
 * object starts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "sa-internal.h"

static void test_classes_sorted_aligned(void **state)
{
	(void)state;
	assert_true(SA_NUM_CLASSES - 1 <= SA_STATS_MAX_CLASSES);
	assert_int_equal(sa_class_size_table[SA_NUM_CLASSES - 1], SA_MAX_SMALL_SIZE);
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		assert_int_equal(sa_class_size_table[c] % 16, 0);
		if (c > 1)
			assert_true(sa_class_size_table[c] > sa_class_size_table[c - 1]);
		if (sa_class_size_table[c] > 1024)
			assert_int_equal(sa_class_size_table[c] % 128, 0);
	}
}

static void test_lookup_smallest_and_waste(void **state)
{
	(void)state;
	for (size_t n = 0; n <= SA_MAX_SMALL_SIZE; n++) {
		uint32_t c = sa_size_to_class(n);
		assert_true(c >= 1 && c < SA_NUM_CLASSES);
		uint32_t sz = sa_class_size_table[c];
		size_t want = n ? n : 1;
		assert_true(sz >= want);
		if (c > 1)
			assert_true(sa_class_size_table[c - 1] < want); /* smallest */
		size_t waste = sz - want;
		if (sz > 128) /* bounded internal waste: < 1/8 of the class size */
			assert_true(waste * 8 < sz);
		else
			assert_true(waste < 16);
		assert_int_equal(sa_good_size(n), sz);
	}
}

static void test_span_tail_waste(void **state)
{
	(void)state;
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		size_t span = (size_t)sa_class_pages_table[c] * SA_PAGE_SIZE;
		uint32_t objs = sa_class_objs(c);
		assert_true(objs >= 1);
		assert_true(objs * (size_t)sa_class_size_table[c] <= span);
		assert_true((span - objs * (size_t)sa_class_size_table[c]) * 8 <= span);
		assert_true(sa_class_batch(c) >= 2);
		/* span descriptors keep object counts and span bytes in 16/32 bits */
		assert_true(objs <= UINT16_MAX);
		assert_true(objs * (uint64_t)sa_class_size_table[c] <= UINT32_MAX);
	}
}

static void test_div_magic(void **state)
{
	(void)state;
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		uint32_t sz = sa_class_size_table[c];
		uint32_t mul = sa_class_div_mul(sz);
		uint64_t limit = (uint64_t)sa_class_objs(c) * sz;
		for (uint64_t off = 0; off < limit; off++) {
			bool start = ((off * mul) >> 32) * sz == off;
			if (start != (off % sz == 0))
				fail_msg("class %u size %u offset %llu", c, sz, (unsigned long long)off);
		}
	}
}

/* The table free() checks pointers with agrees with the span layout. */
static void test_check_table(void **state)
{
	(void)state;
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		const struct sa_class_check *cc = &sa_class_check_table[c];
		const uint32_t size = sa_class_size_table[c];
		assert_int_equal(cc->nobjs, sa_class_objs(c));
		assert_true(cc->shift >= 1 && cc->shift < 32); /* the rotation's shifts are defined */
		assert_int_equal(size % (1u << cc->shift), 0);
		assert_int_equal((size >> cc->shift) % 2, 1);
		assert_int_equal((uint32_t)((size >> cc->shift) * cc->inv), 1); /* modulo 2^32 */
		/* every offset of the span (and one span past it): accepted exactly
		 * at the objects' starts */
		uint32_t span = (uint32_t)sa_class_pages_table[c] * SA_PAGE_SIZE;
		uint32_t accepted = 0;
		for (uint32_t off = 0; off < 2 * span; off++) {
			uint32_t q = off * cc->inv;
			bool ok = ((q >> cc->shift) | (q << (32 - cc->shift))) < cc->nobjs;
			bool want = off % size == 0 && off / size < sa_class_objs(c);
			if (ok != want)
				fail_msg("class %u size %u offset %llu: %d", c, size,
					 (unsigned long long)off, ok);
			accepted += ok;
		}
		assert_int_equal(accepted, sa_class_objs(c));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_sorted_aligned),
		cmocka_unit_test(test_lookup_smallest_and_waste),
		cmocka_unit_test(test_span_tail_waste),
		cmocka_unit_test(test_div_magic),
		cmocka_unit_test(test_check_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
