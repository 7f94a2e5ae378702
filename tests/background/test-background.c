/* SPDX-License-Identifier: MIT */
/*
 * The background thread keeps an idle process's statistics fresh and runs
 * its scavenger on time. A real program (quiet-workload) under
 * LD_PRELOAD=libspanalloc-malloc.so mallocs 65536 objects of 1 KiB, frees the
 * first 75% and goes quiet. Read through /proc/<pid> like any reader does:
 * the published segment must show the frees and heap_alloc = 16 MiB soon
 * (polled, generous bound), and, without any further malloc, the idle spans
 * must be released once SPANALLOC_SCAVENGE_MS has passed and not before.
 * Environment: SPANALLOC_MALLOC_LIB (the library), QUIET_WORKLOAD (program).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <spanalloc-stats.h>

#define MiB ((uint64_t)1 << 20)
#define COUNT 65536
#define SIZE 1024
#define SCAVENGE_MS 1000

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct child {
	pid_t pid;      /* the workload we started */
	pid_t quiet;    /* the process that went quiet (pid, or its fork child) */
	int to_child;   /* closing it ends the workload */
};

static struct child spawn(const char *bg, bool do_fork)
{
	const char *lib = getenv("SPANALLOC_MALLOC_LIB"), *prog = getenv("QUIET_WORKLOAD");
	assert_non_null(lib);
	assert_non_null(prog);
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		char delay[16];
		snprintf(delay, sizeof(delay), "%d", SCAVENGE_MS);
		setenv("LD_PRELOAD", lib, 1);
		setenv("SPANALLOC_SCAVENGE_MS", delay, 1);
		setenv("SPANALLOC_BACKGROUND", bg, 1);
		char count[16], size[16];
		snprintf(count, sizeof(count), "%d", COUNT);
		snprintf(size, sizeof(size), "%d", SIZE);
		execl(prog, prog, count, size, "75", do_fork ? "fork" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	char buf[32] = { 0 };
	size_t have = 0;
	while (have < sizeof(buf) - 1 && !strchr(buf, '\n')) {
		ssize_t r = read(out[0], buf + have, sizeof(buf) - 1 - have);
		assert_true(r > 0);
		have += (size_t)r;
	}
	int quiet = 0;
	assert_int_equal(sscanf(buf, "ready %d", &quiet), 1);
	assert_true(quiet > 0);
	assert_true(do_fork ? quiet != pid : quiet == pid);
	close(out[0]);
	return (struct child){ pid, quiet, in[1] };
}

static void finish(struct child c)
{
	close(c.to_child);
	int st;
	assert_int_equal(waitpid(c.pid, &st, 0), c.pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static struct sa_stats_segment_copy seg;

/* Polls the child's segment until cond holds or timeout_ms passes;
 * returns the elapsed ms (or -1 on timeout). */
#define POLL(timeout_ms, cond) ({ \
	double t0_ = now_ms(), r_ = -1; \
	while (now_ms() - t0_ < (timeout_ms)) { \
		if (sa_stats_read_pid(c.quiet, &seg) == 0 && (cond)) { \
			r_ = now_ms() - t0_; \
			break; \
		} \
		usleep(5000); \
	} \
	r_; })

static void check_fresh(bool do_fork)
{
	struct child c = spawn("1", do_fork);
	double quiet_since = now_ms();
	const struct sa_stats *s = &seg.seg.stats;
	/* frees and heap_alloc published without another malloc: the
	 * workload's own bookkeeping (a pointer array, stdio) is under 1 MiB */
	double t = POLL(5000, s->frees >= COUNT * 3 / 4 && s->heap_alloc < 16 * MiB + MiB);
	assert_true(t >= 0);
	printf("# frees published %.0f ms after the workload went quiet\n", t);
	assert_true(s->heap_alloc >= 16 * MiB);
	assert_true(s->heap_objects >= COUNT / 4);
	assert_int_equal(s->background_thread, 1);
	assert_int_equal(seg.source_version, SA_STATS_VERSION);
	/* the publication is recent, by its own clock */
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	uint64_t now_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	assert_true(now_ns - seg.seg.hdr.publish_time_ns < 5000000000ull);
	/* quiet, nothing changes: the numbers are still confirmed current
	 * every interval, so their age stays small */
	usleep(500 * 1000);
	assert_int_equal(sa_stats_read_pid(c.quiet, &seg), 0);
	clock_gettime(CLOCK_REALTIME, &rt);
	now_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	assert_true(seg.seg.hdr.verified_time_ns >= seg.seg.hdr.publish_time_ns);
	printf("# idle: published %.0f ms ago, verified %.0f ms ago\n",
	       (now_ns - seg.seg.hdr.publish_time_ns) / 1e6, (now_ns - seg.seg.hdr.verified_time_ns) / 1e6);
	assert_true(now_ns - seg.seg.hdr.verified_time_ns < 1000000000ull);
	/* the idle spans (48 MiB) are released once the delay has passed */
	t = POLL(10000, s->heap_released >= 40 * MiB);
	assert_true(t >= 0);
	double since = now_ms() - quiet_since;
	printf("# idle spans released %.0f ms after quiet (delay %d ms)\n", since, SCAVENGE_MS);
	/* the runs became idle before "ready": release cannot precede the delay
	 * measured from there, minus the polling step */
	assert_true(since >= SCAVENGE_MS - 100);
	/* the tables (rebuilt at most every 250 ms) catch up with the ladder
	 * once the process is quiet; then the page-state map agrees with it */
	t = POLL(5000, seg.seg.hdr.tables_time_ns == seg.seg.hdr.publish_time_ns &&
			       s->heap_released >= 40 * MiB);
	assert_true(t >= 0);
	const struct sa_arena_table *a = &seg.seg.arenas;
	assert_true(a->narenas >= 1 && a->npages == a->pages_total);
	uint64_t rel = 0, inuse = 0;
	for (uint64_t i = 0; i < a->npages; i++) {
		enum sa_page_state ps = sa_page_state_at(a, i);
		rel += ps == SA_PAGE_RELEASED_FREE || ps == SA_PAGE_RELEASED_DONTNEED;
		inuse += ps == SA_PAGE_SMALL || ps == SA_PAGE_LARGE;
	}
	assert_int_equal(rel * 8192, s->heap_released);
	assert_int_equal(inuse * 8192, s->heap_inuse);
	assert_int_equal(seg.seg.hdr.pid, (uint32_t)c.quiet);
	finish(c);
}

static void test_idle_process_is_fresh(void **state)
{
	(void)state;
	check_fresh(false);
}

/* The same in a fork child that never allocates: only the thread restarted
 * by the atfork handler can have created and filled its own segment. */
static void test_fork_child_is_fresh(void **state)
{
	(void)state;
	check_fresh(true);
}

static void test_background_disabled(void **state)
{
	(void)state;
	/* SPANALLOC_BACKGROUND=0: the old behaviour, the counterfactual that
	 * shows the test above measures the thread */
	struct child c = spawn("0", false);
	usleep(600 * 1000);
	int e = sa_stats_read_pid(c.quiet, &seg);
	/* either nothing published yet, or a slow-path publication from before
	 * the frees were done */
	if (e == 0) {
		assert_int_equal(seg.seg.stats.background_thread, 0);
		assert_true(seg.seg.stats.frees < COUNT * 3 / 4 ||
			    seg.seg.stats.heap_alloc > 16 * MiB + MiB);
	} else {
		assert_int_equal(e, ENOENT);
	}
	finish(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_process_is_fresh),
		cmocka_unit_test(test_fork_child_is_fresh),
		cmocka_unit_test(test_background_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
