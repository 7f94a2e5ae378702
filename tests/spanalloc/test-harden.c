/* SPDX-License-Identifier: MIT */
/* Hardening: free-list links are encoded (sa_link_set) on every path (thread
 * cache bins, span free lists in the central lists, cross-thread frees, a
 * fork child), decode back to valid objects of their class, and differ from
 * the raw pointer; a write into a freed object's link aborts the next
 * malloc that pops it with "corrupted free list" (in a child: stderr and
 * SIGABRT checked), never returning the written address; SPANALLOC_DEBUG=1
 * reports a planted use-after-free write with the object's address, size
 * class and the offset written (a re-executed child, since the mode is read
 * at start-up). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sa-internal.h"
#include "sa-test-util.h"

enum { NOBJ = 2000 };

/* Sizes over several classes, small to the largest small one. */
static const size_t sizes[] = { 16, 48, 64, 100, 256, 1000, 3000, 9000, 32768 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct walk {
	uint64_t objects;  /* free objects walked */
	uint64_t bad;      /* a link that decodes to a non-object or another class */
	uint64_t raw;      /* word 0 equal to the decoded next (not encoded) */
	uint64_t count_off; /* list length differs from the recorded count */
};

/* True if p is the start of an object of class cls. */
static bool is_object_of(const void *p, uint32_t cls)
{
	const struct sa_span *s = sa_span_of((uintptr_t)p);
	if (!s || s->cls != cls)
		return false;
	uint64_t off = (uintptr_t)p - s->base;
	return off < s->limit && off % s->elem_size == 0;
}

static void walk_list(struct walk *w, void *head, uint32_t cls, uint64_t expect)
{
	uint64_t n = 0;
	for (void *o = head; o && n <= expect; n++) {
		if (!is_object_of(o, cls) || !sa_link_is_free(o)) {
			w->bad++;
			return;
		}
		void *next = sa_link_next(o);
		if (*(void **)o == next)
			w->raw++;
		o = next;
	}
	w->objects += n;
	if (n != expect)
		w->count_off++;
}

/* Calls @fn on every span of every shard's central lists (partial and
 * full), under its list's lock. */
static void each_central_span(void (*fn)(struct sa_span *s, uint32_t cls, void *data), void *data)
{
	for (uint32_t sh = 0; sh < SA_SHARDS; sh++)
		for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
			struct sa_central *ce = &sa_centrals[sh][c];
			sa_lock(&ce->lock);
			for (int l = 0; l < 2; l++)
				for (struct sa_span *s = l ? ce->full : ce->partial; s; s = s->next)
					fn(s, c, data);
			sa_unlock(&ce->lock);
		}
}

static void walk_span(struct sa_span *s, uint32_t cls, void *data)
{
	walk_list(data, s->freelist, cls, (uint64_t)s->nbump - s->nalloc);
}

/* The calling thread's bins and every span free list of every shard. */
static void walk_all(struct walk *w)
{
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++)
		walk_list(w, sa_tc.bins[c].head, c, sa_tc.bins[c].count);
	each_central_span(walk_span, w);
}

static void *objs[NOBJ];

static void alloc_all(void)
{
	for (size_t i = 0; i < NOBJ; i++) {
		objs[i] = sa_malloc(sizes[i % NSIZES]);
		assert_non_null(objs[i]);
		memset(objs[i], (int)(i & 0xff), sizes[i % NSIZES]);
	}
}

static void free_every(size_t step, size_t first)
{
	for (size_t i = first; i < NOBJ; i += step) {
		sa_free(objs[i]);
		objs[i] = NULL;
	}
}

/* Live objects kept their contents (a broken link would have handed one
 * out twice and the memset of the other would show). */
static uint64_t damaged(void)
{
	uint64_t bad = 0;
	for (size_t i = 0; i < NOBJ; i++) {
		const unsigned char *p = objs[i];
		if (p)
			for (size_t k = 0; k < sizes[i % NSIZES]; k++)
				if (p[k] != (unsigned char)(i & 0xff)) {
					bad++;
					break;
				}
	}
	return bad;
}

static void *cross_free_thread(void *arg)
{
	(void)arg;
	/* frees objects the main thread allocated (cross-thread frees into
	 * this thread's bins), then flushes some to the central lists */
	free_every(3, 1);
	struct walk *w = calloc(1, sizeof(*w));
	walk_all(w);
	sa_thread_flush();
	walk_all(w);
	return w;
}

