/* SPDX-License-Identifier: MIT */
/* Statistics: exact balance after known allocations, scavenging in both
 * release modes checked against the kernel (smaps_rollup), the published
 * segment read back through /proc/<pid> (own process and a forked child)
 * and rejection of corrupted segment images. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <spanalloc.h>
#include "sa-internal.h" /* sa_maps_line_parse, sa_status_nspid */
#include "sa-test-util.h"

#define MiB ((size_t)1 << 20)

static void test_balance_exact(void **state)
{
	(void)state;
	enum { N = 5000 };
	static void *ptrs[N];
	static size_t sz[N];
	struct sa_stats a, b, c;
	assert_int_equal(sa_stats(&a), 0);
	uint64_t expect_alloc = 0;
	for (int i = 0; i < N; i++) {
		/* small sizes of every range, and some large objects */
		sz[i] = (i % 97 == 0) ? 40000 + (size_t)i * 13 : (size_t)(i * 37) % 32768 + 1;
		ptrs[i] = sa_malloc(sz[i]);
		assert_non_null(ptrs[i]);
		expect_alloc += sa_good_size(sz[i]);
	}
	assert_int_equal(sa_stats(&b), 0);
	assert_int_equal(b.heap_objects - a.heap_objects, N);
	assert_int_equal(b.heap_alloc - a.heap_alloc, expect_alloc);
	assert_int_equal(b.mallocs - a.mallocs, N);
	assert_int_equal(b.frees - a.frees, 0);
	int M = 0;
	for (int i = 0; i < N; i += 3, M++) {
		expect_alloc -= sa_good_size(sz[i]);
		sa_free(ptrs[i]);
		ptrs[i] = NULL;
	}
	assert_int_equal(sa_stats(&c), 0);
	assert_int_equal(c.heap_objects - a.heap_objects, N - M);
	assert_int_equal(c.heap_alloc - a.heap_alloc, expect_alloc);
	assert_int_equal(c.frees - a.frees, M);
	assert_int_equal(c.mallocs - a.mallocs, N);
	/* ladder invariants */
	assert_int_equal(c.heap_idle, c.heap_sys - c.heap_inuse);
	assert_true(c.heap_alloc <= c.heap_inuse);
	assert_true(c.heap_released <= c.heap_idle);
	assert_int_equal(c.heap_released, c.heap_released_free + c.heap_released_dontneed);
	assert_int_equal(c.sys, c.heap_sys + c.meta_sys);
	assert_int_equal(c.heap_objects, c.mallocs - c.frees);
	/* per-class rows add up to the totals */
	uint64_t objs = 0, bytes = 0;
	for (uint64_t i = 0; i < c.nclasses; i++) {
		const struct sa_class_stats *cs = &c.classes[i];
		objs += cs->objects_inuse;
		bytes += cs->objects_inuse * cs->size;
		assert_int_equal(cs->objects_inuse + cs->objects_free, cs->spans * cs->objects_per_span);
	}
	assert_int_equal(objs + (c.large_allocs - c.large_frees), c.heap_objects);
	assert_int_equal(bytes + c.large_inuse, c.heap_alloc);
	for (int i = 0; i < N; i++)
		sa_free(ptrs[i]);
	assert_int_equal(sa_stats(&c), 0);
	assert_int_equal(c.heap_objects, a.heap_objects);
	assert_int_equal(c.heap_alloc, a.heap_alloc);
}

/* Allocates and dirties `bytes`, frees them, scavenges in `mode`. Returns the
 * stats before (a: after free) and after (b) the scavenge, and the kernel's
 * Rss/LazyFree deltas. */
