/* SPDX-License-Identifier: MIT */
/*
 * Publishing: the statistics live in a memfd named "spanalloc-stats",
 * mapped MAP_SHARED for the life of the process, so another process reads
 * them through /proc/<pid> alone (protocol in include/spanalloc-stats.h).
 * The span table is collected straight into the segment.
 * Written under a seqlock at slow-path events (refill, flush, large
 * alloc/free, thread exit; the ladder at most once per
 * SA_PUBLISH_INTERVAL_MS, the span table, which walks every span under
 * every class lock, at most once per SA_PUBLISH_SPANS_INTERVAL_MS) and, both,
 * on every sa_stats()/sa_scavenge(); never on the fast path. The background
 * thread (sa-background.c) publishes everything whenever the ladder differs
 * from the one published with the last tables.
 */
#include "sa-publish.h"
#include "spanalloc-stats.h"
#include "sa-os.h"
#include "sa-heap.h"
#include "sa-stats.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SA_PUBLISH_INTERVAL_MS 20u /* ladder: at most 50 publications per second */
#define SA_PUBLISH_SPANS_INTERVAL_MS 1000u /* span table: at most 1 per second */
/* span table and arenas from the background thread: at most 4 per second */
#define SA_BG_TABLES_INTERVAL_MS 250u

sa_lock_t sa_publish_lock;
static struct sa_stats_segment *sa_seg;
static int sa_seg_failed;
static uint64_t sa_last_publish_ms;
static uint64_t sa_last_spans_ms; /* under sa_publish_lock */
/* The ladder published with the last span table and arenas (under
 * sa_publish_lock): the background thread republishes when it differs. */
static struct sa_stats sa_tables_ladder;
/* The ladder of the last publication of any kind (under sa_publish_lock). */
static struct sa_stats sa_published_ladder;

static struct sa_stats_segment *sa_seg_create(void)
{
	if (sa_seg_failed)
		return NULL;
	int fd = (int)syscall(SYS_memfd_create, SA_STATS_MEMFD_NAME, 1u /* MFD_CLOEXEC */);
	if (fd < 0) {
		sa_seg_failed = 1;
		return NULL;
	}
	struct sa_stats_segment *seg = NULL;
	if (ftruncate(fd, sizeof(*seg)) == 0) {
		void *p = mmap(NULL, sizeof(*seg), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED)
			seg = p;
	}
	close(fd);
	if (!seg) {
		sa_seg_failed = 1;
		return NULL;
	}
	struct sa_stats_header *h = &seg->hdr;
	h->version = SA_STATS_VERSION;
	h->header_size = sizeof(struct sa_stats_header);
	h->total_size = sizeof(struct sa_stats_segment);
	h->stats_offset = offsetof(struct sa_stats_segment, stats);
	h->stats_size = sizeof(struct sa_stats);
	h->classes_offset = offsetof(struct sa_stats_segment, stats.classes);
	h->class_entry_size = sizeof(struct sa_class_stats);
	h->max_classes = SA_STATS_MAX_CLASSES;
	h->pid = (uint32_t)getpid();
	h->spans_offset = offsetof(struct sa_stats_segment, spans);
	h->span_entry_size = sizeof(struct sa_span_stats);
	h->max_spans = SA_STATS_MAX_SPANS;
	h->arenas_offset = offsetof(struct sa_stats_segment, arenas);
	h->arena_entry_size = sizeof(struct sa_arena_stats);
	h->max_arenas = SA_STATS_MAX_ARENAS;
	h->max_pages = SA_STATS_MAX_PAGES;
	__atomic_store_n(&h->seq, 0, __ATOMIC_RELAXED);
	/* magic last: a reader that sees it sees a complete header */
	__atomic_store_n(&h->magic, SA_STATS_MAGIC, __ATOMIC_RELEASE);
	return seg;
}

/* with_spans: also rebuild the span table (otherwise the segment keeps the
 * table of the last publication that did). */
