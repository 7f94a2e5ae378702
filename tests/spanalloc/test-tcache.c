/* SPDX-License-Identifier: MIT */
/* Thread caches: the per-thread byte cap (sa_tcache_cap_bytes, set from
 * SPANALLOC_TCACHE_BYTES) holds at every moment of a random workload over
 * every size class, cap 0 bypasses the caches, a class's limit starts small
 * and grows (slow start), and the statistics stay exact throughout. The
 * workload threads only count violations; the main thread asserts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "sa-internal.h"

enum {
	SLOTS = 3000,
	OPS = 200000,
	CHECK_EVERY = 97, /* ops between two looks at the cache */
};

struct cap_job {
	uint64_t seed;
	uint64_t cap;            /* bytes */
	uint64_t checks;         /* out: looks at the cache */
	uint64_t over_cap;       /* out: looks that found cached bytes > cap */
	uint64_t over_max;       /* out: a class holding more than its max */
	uint64_t limits_over;    /* out: sum of limits (max_bytes) > cap */
	uint64_t max_bytes_off;  /* out: max_bytes != sum of max * size */
	uint64_t peak_cached;    /* out: bytes */
	uint64_t corrupt;        /* out: an object's contents changed */
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Sizes over every small class, skewed to small ones; some large. */
static size_t job_size(uint64_t r)
{
	switch (r % 8) {
	case 0:
		return 1 + (r >> 8) % SA_MAX_SMALL_SIZE;
	case 1:
		return SA_MAX_SMALL_SIZE + 1 + (r >> 8) % 100000;
	default:
		return 1 + (r >> 8) % 1024;
	}
}

static void look(struct cap_job *j)
{
	uint64_t cached = 0, limits = 0;
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		const struct sa_bin *b = &sa_tc.bins[c];
		cached += (uint64_t)b->count * sa_class_size_table[c];
		limits += (uint64_t)b->max * sa_class_size_table[c];
		if (b->count > b->max)
			j->over_max++;
	}
	j->checks++;
	if (cached > j->cap)
		j->over_cap++;
	if (sa_tc.max_bytes > j->cap)
		j->limits_over++;
	if (sa_tc.max_bytes != limits)
		j->max_bytes_off++;
	if (cached > j->peak_cached)
		j->peak_cached = cached;
}

static void *cap_worker(void *arg)
{
	struct cap_job *j = arg;
	static __thread unsigned char *slot[SLOTS];
	static __thread size_t len[SLOTS];
	uint64_t rng = j->seed;
	for (uint64_t op = 0; op < OPS; op++) {
		uint64_t r = xorshift(&rng);
		size_t i = r % SLOTS;
		if (slot[i]) {
			/* (a 1-byte object holds only the second mark) */
			if ((len[i] > 1 && slot[i][0] != (unsigned char)i) ||
			    slot[i][len[i] - 1] != (unsigned char)(i >> 3))
				j->corrupt++;
			sa_free(slot[i]);
			slot[i] = NULL;
		}
		len[i] = job_size(xorshift(&rng));
		slot[i] = sa_malloc(len[i]);
		if (!slot[i]) {
			j->corrupt++;
			break;
		}
		slot[i][0] = (unsigned char)i;
		slot[i][len[i] - 1] = (unsigned char)(i >> 3);
		if (op % CHECK_EVERY == 0)
			look(j);
	}
	for (size_t i = 0; i < SLOTS; i++) {
		sa_free(slot[i]);
		slot[i] = NULL;
		if (i % CHECK_EVERY == 0)
			look(j);
	}
	look(j);
	return NULL;
}

static void run_cap(uint64_t cap, struct cap_job *j)
{
	uint64_t saved = sa_tcache_cap_bytes;
	struct sa_stats a, b;
	sa_thread_flush();
	assert_int_equal(sa_stats(&a), 0);
	memset(j, 0, sizeof(*j));
	j->seed = 0x9e3779b97f4a7c15ULL ^ cap;
	j->cap = cap;
	/* read by the worker's cache on every limit change: set before it starts */
	sa_tcache_cap_bytes = cap;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, cap_worker, j), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	sa_tcache_cap_bytes = saved;
	assert_true(j->checks > OPS / CHECK_EVERY);
	assert_int_equal(j->corrupt, 0);
	assert_int_equal(j->over_cap, 0);
	assert_int_equal(j->over_max, 0);
	assert_int_equal(j->limits_over, 0);
	assert_int_equal(j->max_bytes_off, 0);
	/* exact statistics: everything the worker allocated is freed, its
	 * cache went back to the central lists at exit */
	assert_int_equal(sa_stats(&b), 0);
	assert_int_equal(b.heap_objects, a.heap_objects);
	assert_int_equal(b.heap_alloc, a.heap_alloc);
	assert_int_equal(b.mallocs - a.mallocs, b.frees - a.frees);
	assert_true(b.mallocs - a.mallocs >= OPS);
	assert_int_equal(b.tcache_bytes, a.tcache_bytes);
}

