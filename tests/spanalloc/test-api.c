/* SPDX-License-Identifier: MIT */
/* The allocation API: alignment of every entry point, realloc keeps
 * contents, calloc zeroes and rejects overflow, huge requests fail with
 * ENOMEM, double/invalid frees abort with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <spanalloc.h>
#include "sa-test-util.h"

static const size_t sizes[] = { 0, 1, 8, 15, 16, 17, 100, 255, 1000, 1024, 1025, 4000,
				8192, 9000, 32767, 32768, 32769, 65536, 100000, 1 << 20, 3 << 20 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static void check(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			fail_msg("byte %zu differs", i);
}

static void test_malloc_alignment(void **state)
{
	(void)state;
	for (size_t i = 0; i < NSIZES; i++) {
		unsigned char *p = sa_malloc(sizes[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_true(sa_usable_size(p) >= sizes[i]);
		fill(p, sizes[i], (unsigned)i);
		check(p, sizes[i], (unsigned)i);
		void *q = sa_calloc(1, sizes[i]);
		assert_int_equal((uintptr_t)q % 16, 0);
		void *r = sa_realloc(NULL, sizes[i]);
		assert_int_equal((uintptr_t)r % 16, 0);
		sa_free(p);
		sa_free(q);
		sa_free(r);
	}
}

static void test_memalign_alignment(void **state)
{
	(void)state;
	for (size_t al = sizeof(void *); al <= ((size_t)1 << 21); al *= 2) {
		for (size_t i = 0; i < NSIZES; i++) {
			void *p = NULL;
			assert_int_equal(sa_posix_memalign(&p, al, sizes[i]), 0);
			assert_int_equal((uintptr_t)p % al, 0);
			assert_true(sa_usable_size(p) >= sizes[i]);
			memset(p, 0xab, sizes[i]);
			void *q = sa_aligned_alloc(al, sizes[i]);
			assert_non_null(q);
			assert_int_equal((uintptr_t)q % al, 0);
			void *r = sa_memalign(al, sizes[i]);
			assert_non_null(r);
			assert_int_equal((uintptr_t)r % al, 0);
			memset(r, 0xcd, sizes[i]);
			sa_free(p);
			sa_free(q);
			sa_free(r);
		}
	}
	void *p = NULL;
	assert_int_equal(sa_posix_memalign(&p, 24, 10), EINVAL);
	assert_int_equal(sa_posix_memalign(&p, 4, 10), EINVAL);
	assert_null(p);
	/* memalign rounds a non-power-of-two alignment up (glibc) */
	void *q = sa_memalign(48, 100);
	assert_int_equal((uintptr_t)q % 64, 0);
	sa_free(q);
}