static uint64_t sa_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sa_publish_locked(const struct sa_stats *s, bool with_spans)
{
	if (!sa_seg)
		sa_seg = sa_seg_create();
	if (!sa_seg)
		return;
	struct sa_stats_header *h = &sa_seg->hdr;
	uint64_t seq = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&h->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&sa_seg->stats, s, sizeof(*s));
	memcpy(&sa_published_ladder, s, sizeof(*s));
	/* written in place: the table (~64 KiB) never sits on a thread's stack */
	if (with_spans) {
		sa_spans_collect(&sa_seg->spans);
		sa_heap_arenas(&sa_seg->arenas);
		sa_last_spans_ms = sa_now_ms();
		memcpy(&sa_tables_ladder, s, sizeof(*s));
	}
	h->publish_time_ns = sa_realtime_ns();
	h->verified_time_ns = h->publish_time_ns;
	if (with_spans)
		h->tables_time_ns = h->publish_time_ns;
	h->publications++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&h->seq, seq + 2, __ATOMIC_RELAXED);
	__atomic_store_n(&sa_last_publish_ms, sa_now_ms(), __ATOMIC_RELAXED);
}

void sa_publish(const struct sa_stats *s)
{
	sa_lock(&sa_publish_lock);
	sa_publish_locked(s, true);
	sa_unlock(&sa_publish_lock);
}

void sa_publish_maybe(void)
{
	uint64_t now = sa_now_ms();
	if (now - __atomic_load_n(&sa_last_publish_ms, __ATOMIC_RELAXED) < SA_PUBLISH_INTERVAL_MS)
		return;
	if (!sa_trylock(&sa_publish_lock))
		return;
	int saved_errno = errno; /* a successful malloc leaves errno alone */
	struct sa_stats st;
	sa_stats_collect(&st);
	/* the first table follows one interval after the first publication: a
	 * short-lived program never pays for it (the walk, and ~64 KiB of
	 * resident segment) */
	if (!sa_last_spans_ms)
		sa_last_spans_ms = now;
	sa_publish_locked(&st, now - sa_last_spans_ms >= SA_PUBLISH_SPANS_INTERVAL_MS);
	sa_unlock(&sa_publish_lock);
	errno = saved_errno;
}

/* Whether two ladders differ in more than the background wake-up counter
 * (which moves without the heap changing). */
static bool sa_ladder_changed(struct sa_stats *now, const struct sa_stats *then)
{
	uint64_t wakeups = now->background_wakeups;
	now->background_wakeups = then->background_wakeups;
	bool changed = memcmp(now, then, sizeof(*now)) != 0;
	now->background_wakeups = wakeups;
	return changed;
}

/* Nothing changed: the published ladder is current as of now. One aligned
 * 8-byte store outside the seqlock (a reader sees the old or the new time). */
static void sa_mark_verified(void)
{
	__atomic_store_n(&sa_seg->hdr.verified_time_ns, sa_realtime_ns(), __ATOMIC_RELEASE);
}

void sa_publish_if_changed(bool force)
{
	/* a static buffer: the thread's stack stays small, and only the holder
	 * of sa_publish_lock uses it */
	static struct sa_stats st;
	sa_lock(&sa_publish_lock);
	sa_stats_collect(&st);
	uint64_t now = sa_now_ms();
	if (force || !sa_seg) {
		sa_publish_locked(&st, true);
	} else if (sa_ladder_changed(&st, &sa_tables_ladder)) {
		/* the tables walk every span: at most every
		 * SA_BG_TABLES_INTERVAL_MS, and always once the ladder stands still */
		if (now - sa_last_spans_ms >= SA_BG_TABLES_INTERVAL_MS)
			sa_publish_locked(&st, true);
		else if (sa_ladder_changed(&st, &sa_published_ladder))
			sa_publish_locked(&st, false);
		else
			sa_mark_verified();
	} else {
		sa_mark_verified();
	}
	sa_unlock(&sa_publish_lock);
}

/* In a fork child the inherited mapping is the parent's segment: drop it. */
void sa_publish_fork_child(void)
{
	if (sa_seg)
		munmap(sa_seg, sizeof(*sa_seg));
	sa_seg = NULL;
	sa_seg_failed = 0;
	sa_last_publish_ms = 0;
	sa_last_spans_ms = 0;
	memset(&sa_tables_ladder, 0, sizeof(sa_tables_ladder));
	memset(&sa_published_ladder, 0, sizeof(sa_published_ladder));
}