static void test_links_every_path(void **state)
{
	(void)state;
	struct walk w = { 0 };
	alloc_all();
	free_every(2, 0); /* thread cache, overflow flushes to the central lists */
	walk_all(&w);
	assert_true(w.objects > 0);

	pthread_t t;
	void *tw;
	assert_int_equal(pthread_create(&t, NULL, cross_free_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &tw), 0);
	struct walk *cw = tw;
	assert_true(cw->objects > 0);
	assert_int_equal(cw->bad, 0);
	assert_int_equal(cw->raw, 0);
	assert_int_equal(cw->count_off, 0);
	free(cw);

	sa_thread_flush();
	walk_all(&w);
	assert_int_equal(damaged(), 0);
	/* reuse what the lists hold: every object handed out is valid */
	for (size_t i = 0; i < NOBJ; i++)
		if (!objs[i]) {
			objs[i] = sa_malloc(sizes[i % NSIZES]);
			assert_non_null(objs[i]);
			assert_true(is_object_of(objs[i], sa_size_to_class(sizes[i % NSIZES])));
			memset(objs[i], (int)(i & 0xff), sizes[i % NSIZES]);
		}
	assert_int_equal(damaged(), 0);
	walk_all(&w);
	assert_int_equal(w.bad, 0);
	assert_int_equal(w.raw, 0);
	assert_int_equal(w.count_off, 0);

	/* fork: the child walks the lists it inherited and keeps allocating */
	free_every(2, 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct walk cwk = { 0 };
		walk_all(&cwk);
		for (size_t i = 0; i < NOBJ; i++)
			if (!objs[i]) {
				objs[i] = sa_malloc(sizes[i % NSIZES]);
				memset(objs[i], (int)(i & 0xff), sizes[i % NSIZES]);
			}
		free_every(3, 0);
		sa_thread_flush();
		walk_all(&cwk);
		_exit(cwk.objects == 0 ? 10 : cwk.bad ? 11 : cwk.raw ? 12 : cwk.count_off ? 13 :
		      damaged() ? 14 : 0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	for (size_t i = 0; i < NOBJ; i++)
		sa_free(objs[i]);
	memset(objs, 0, sizeof(objs));
}

/* Runs `what` in a child and checks it died of SIGABRT with `msg` on
 * stderr. */
static void expect_abort(void (*what)(void), const char *msg)
{
	char buf[1024];
	int st = sa_test_run_child(what, buf, sizeof(buf));

	assert_true(st != -1);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		fail_msg("child did not abort (status %#x), stderr '%s'", st, buf);
	if (!strstr(buf, msg))
		fail_msg("stderr was '%s', expected '%s'", buf, msg);
}

static char target[64] __attribute__((aligned(16)));

/* The classic tcache-poisoning write: 8 bytes into the freed object at
 * the head of the list, the second-next malloc would return `target`. */
static void do_poison_cache(void)
{
	void *q = sa_malloc(64), *p = sa_malloc(64);
	sa_free(q);
	sa_free(p);
	fprintf(stderr, "object %p\n", p);
	*(void **)p = target; /* use after free */
	void *a = sa_malloc(64);
	void *b = sa_malloc(64);
	fprintf(stderr, "not stopped: %p %p\n", a, b);
}

/* Both words written, with a guessed tag; on a span free list. */
static void do_poison_central(void)
{
	void *q = sa_malloc(200), *p = sa_malloc(200);
	sa_free(q);
	sa_free(p);
	sa_thread_flush();
	fprintf(stderr, "object %p\n", p);
	((void **)p)[0] = target;
	((void **)p)[1] = (void *)((uintptr_t)target ^ 1);
	for (int i = 0; i < 4; i++)
		if (sa_malloc(200) == target)
			fprintf(stderr, "steered\n");
}

static void check_object_in_message(void (*what)(void), size_t size)
{
	/* re-run to learn the address printed, then compare with the message */
	char buf[1024];
	int st = sa_test_run_child(what, buf, sizeof(buf));

	assert_true(st != -1);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_null(strstr(buf, "not stopped"));
	assert_null(strstr(buf, "steered"));
	void *obj = NULL;
	assert_int_equal(sscanf(buf, "object %p", &obj), 1);
	uint32_t cls = sa_size_to_class(size);
	char want[200];
	snprintf(want, sizeof(want),
		 "spanalloc: malloc(): corrupted free list (a write to a freed object): object %p, "
		 "size class %u (%u bytes)\n",
		 obj, cls, sa_class_size_table[cls]);
	if (!strstr(buf, want))
		fail_msg("stderr was '%s', expected '%s'", buf, want);
}

static void test_corrupt_link_aborts(void **state)
{
	(void)state;
	expect_abort(do_poison_cache, "corrupted free list");
	expect_abort(do_poison_central, "corrupted free list");
	check_object_in_message(do_poison_cache, 64);
	check_object_in_message(do_poison_central, 200);
}

/* ---- SPANALLOC_DEBUG=1, in a re-executed child ---- */

static const size_t uaf_size = 100, uaf_offset = 41;

static int debug_child_uaf(void)
{
	unsigned char *p = sa_malloc(uaf_size); /* reads the environment */
	if (!sa_debug || sa_tcache_cap_bytes != 0)
		return 20;
	memset(p, 1, uaf_size);
	sa_free(p);
	fprintf(stderr, "object %p\n", (void *)p);
	p[uaf_offset] = 0x5a; /* use after free, past the link words */
	void *q = sa_malloc(uaf_size);
	fprintf(stderr, "not stopped: %p\n", q);
	return 21;
}

/* The debug mode itself raises no false alarm on a busy, correct program. */
static int debug_child_clean(void)
{
	sa_free(sa_malloc(1)); /* reads the environment */
	if (!sa_debug)
		return 20;
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t k = x % NOBJ, n = 1 + (x >> 20) % 5000;
		sa_free(objs[k]);
		objs[k] = (x & 1) ? sa_calloc(1, n) : sa_malloc(n);
		memset(objs[k], 7, n);
	}
	return 0;
}

static const char *debug_child_mode;

/* this test program again, as a child in SPANALLOC_DEBUG mode */
static void exec_debug_child(void)
{
	setenv("SPANALLOC_DEBUG", "1", 1);
	execl("/proc/self/exe", "test-spanalloc-harden", debug_child_mode, (char *)NULL);
	_exit(127);
}

static void run_debug_child(const char *mode, int *status, char *err, size_t errsz)
{
	debug_child_mode = mode;
	*status = sa_test_run_child(exec_debug_child, err, errsz);
	assert_true(*status != -1);
}

static void test_debug_reports_uaf(void **state)
{
	(void)state;
	int st;
	char err[1024];
	run_debug_child("--debug-uaf", &st, err, sizeof(err));
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		fail_msg("child did not abort (status %#x), stderr '%s'", st, err);
	void *obj = NULL;
	assert_int_equal(sscanf(err, "object %p", &obj), 1);
	uint32_t cls = sa_size_to_class(uaf_size);
	char want[200];
	snprintf(want, sizeof(want),
		 "spanalloc: use-after-free write detected: object %p, size class %u (%u bytes), "
		 "byte offset %zu\n",
		 obj, cls, sa_class_size_table[cls], uaf_offset);
	if (!strstr(err, want))
		fail_msg("stderr was '%s', expected '%s'", err, want);

	run_debug_child("--debug-clean", &st, err, sizeof(err));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("clean debug run failed (status %#x), stderr '%s'", st, err);
}

/* ---- passive false sharing: a new thread's first free of a foreign
 * object does not become its cache's first object ---- */

static void *foreign_obj;
static uint32_t foreign_nalloc_before;
static void *foreign_thread(void *arg)
{
	(void)arg;
	uintptr_t r = 0;
	const struct sa_span *fs = sa_span_of((uintptr_t)foreign_obj);
	foreign_nalloc_before = fs->nalloc;
	sa_free(foreign_obj); /* this thread's first free */
	if (fs->shard == sa_tc.shard)
		r |= 1; /* not foreign after all: the test proves nothing */
	if (fs->nalloc != foreign_nalloc_before - 1)
		r |= 2; /* not back on its span's free list */
	void *mine = sa_malloc(8);
	if (mine == foreign_obj)
		r |= 4; /* the foreign object came straight back */
	const struct sa_span *s = sa_span_of((uintptr_t)mine);
	if (!s || s->shard != sa_tc.shard)
		r |= 8;
	/* later frees of the class are cached as usual */
	uint32_t before = sa_tc.bins[sa_size_to_class(8)].count;
	sa_free(mine);
	if (sa_tc.bins[sa_size_to_class(8)].count != before + 1)
		r |= 16;
	return (void *)r;
}

static void test_first_foreign_free_goes_home(void **state)
{
	(void)state;
	foreign_obj = sa_malloc(8);
	void *neighbour = sa_malloc(8); /* keeps the span in use */
	pthread_t t;
	void *r;
	assert_int_equal(pthread_create(&t, NULL, foreign_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &r), 0);
	assert_int_equal((uintptr_t)r, 0);
	sa_free(neighbour);
}

/* ---- per-page class entries (what free() reads instead of the span) ---- */

static void count_wrong_entries(struct sa_span *s, uint32_t cls, void *data)
{
	uint64_t *wrong = data;

	for (uint32_t i = 0; i < s->npages; i++) {
		uintptr_t a = s->base + ((uintptr_t)i << SA_PAGE_SHIFT);
		uint16_t v = sa_arena_of(a)->psmall[(a >> SA_PAGE_SHIFT) & (SA_ARENA_PAGES - 1)];
		if (SA_PSMALL_CLASS(v) != cls || SA_PSMALL_INDEX(v) != i)
			(*wrong)++;
	}
}

static uint64_t page_entries_wrong(void)
{
	uint64_t wrong = 0;

	each_central_span(count_wrong_entries, &wrong);
	return wrong;
}

static uint16_t page_entry(uintptr_t a)
{
	return sa_arena_of(a)->psmall[(a >> SA_PAGE_SHIFT) & (SA_ARENA_PAGES - 1)];
}

static void *multi_page_obj;

/* An address inside an object on the second page of a multi-page span. */
static void do_free_inside_second_page(void)
{
	sa_free((char *)multi_page_obj + 16);
}

static void test_page_class_entries(void **state)
{
	(void)state;
	static const size_t psizes[] = { 16, 100, 1408, 9000, 32768 };
	enum { PER = 300 };
	static void *v[5][PER];
	for (size_t k = 0; k < 5; k++)
		for (size_t i = 0; i < PER; i++)
			assert_non_null(v[k][i] = sa_malloc(psizes[k]));
	assert_int_equal(page_entries_wrong(), 0);
	/* 9000 B objects (class 9216, 5-page spans): one whose offset in its
	 * span is past the first page, freed and then aborted on an inside
	 * pointer */
	uint32_t c9 = sa_size_to_class(9000);
	assert_true(sa_class_pages_table[c9] > 1);
	void *second = NULL;
	for (size_t i = 0; i < PER && !second; i++) {
		const struct sa_span *s = sa_span_of((uintptr_t)v[3][i]);
		if ((uintptr_t)v[3][i] - s->base >= SA_PAGE_SIZE) {
			second = v[3][i];
			uint16_t e = page_entry((uintptr_t)second);
			assert_int_equal(SA_PSMALL_CLASS(e), c9);
			assert_true(SA_PSMALL_INDEX(e) >= 1);
		}
	}
	assert_non_null(second);
	multi_page_obj = second;
	expect_abort(do_free_inside_second_page, "free(): invalid pointer");
	/* free everything: the emptied spans go back to the page heap with
	 * their entries cleared (pages reused by a large object read 0) */
	uintptr_t bases[PER];
	for (size_t i = 0; i < PER; i++)
		bases[i] = sa_span_of((uintptr_t)v[3][i])->base;
	for (size_t k = 0; k < 5; k++)
		for (size_t i = 0; i < PER; i++)
			sa_free(v[k][i]);
	sa_scavenge();
	assert_int_equal(page_entries_wrong(), 0);
	uint64_t cleared = 0, stale = 0;
	for (size_t i = 0; i < PER; i++) {
		const struct sa_span *s = sa_span_of(bases[i]);
		if (s && s->cls)
			continue; /* still (or again) a small span */
		if (page_entry(bases[i]) == 0)
			cleared++;
		else
			stale++;
	}
	assert_int_equal(stale, 0);
	assert_true(cleared > 0);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--debug-uaf") == 0)
		return debug_child_uaf();
	if (argc == 2 && strcmp(argv[1], "--debug-clean") == 0)
		return debug_child_clean();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links_every_path),
		cmocka_unit_test(test_corrupt_link_aborts),
		cmocka_unit_test(test_debug_reports_uaf),
		cmocka_unit_test(test_first_foreign_free_goes_home),
		cmocka_unit_test(test_page_class_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