static void test_cap_respected(void **state)
{
	(void)state;
	static const uint64_t caps[] = { 16 << 10, 64 << 10, 256 << 10 };
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct cap_job j;
		run_cap(caps[i], &j);
		/* the cache was used, up to (nearly) the cap */
		assert_true(j.peak_cached > 0);
		assert_true(j.peak_cached <= caps[i]);
	}
}

static void test_cap_zero_bypasses_cache(void **state)
{
	(void)state;
	struct cap_job j;
	run_cap(0, &j);
	assert_int_equal(j.peak_cached, 0);
}

struct start_job {
	uint32_t cls;
	uint32_t count_after_one, max_after_one;
	uint32_t count_after_many, max_after_many;
};

static void *start_worker(void *arg)
{
	struct start_job *j = arg;
	size_t size = sa_class_size_table[j->cls];
	void *p = sa_malloc(size);
	sa_free(p);
	j->count_after_one = sa_tc.bins[j->cls].count;
	j->max_after_one = sa_tc.bins[j->cls].max;
	enum { MANY = 1000 };
	static __thread void *v[MANY];
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < MANY; i++)
			v[i] = sa_malloc(size);
		for (int i = 0; i < MANY; i++)
			sa_free(v[i]);
	}
	j->count_after_many = sa_tc.bins[j->cls].count;
	j->max_after_many = sa_tc.bins[j->cls].max;
	return NULL;
}

static void test_slow_start(void **state)
{
	(void)state;
	struct start_job j = { .cls = sa_size_to_class(700) };
	uint64_t saved = sa_tcache_cap_bytes;
	sa_tcache_cap_bytes = SA_TCACHE_CAP_DEFAULT;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, start_worker, &j), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	sa_tcache_cap_bytes = saved;
	uint32_t batch = sa_class_batch(j.cls);
	/* one malloc/free in a new thread keeps one object, not a batch */
	assert_int_equal(j.max_after_one, 1);
	assert_int_equal(j.count_after_one, 1);
	/* heavy use grows the limit to two batches, no further */
	assert_int_equal(j.max_after_many, 2 * batch);
	assert_true(j.count_after_many <= j.max_after_many);
	assert_true(j.count_after_many >= 1);
}

/*
 * Objects of fresh spans come out in address order: each batch is linked in
 * the span's order and the next batch continues where it stopped, so the
 * only steps that are not "+ size" are the jumps to a new span. (A batch
 * pushed object by object came out descending: almost every step failed.)
 * First in the list: no span of this class exists yet in the process.
 */
struct order_job {
	uint32_t cls;
	uint32_t n;
	uint32_t not_next; /* out: steps other than + size */
};

static void *order_worker(void *arg)
{
	struct order_job *j = arg;
	size_t size = sa_class_size_table[j->cls];
	char **v = calloc(j->n, sizeof(*v));
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < j->n; i++)
		v[i] = sa_malloc(size);
	for (uint32_t i = 1; i < j->n; i++)
		j->not_next += v[i] != v[i - 1] + size;
	for (uint32_t i = 0; i < j->n; i++)
		sa_free(v[i]);
	free(v);
	return NULL;
}

static void test_fresh_spans_ascend(void **state)
{
	(void)state;
	struct order_job j = { .cls = sa_size_to_class(3000) };
	uint32_t per_span = sa_class_objs(j.cls);
	j.n = 4 * per_span;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, order_worker, &j), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(per_span >= 2);
	/* 4 spans: at most 4 jumps (the first object may start mid-way) */
	assert_true(j.not_next <= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_spans_ascend),
		cmocka_unit_test(test_cap_respected),
		cmocka_unit_test(test_cap_zero_bypasses_cache),
		cmocka_unit_test(test_slow_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