static void scavenge_round(enum sa_release_mode mode, size_t bytes, struct sa_stats *a,
			   struct sa_stats *b, int64_t *rss_drop, int64_t *lazy_rise)
{
	assert_int_equal(sa_set_release_mode(mode), 0);
	char *p = sa_malloc(bytes);
	assert_non_null(p);
	memset(p, 0x77, bytes);
	sa_free(p);
	assert_int_equal(sa_stats(a), 0);
	int64_t rss0 = sa_test_rollup("Rss"), lazy0 = sa_test_rollup("LazyFree");
	size_t rel = sa_scavenge();
	int64_t rss1 = sa_test_rollup("Rss"), lazy1 = sa_test_rollup("LazyFree");
	assert_int_equal(sa_stats(b), 0);
	assert_true(rel >= bytes);
	*rss_drop = rss0 - rss1;
	*lazy_rise = lazy1 - lazy0;
}

static void test_scavenge_dontneed(void **state)
{
	(void)state;
	struct sa_stats a, b;
	int64_t drop, rise;
	scavenge_round(SA_RELEASE_DONTNEED, 32 * MiB, &a, &b, &drop, &rise);
	/* moved from idle-unreleased to released (DONTNEED) */
	assert_true(b.heap_released_dontneed - a.heap_released_dontneed >= 32 * MiB);
	assert_int_equal(b.heap_released_free, a.heap_released_free);
	assert_int_equal(b.heap_released, b.heap_idle); /* everything idle is released */
	/* the kernel agrees: resident set dropped by (nearly) the freed size */
	assert_true(drop >= (int64_t)(30 * MiB));
}

static void test_scavenge_free_and_reuse(void **state)
{
	(void)state;
	struct sa_stats a, b, c;
	int64_t drop, rise;
	scavenge_round(SA_RELEASE_FREE, 32 * MiB, &a, &b, &drop, &rise);
	assert_true(b.heap_released_free - a.heap_released_free >= 32 * MiB);
	assert_int_equal(b.heap_released, b.heap_idle);
	/* MADV_FREE: still resident but lazily freeable */
	assert_true(rise >= (int64_t)(30 * MiB));
	assert_true(drop < (int64_t)(8 * MiB));
	/* reusing released pages moves them back to in-use */
	char *p = sa_malloc(32 * MiB);
	assert_non_null(p);
	assert_int_equal(sa_stats(&c), 0);
	assert_true(b.heap_released - c.heap_released >= 32 * MiB);
	assert_true(c.heap_inuse - b.heap_inuse >= 32 * MiB);
	assert_true(c.heap_released <= c.heap_idle);
	sa_free(p);
	assert_int_equal(sa_set_release_mode(SA_RELEASE_FREE), 0);
}

static void test_scavenger_delay(void **state)
{
	(void)state;
	/* delay from SPANALLOC_SCAVENGE_MS (set to 200 ms in main): a run idle
	 * longer than that is released at a later page-heap operation */
	struct sa_stats a, b;
	assert_int_equal(sa_stats(&a), 0);
	assert_int_equal(a.scavenge_delay_ms, 200);
	char *p = sa_malloc(4 * MiB);
	memset(p, 1, 4 * MiB);
	sa_free(p);
	assert_int_equal(sa_stats(&a), 0);
	usleep(700 * 1000);
	void *q = sa_malloc(200000); /* a page-heap operation */
	void *r = sa_malloc(300000);
	sa_free(q);
	sa_free(r);
	assert_int_equal(sa_stats(&b), 0);
	/* the later allocations may reuse up to 62 pages of the idle run */
	assert_true(b.heap_released >= a.heap_released + 3 * MiB);
}

static void test_segment_self(void **state)
{
	(void)state;
	void *keep = sa_malloc(12345);
	struct sa_stats s;
	assert_int_equal(sa_stats(&s), 0);
	static struct sa_stats_segment_copy copy;
	assert_int_equal(sa_stats_read_pid(getpid(), &copy), 0);
	assert_int_equal(copy.seg.hdr.pid, getpid());
	assert_memory_equal(&copy.seg.stats, &s, sizeof(s));
	assert_int_equal(sa_stats_segment_validate(&copy.seg, sizeof(copy.seg)), 0);
	sa_free(keep);
}