static void test_realloc_contents(void **state)
{
	(void)state;
	/* grow through every size, then shrink back, checking the prefix */
	size_t cur = 1;
	unsigned char *p = sa_malloc(cur);
	fill(p, cur, 3);
	for (size_t i = 0; i < NSIZES; i++) {
		size_t n = sizes[i] ? sizes[i] : 1;
		if (n <= cur)
			continue;
		p = sa_realloc(p, n);
		assert_non_null(p);
		check(p, cur, 3);
		fill(p, n, 3);
		cur = n;
	}
	for (size_t i = NSIZES; i-- > 0;) {
		size_t n = sizes[i];
		if (!n || n >= cur)
			continue;
		p = sa_realloc(p, n);
		assert_non_null(p);
		check(p, n, 3);
		cur = n;
	}
	sa_free(p);
	/* realloc(p, 0) frees and returns NULL */
	struct sa_stats a, b;
	void *x = sa_malloc(100);
	assert_int_equal(sa_stats(&a), 0);
	assert_null(sa_realloc(x, 0));
	assert_int_equal(sa_stats(&b), 0);
	assert_int_equal(a.heap_objects - b.heap_objects, 1);
	/* reallocarray overflow */
	void *y = sa_malloc(10);
	errno = 0;
	assert_null(sa_reallocarray(y, SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	sa_free(y);
}

static void test_calloc_zero(void **state)
{
	(void)state;
	for (size_t i = 0; i < NSIZES; i++) {
		size_t n = sizes[i];
		/* dirty memory, free it, calloc the same size: must read zero */
		unsigned char *d = sa_malloc(n);
		memset(d, 0x5a, n);
		sa_free(d);
		unsigned char *p = sa_calloc(1, n);
		assert_non_null(p);
		for (size_t j = 0; j < n; j++)
			if (p[j])
				fail_msg("calloc(%zu) byte %zu = %d", n, j, p[j]);
		sa_free(p);
	}
	errno = 0;
	assert_null(sa_calloc(SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(sa_calloc((size_t)1 << 33, (size_t)1 << 33));
	assert_int_equal(errno, ENOMEM);
}

static void test_huge(void **state)
{
	(void)state;
	const size_t huge[] = { SIZE_MAX, SIZE_MAX - 8192, (size_t)1 << 63, (size_t)1 << 50,
				(size_t)1 << 46, (size_t)1 << 45 };
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		errno = 0;
		assert_null(sa_malloc(huge[i]));
		assert_int_equal(errno, ENOMEM);
		errno = 0;
		assert_null(sa_memalign(1 << 16, huge[i]));
		assert_int_equal(errno, ENOMEM);
		void *p = sa_malloc(16);
		errno = 0;
		assert_null(sa_realloc(p, huge[i]));
		assert_int_equal(errno, ENOMEM);
		sa_free(p); /* still owned after a failed realloc */
	}
	/* the allocator still works */
	void *q = sa_malloc(1 << 20);
	assert_non_null(q);
	sa_free(q);
}

/* Runs `what` in a child and checks it died of SIGABRT with `msg` on stderr. */
static void expect_abort(void (*what)(void), const char *msg)
{
	char buf[512];
	int st = sa_test_run_child(what, buf, sizeof(buf));

	assert_true(st != -1);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	if (!strstr(buf, msg))
		fail_msg("stderr was '%s', expected '%s'", buf, msg);
	assert_non_null(strstr(buf, "spanalloc: "));
}

static void do_double_free_small(void)
{
	void *p = sa_malloc(40);
	sa_free(p);
	sa_free(p);
}
static void do_double_free_flushed(void)
{
	/* freed, then pushed out of the thread cache to the central list */
	void *p = sa_malloc(40);
	sa_free(p);
	sa_thread_flush();
	sa_free(p);
}
static void do_double_free_large(void)
{
	void *p = sa_malloc(1 << 20);
	sa_free(p);
	sa_free(p);
}
static void do_free_interior(void)
{
	char *p = sa_malloc(100);
	sa_free(p + 16);
}
static void do_free_foreign(void)
{
	int x;
	sa_free(&x);
}
static void do_free_large_interior(void)
{
	char *p = sa_malloc(100000);
	sa_free(p + 8192);
}

static void do_realloc_foreign(void)
{
	static char buf[64];
	(void)sa_realloc(buf, 100);
}

static void test_bad_frees_abort(void **state)
{
	(void)state;
	expect_abort(do_double_free_small, "double free detected");
	expect_abort(do_double_free_flushed, "double free detected");
	expect_abort(do_double_free_large, "double free");
	expect_abort(do_free_interior, "invalid pointer");
	expect_abort(do_free_foreign, "invalid pointer");
	expect_abort(do_free_large_interior, "invalid pointer");
	expect_abort(do_realloc_foreign, "realloc(): invalid pointer");
}

static void *errno_thread(void *arg)
{
	(void)arg;
	/* a new thread: registration, refill, maybe publication, all slow paths */
	errno = 4242;
	void *p = sa_malloc(100);
	void *q = sa_malloc(100000);
	int e = errno;
	sa_free(p);
	sa_free(q);
	return (void *)(intptr_t)e;
}

static void test_success_keeps_errno(void **state)
{
	(void)state;
	pthread_t t;
	void *ret;
	assert_int_equal(pthread_create(&t, NULL, errno_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((intptr_t)ret, 4242);
}

static void test_release_mode_api(void **state)
{
	(void)state;
	assert_int_equal(sa_set_release_mode(SA_RELEASE_DONTNEED), 0);
	assert_int_equal(sa_get_release_mode(), SA_RELEASE_DONTNEED);
	assert_int_equal(sa_set_release_mode((enum sa_release_mode)7), EINVAL);
	assert_int_equal(sa_get_release_mode(), SA_RELEASE_DONTNEED);
	assert_int_equal(sa_set_release_mode(SA_RELEASE_FREE), 0);
	assert_int_equal(sa_get_release_mode(), SA_RELEASE_FREE);
}

/* Resident pages of [p, p + bytes) (mincore). */
static size_t resident_pages(void *p, size_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
	size_t n = ((uintptr_t)p + bytes - a + (size_t)page - 1) / (size_t)page, r = 0;
	unsigned char vec[1024];
	assert_true(n <= sizeof(vec));
	assert_int_equal(mincore((void *)a, n * (size_t)page, vec), 0);
	for (size_t i = 0; i < n; i++)
		r += vec[i] & 1;
	return r;
}

/* sa_release_all(): every free page with MADV_DONTNEED, also the pages a
 * scavenge released with MADV_FREE (resident until memory pressure). */
static void test_release_all_redoes_madv_free(void **state)
{
	(void)state;
	const size_t big = (size_t)2 << 20; /* a large object: its own span */
	struct sa_stats before, freed, after;
	assert_int_equal(sa_set_release_mode(SA_RELEASE_FREE), 0);
	unsigned char *p = sa_malloc(big);
	assert_non_null(p);
	memset(p, 0x5a, big);
	sa_free(p);
	sa_scavenge();
	assert_int_equal(sa_stats(&before), 0);
	assert_true(before.heap_released_free >= big);
	/* MADV_FREE: the pages are still there */
	assert_true(resident_pages(p, big) > 0);
	size_t released = sa_release_all();
	assert_true(released >= big);
	assert_int_equal(sa_stats(&after), 0);
	assert_int_equal(after.heap_released_free, 0);
	assert_int_equal(after.heap_released_dontneed, before.heap_released_dontneed +
			 before.heap_released_free + (after.heap_released - before.heap_released));
	assert_int_equal(after.heap_released, after.heap_released_dontneed);
	assert_int_equal(resident_pages(p, big), 0);
	assert_int_equal(sa_get_release_mode(), SA_RELEASE_FREE); /* unchanged */
	/* a second time: nothing left to release */
	assert_int_equal(sa_release_all(), 0);
	assert_int_equal(sa_stats(&freed), 0);
	assert_int_equal(freed.heap_released, after.heap_released);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malloc_alignment),
		cmocka_unit_test(test_memalign_alignment),
		cmocka_unit_test(test_realloc_contents),
		cmocka_unit_test(test_calloc_zero),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_bad_frees_abort),
		cmocka_unit_test(test_release_mode_api),
		cmocka_unit_test(test_release_all_redoes_madv_free),
		cmocka_unit_test(test_success_keeps_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