static void test_segment_other_process(void **state)
{
	(void)state;
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* child: its own heap state, published in its own segment */
		for (int i = 0; i < 777; i++)
			(void)sa_malloc(64);
		struct sa_stats s;
		sa_stats(&s);
		if (write(up[1], &s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(2);
		char c;
		if (read(down[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	static struct sa_stats child;
	size_t have = 0;
	while (have < sizeof(child)) {
		ssize_t r = read(up[0], (char *)&child + have, sizeof(child) - have);
		assert_true(r > 0);
		have += (size_t)r;
	}
	static struct sa_stats_segment_copy copy;
	assert_int_equal(sa_stats_read_pid(pid, &copy), 0);
	assert_int_equal(copy.seg.hdr.pid, pid);
	assert_memory_equal(&copy.seg.stats, &child, sizeof(child));
	struct sa_stats mine;
	assert_int_equal(sa_stats(&mine), 0);
	assert_int_equal(child.heap_objects - mine.heap_objects, 777);
	assert_int_equal(write(down[1], "x", 1), 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* no such process / no segment */
	assert_int_equal(sa_stats_read_pid(pid, &copy), ENOENT);
	assert_int_equal(sa_stats_read_pid(0, &copy), EINVAL);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void test_segment_corrupt(void **state)
{
	(void)state;
	struct sa_stats s;
	assert_int_equal(sa_stats(&s), 0);
	static struct sa_stats_segment_copy good, bad;
	assert_int_equal(sa_stats_read_pid(getpid(), &good), 0);
	size_t len = sizeof(good.seg);
#define CORRUPT(stmt, want) do { bad = good; stmt; \
		assert_int_equal(sa_stats_segment_validate(&bad.seg, len), want); } while (0)
	CORRUPT((void)0, 0);
	CORRUPT(bad.seg.hdr.magic ^= 1, EPROTO);
	CORRUPT(bad.seg.hdr.version = 99, EPROTO);
	CORRUPT(bad.seg.hdr.header_size = 8, EINVAL);
	CORRUPT(bad.seg.hdr.total_size = 0xffffffffu, EINVAL);
	CORRUPT(bad.seg.hdr.total_size = 16, EINVAL);
	CORRUPT(bad.seg.hdr.stats_offset = 0xfffffff0u, EINVAL);
	CORRUPT(bad.seg.hdr.stats_size = 1, EINVAL);
	CORRUPT(bad.seg.hdr.classes_offset = 0xffffff00u, EINVAL);
	CORRUPT(bad.seg.hdr.class_entry_size = 4096, EINVAL);
	CORRUPT(bad.seg.hdr.max_classes = 100000, EINVAL);
	CORRUPT(bad.seg.stats.nclasses = SA_STATS_MAX_CLASSES + 1, EINVAL);
	CORRUPT(bad.seg.hdr.seq |= 1, EAGAIN);
	CORRUPT(bad.seg.hdr.spans_offset = 0xfffff000u, EINVAL);
	CORRUPT(bad.seg.hdr.span_entry_size = 1, EINVAL);
	CORRUPT(bad.seg.hdr.max_spans = 1u << 30, EINVAL);
	CORRUPT(bad.seg.spans.nspans = SA_STATS_MAX_SPANS + 1, EINVAL);
	CORRUPT(bad.seg.spans.spans_total = 0; bad.seg.spans.nspans = 1, EINVAL);
	/* truncated images */
	assert_int_equal(sa_stats_segment_validate(&good.seg, sizeof(good.seg) - 1), EINVAL);
	assert_int_equal(sa_stats_segment_validate(&good.seg, 4), EINVAL);
	assert_int_equal(sa_stats_segment_validate(NULL, 0), EINVAL);
	/* random garbage never crashes and is never accepted */
	srand(1);
	for (int i = 0; i < 2000; i++) {
		bad = good;
		unsigned char *b = (unsigned char *)&bad.seg.hdr;
		b[rand() % (int)sizeof(bad.seg.hdr)] ^= (unsigned char)(1 + rand() % 255);
		int e = sa_stats_segment_validate(&bad.seg, len);
		/* only fields the validator does not constrain may change silently */
		if (e == 0)
			assert_true(bad.seg.hdr.pid != good.seg.hdr.pid ||
				    bad.seg.hdr.seq != good.seg.hdr.seq ||
				    bad.seg.hdr.publications != good.seg.hdr.publications ||
				    bad.seg.hdr.publish_time_ns != good.seg.hdr.publish_time_ns ||
				    bad.seg.hdr.tables_time_ns != good.seg.hdr.tables_time_ns ||
				    bad.seg.hdr.verified_time_ns != good.seg.hdr.verified_time_ns);
	}
}

/* What the last hostile_child_check read. */
static struct sa_stats_segment_copy hostile_copy;

/* A process whose "spanalloc-stats" memfd holds garbage (hostile or
 * corrupted): the reader must refuse it with an errno, never crash. With
 * @own_pid the child writes its own pid into the copied header (a faithful
 * segment of its own); without, the header names the parent. */
static void hostile_child_check_pid(const void *content, size_t len, size_t map_len, int own_pid,
				    int want)
{
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the fork handler dropped the inherited segment; make a fake one */
		int fd = memfd_create(SA_STATS_MEMFD_NAME, 0);
		if (fd < 0 || ftruncate(fd, (off_t)map_len) != 0)
			_exit(2);
		void *m = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(3);
		memcpy(m, content, len < map_len ? len : map_len);
		if (own_pid && map_len >= sizeof(struct sa_stats_header))
			((struct sa_stats_header *)m)->pid = (uint32_t)getpid();
		char c = 'r';
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(4);
		_exit(0);
	}
	char c;
	assert_int_equal(read(up[0], &c, 1), 1);
	int got = sa_stats_read_pid(pid, &hostile_copy);
	/* release the child before any assertion: a failure must not leave it */
	assert_int_equal(write(down[1], "x", 1), 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(got, want);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void hostile_child_check(const void *content, size_t len, size_t map_len, int want)
{
	hostile_child_check_pid(content, len, map_len, 1, want);
}

static void test_segment_hostile_process(void **state)
{
	(void)state;
	struct sa_stats s;
	assert_int_equal(sa_stats(&s), 0);
	static struct sa_stats_segment_copy good, bad;
	assert_int_equal(sa_stats_read_pid(getpid(), &good), 0);
	/* a faithful copy in another process is accepted */
	hostile_child_check(&good.seg, sizeof(good.seg), sizeof(good.seg), 0);
	/* a copy of another process's segment (here the parent's) is not the
	 * child's statistics */
	hostile_child_check_pid(&good.seg, sizeof(good.seg), sizeof(good.seg), 0, EINVAL);
	/* garbage */
	static unsigned char junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	hostile_child_check(junk, sizeof(junk), sizeof(junk), EPROTO);
	/* right magic, lying sizes */
	bad = good;
	bad.seg.hdr.total_size = 1u << 30;
	hostile_child_check(&bad.seg, sizeof(bad.seg), sizeof(bad.seg), EINVAL);
	bad = good;
	bad.seg.stats.nclasses = 1u << 20;
	hostile_child_check(&bad.seg, sizeof(bad.seg), sizeof(bad.seg), EINVAL);
	/* truncated: the mapping is shorter than the segment it claims */
	hostile_child_check(&good.seg, 4096, 4096, EINVAL);
	/* a writer stuck mid-update (odd sequence): bounded retries, EAGAIN */
	bad = good;
	bad.seg.hdr.seq = 1;
	hostile_child_check(&bad.seg, sizeof(bad.seg), sizeof(bad.seg), EAGAIN);
}

/* A version 1 segment (as published by spanalloc 0.1) is still read: built
 * here by hand in the frozen v1 layout from a current segment. */
static void test_segment_version1(void **state)
{
	(void)state;
	struct sa_stats s;
	assert_int_equal(sa_stats(&s), 0);
	static struct sa_stats_segment_copy good;
	assert_int_equal(sa_stats_read_pid(getpid(), &good), 0);
	assert_int_equal(good.source_version, 2);
	const size_t nfields = SA_STATS_V1_NFIELDS * sizeof(uint64_t);
	const size_t classes = SA_STATS_MAX_CLASSES * sizeof(struct sa_class_stats);
	const size_t v1_spans = SA_STATS_V1_HEADER_SIZE + nfields + classes;
	const size_t v1_total = v1_spans + sizeof(struct sa_span_table);
	static unsigned char v1[SA_STATS_V1_HEADER_SIZE + 8 * 64 + 96 * 64 + sizeof(struct sa_span_table)];
	assert_true(v1_total <= sizeof(v1));
	memset(v1, 0, sizeof(v1));
	struct sa_stats_header h = good.seg.hdr;
	h.version = 1;
	h.header_size = SA_STATS_V1_HEADER_SIZE;
	h.total_size = (uint32_t)v1_total;
	h.stats_offset = SA_STATS_V1_HEADER_SIZE;
	h.stats_size = (uint32_t)(nfields + classes);
	h.classes_offset = (uint32_t)(SA_STATS_V1_HEADER_SIZE + nfields);
	h.spans_offset = (uint32_t)v1_spans;
	memcpy(v1, &h, SA_STATS_V1_HEADER_SIZE);
	memcpy(v1 + SA_STATS_V1_HEADER_SIZE, &good.seg.stats, nfields);
	memcpy(v1 + SA_STATS_V1_HEADER_SIZE + nfields, good.seg.stats.classes, classes);
	memcpy(v1 + v1_spans, &good.seg.spans, sizeof(struct sa_span_table));
	assert_int_equal(sa_stats_segment_validate(v1, v1_total), 0);
	assert_int_equal(sa_stats_segment_validate(v1, v1_total - 1), EINVAL);
	hostile_child_check(v1, v1_total, v1_total, 0);
	const struct sa_stats_segment *c = &hostile_copy.seg;
	assert_int_equal(hostile_copy.source_version, 1);
	assert_int_equal(c->hdr.version, SA_STATS_VERSION);
	assert_memory_equal(&c->stats, &good.seg.stats, nfields);     /* v1 fields */
	assert_int_equal(c->stats.total_alloc, 0);                     /* v2 fields: 0 */
	assert_int_equal(c->stats.arena_reserved, 0);
	assert_memory_equal(c->stats.classes, good.seg.stats.classes, classes);
	assert_memory_equal(&c->spans, &good.seg.spans, sizeof(c->spans));
	assert_int_equal(c->arenas.narenas, 0);
	assert_int_equal(sa_stats_segment_validate(c, sizeof(*c)), 0);
}

/* The arena table lists the reservations (each a mapping of the process),
 * and the page-state map adds up to the ladder, page by page. */
static void test_arena_table(void **state)
{
	(void)state;
	char *big = sa_malloc(3 * MiB);
	memset(big, 1, 3 * MiB);
	void *small = sa_malloc(100);
	sa_free(sa_malloc(5 * MiB)); /* an idle run */
	struct sa_stats s;
	static struct sa_stats_segment_copy copy;
	/* the background thread may publish a ladder alone (its scavenger
	 * released a run) between sa_stats() and the read: take a copy whose
	 * tables came with its ladder */
	for (int tries = 0;; tries++) {
		assert_true(tries < 100);
		assert_int_equal(sa_stats(&s), 0);
		assert_int_equal(sa_stats_read_pid(getpid(), &copy), 0);
		if (copy.seg.hdr.tables_time_ns == copy.seg.hdr.publish_time_ns)
			break;
	}
	const struct sa_arena_table *a = &copy.seg.arenas;
	const struct sa_stats *ps = &copy.seg.stats;
	assert_int_equal(a->narenas, ps->arenas);
	assert_int_equal(a->npages, a->pages_total);
	uint64_t reserved = 0, heap = 0;
	for (uint64_t k = 0; k < a->narenas; k++) {
		reserved += a->arenas[k].length;
		heap += a->arenas[k].heap_bytes;
		/* each reservation lies inside one line of /proc/self/maps */
		FILE *f = fopen("/proc/self/maps", "r");
		assert_non_null(f);
		char line[512];
		int inside = 0;
		while (fgets(line, sizeof(line), f)) {
			unsigned long lo, hi;
			if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= a->arenas[k].start &&
			    a->arenas[k].start < hi)
				inside = 1;
		}
		fclose(f);
		assert_true(inside);
	}
	assert_int_equal(reserved, ps->arena_reserved);
	assert_int_equal(heap, ps->heap_sys);
	uint64_t n[6] = { 0 };
	for (uint64_t i = 0; i < a->npages; i++)
		n[sa_page_state_at(a, i)]++;
	const uint64_t P = SA_PAGE_SIZE;
	assert_int_equal((n[SA_PAGE_SMALL] + n[SA_PAGE_LARGE]) * P, ps->heap_inuse);
	assert_int_equal(n[SA_PAGE_LARGE] * P, ps->large_inuse);
	assert_int_equal((n[SA_PAGE_IDLE] + n[SA_PAGE_RELEASED_FREE] + n[SA_PAGE_RELEASED_DONTNEED]) * P,
			 ps->heap_idle);
	assert_int_equal(n[SA_PAGE_RELEASED_FREE] * P, ps->heap_released_free);
	assert_int_equal(n[SA_PAGE_RELEASED_DONTNEED] * P, ps->heap_released_dontneed);
	assert_int_equal(n[SA_PAGE_UNUSED] * P, ps->arena_reserved - ps->heap_sys);
	/* the large object's pages are LARGE */
	uint64_t first = 0;
	for (uint64_t k = 0; k < a->narenas; k++)
		if ((uintptr_t)big >= a->arenas[k].start &&
		    (uintptr_t)big < a->arenas[k].start + a->arenas[k].length)
			first = a->arenas[k].first_page + ((uintptr_t)big - a->arenas[k].start) / P;
	for (uint64_t i = 0; i < 3 * MiB / P; i++)
		assert_int_equal(sa_page_state_at(a, first + i), SA_PAGE_LARGE);
	/* v2 ladder identities */
	assert_int_equal(ps->heap_unused, ps->heap_inuse - ps->heap_alloc);
	assert_int_equal(ps->heap_unreleased, ps->heap_idle - ps->heap_released);
	assert_true(ps->total_alloc >= ps->heap_alloc);
	sa_free(big);
	sa_free(small);
}

/* The segment is found by its exact name: a file elsewhere whose path ends
 * in the memfd's name (here on /dev/shm, tmpfs like a memfd) is not it,
 * even holding a faithful segment. */
static void test_segment_name_exact(void **state)
{
	(void)state;
	struct sa_stats s;
	assert_int_equal(sa_stats(&s), 0);
	static struct sa_stats_segment_copy good;
	assert_int_equal(sa_stats_read_pid(getpid(), &good), 0);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/sa-test-%d", (int)getpid());
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "/dev/shm/sa-test-%d/memfd:" SA_STATS_MEMFD_NAME,
		 (int)getpid());
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || ftruncate(fd, sizeof(good.seg)) != 0)
			_exit(2);
		struct sa_stats_segment *m = mmap(NULL, sizeof(good.seg), PROT_READ | PROT_WRITE,
						  MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(3);
		memcpy(m, &good.seg, sizeof(good.seg));
		m->hdr.pid = (uint32_t)getpid();
		char c = 'r';
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(4);
		_exit(0);
	}
	char c;
	assert_int_equal(read(up[0], &c, 1), 1);
	static struct sa_stats_segment_copy copy;
	int got = sa_stats_read_pid(pid, &copy);
	assert_int_equal(write(down[1], "x", 1), 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(got, ENOENT);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void test_maps_line_parse(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		bool ok;
	} cases[] = {
		{ "7f0000000000-7f0000100000 rw-s 00000000 00:01 1234                       "
		  "/memfd:spanalloc-stats (deleted)", true },
		{ "7f0000000000-7f0000100000 rw-s 00000000 00:01 1234 /memfd:spanalloc-stats", true },
		{ "7f0000000000-7f0000100000 rw-s 00000000 00:01 1234 "
		  "/dev/shm/memfd:spanalloc-stats", false },
		{ "7f0000000000-7f0000100000 rw-s 00000000 00:01 1234 "
		  "/memfd:spanalloc-stats-x (deleted)", false },
		{ "7f0000000000-7f0000100000 rw-s 00000000 00:01 1234 "
		  "/memfd:spanalloc-stats (deleted) (deleted)", false },
		{ "7f0000000000-7f0000100000 r--s 00000000 00:01 1234 /memfd:spanalloc-stats", false },
		{ "7f0000000000-7f0000100000 rw-p 00000000 00:01 1234 /memfd:spanalloc-stats", false },
		{ "7f0000000000-7f0000100000 rw-s 00001000 00:01 1234 /memfd:spanalloc-stats", false },
		{ "7f0000100000-7f0000000000 rw-s 00000000 00:01 1234 /memfd:spanalloc-stats", false },
		{ "7f0000000000-7f0000100000 rw-s 00000000 00:01", false },
		{ "", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sa_maps_segment seg;
		const char *l = cases[i].line;
		bool ok = sa_maps_line_parse(l, l + strlen(l), &seg);
		if (ok != cases[i].ok)
			fail_msg("%s: %d", l, ok);
		if (ok)
			assert_true(seg.start == 0x7f0000000000ull && seg.stop == 0x7f0000100000ull &&
				    seg.dev_major == 0 && seg.dev_minor == 1 && seg.inode == 1234);
	}
	uint64_t nspid = 0;
	static const char status[] = "Name:\tx\nNSpid:\t4242\t17\nNSsid:\t1\n";
	assert_int_equal(sa_status_nspid(status, strlen(status), &nspid), 0);
	assert_int_equal(nspid, 17);
	assert_int_equal(sa_status_nspid("Name:\tx\n", 8, &nspid), ENOENT);
	assert_int_equal(sa_status_nspid("x\nNSpid:\t12", 12, &nspid), EINVAL);
	assert_int_equal(sa_status_nspid("x\nNSpid:\tab\n", 13, &nspid), EINVAL);
}

static void test_span_table(void **state)
{
	(void)state;
	char *big = sa_malloc(300000);   /* a large object: its own span */
	void *small = sa_malloc(700);    /* lives in a small-object span */
	assert_non_null(big);
	assert_non_null(small);
	struct sa_stats s;
	assert_int_equal(sa_stats(&s), 0); /* publishes stats and span table */
	static struct sa_span_table t;
	assert_int_equal(sa_spans(&t), 0);
	assert_true(t.nspans > 0 && t.nspans <= t.spans_total);
	int found_big = 0, found_small = 0;
	uint64_t small_spans = 0, inuse_pages = 0, free_pages = 0, released = 0;
	for (uint64_t i = 0; i < t.nspans; i++) {
		const struct sa_span_stats *r = &t.spans[i];
		if (r->state == 3 && r->base == (uintptr_t)big) {
			found_big = 1;
			assert_int_equal(r->pages, (300000 + SA_PAGE_SIZE - 1) / SA_PAGE_SIZE);
		}
		if (r->state == 2 && (uintptr_t)small >= r->base &&
		    (uintptr_t)small < r->base + r->pages * SA_PAGE_SIZE) {
			found_small = 1;
			assert_true(s.classes[r->class_id - 1].size >= 700);
			assert_true(r->objects_inuse >= 1);
		}
		if (r->state == 2)
			small_spans++;
		if (r->state == SA_PAGE_IDLE || r->state == SA_PAGE_RELEASED_FREE ||
		    r->state == SA_PAGE_RELEASED_DONTNEED) {
			/* a free row is all released or not at all */
			assert_int_equal(r->released_pages, r->state == SA_PAGE_IDLE ? 0 : r->pages);
			free_pages += r->pages;
			released += r->released_pages;
		} else {
			inuse_pages += r->pages;
		}
	}
	assert_true(found_big);
	assert_true(found_small);
	if (t.nspans == t.spans_total) {
		/* complete table: it adds up to the ladder */
		uint64_t cls_spans = 0;
		for (uint64_t i = 0; i < s.nclasses; i++)
			cls_spans += s.classes[i].spans;
		assert_int_equal(small_spans, cls_spans);
		assert_int_equal(inuse_pages * SA_PAGE_SIZE, s.heap_inuse);
		assert_int_equal(free_pages * SA_PAGE_SIZE, s.heap_idle);
		assert_int_equal(released * SA_PAGE_SIZE, s.heap_released);
	}
	/* the published table is the same (idle_ms aside) */
	static struct sa_stats_segment_copy copy;
	assert_int_equal(sa_stats_read_pid(getpid(), &copy), 0);
	assert_int_equal(copy.seg.spans.nspans, t.nspans);
	for (uint64_t i = 0; i < t.nspans; i++) {
		assert_int_equal(copy.seg.spans.spans[i].base, t.spans[i].base);
		assert_int_equal(copy.seg.spans.spans[i].pages, t.spans[i].pages);
		assert_int_equal(copy.seg.spans.spans[i].objects_inuse, t.spans[i].objects_inuse);
	}
	sa_free(big);
	sa_free(small);
}

static void test_printers(void **state)
{
	(void)state;
	struct sa_stats s;
	assert_int_equal(sa_stats(&s), 0);
	char a[16384] = { 0 }, b[16384] = { 0 };
	FILE *f = fmemopen(a, sizeof(a) - 1, "w");
	assert_int_equal(sa_stats_print(f, &s), 0);
	fclose(f);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(sa_stats_print_fd(fds[1], &s), 0);
	close(fds[1]);
	size_t have = 0;
	ssize_t r;
	while ((r = read(fds[0], b + have, sizeof(b) - 1 - have)) > 0)
		have += (size_t)r;
	close(fds[0]);
	/* both printers are generated from the same lists: same fields, values */
	char want[64];
	snprintf(want, sizeof(want), "heap_objects %llu\n", (unsigned long long)s.heap_objects);
	const char *pa = strstr(a, "heap_objects"), *pb = strstr(b, "heap_objects");
	assert_non_null(pa);
	assert_non_null(pb);
	unsigned long long va = 0, vb = 0;
	assert_int_equal(sscanf(pa, "heap_objects %llu", &va), 1);
	assert_int_equal(sscanf(pb, "heap_objects %llu", &vb), 1);
	assert_int_equal(va, s.heap_objects);
	assert_int_equal(vb, s.heap_objects);
	/* one class row per class plus the header line */
	int rows = 0;
	for (const char *p = strchr(b, '#'); p && (p = strchr(p, '\n')) && p[1]; p++)
		rows++;
	assert_int_equal(rows, (int)s.nclasses);
}

int main(void)
{
	/* read at the allocator's first use, which is below */
	setenv("SPANALLOC_SCAVENGE_MS", "200", 1);
	/* exact comparisons between sa_stats() and the published segment: no
	 * background publication in between (tests/background covers it) */
	setenv("SPANALLOC_BACKGROUND", "0", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balance_exact),
		cmocka_unit_test(test_scavenge_dontneed),
		cmocka_unit_test(test_scavenge_free_and_reuse),
		cmocka_unit_test(test_scavenger_delay),
		cmocka_unit_test(test_segment_self),
		cmocka_unit_test(test_segment_other_process),
		cmocka_unit_test(test_segment_corrupt),
		cmocka_unit_test(test_segment_hostile_process),
		cmocka_unit_test(test_segment_version1),
		cmocka_unit_test(test_arena_table),
		cmocka_unit_test(test_segment_name_exact),
		cmocka_unit_test(test_maps_line_parse),
		cmocka_unit_test(test_span_table),
		cmocka_unit_test(test_printers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
