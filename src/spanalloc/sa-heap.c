/* SPDX-License-Identifier: MIT */
/*
 * The page heap (mheap): 8 KiB pages over arenas reserved from the OS in
 * 64 MiB (aligned) reservations. Free runs are kept in 127 exact-length lists
 * (1..127 pages) plus one list for longer runs, and are found best-fit; a
 * run longer than asked is split and the rest stays free; a freed span is
 * coalesced with free neighbours found through the page map.
 *
 * Page map invariants: every page of an in-use span maps to it; the first
 * and last page of a free run map to it (interior entries may be stale, so
 * every lookup checks the span's state and range).
 *
 * Scavenger: a free run idle for at least sa_scavenge_delay_ms (default
 * 1000 ms, SPANALLOC_SCAVENGE_MS) is released to the OS with madvise in the
 * current release mode at the next page-heap operation (checked at most
 * every delay/2 ms); sa_scavenge() releases every free run at once. Each page
 * remembers how it was released (SA_PG_REL_*), so heap_released is exact per
 * mode and a released page that is reused moves back to in-use.
 */
#include "sa-heap.h"
#include "spanalloc-stats.h"
#include "sa-os.h"
#include "sa-options.h"
#include "sa-span.h"
#include "sa-meta.h"
#include <string.h>
#include <sys/mman.h>

#define SA_EXACT_LISTS 128u /* lists 1..127 by length, list 0 = longer runs */

sa_lock_t sa_heap_lock;
struct sa_arena *sa_l1[SA_L1_ENTRIES];

static struct sa_span *sa_free_lists[SA_EXACT_LISTS];
static uint64_t sa_free_nonempty[SA_EXACT_LISTS / 64]; /* bit i: list i non-empty */
static uintptr_t sa_arena_cur, sa_arena_end;
static struct sa_heap_counters sa_hc;
static uint64_t sa_next_scavenge_ms;
static struct sa_span *sa_large_list; /* in-use large objects (for the span table) */
static uint64_t sa_free_runs;          /* free runs in the lists */
/* Arena reservations in the order made (for the published arena table);
 * beyond SA_STATS_MAX_ARENAS only counted (sa_hc.arenas). */
static struct { uintptr_t start; size_t length, heap_bytes; } sa_resv[SA_STATS_MAX_ARENAS];
static uint64_t sa_resv_bytes; /* all reservations (bytes) */

static inline uint8_t *sa_pstate(uintptr_t a)
{
	return &sa_arena_of(a)->pstate[(a >> SA_PAGE_SHIFT) & (SA_ARENA_PAGES - 1)];
}
static inline void sa_pm_set(uintptr_t a, struct sa_span *s)
{
	sa_arena_of(a)->spans[(a >> SA_PAGE_SHIFT) & (SA_ARENA_PAGES - 1)] = s;
}
static inline uint32_t sa_list_index(size_t npages)
{
	return npages < SA_EXACT_LISTS ? (uint32_t)npages : 0;
}

static void sa_freelist_push(struct sa_span *s)
{
	uint32_t i = sa_list_index(s->npages);
	sa_span_list_push(&sa_free_lists[i], s, SA_LIST_HEAP);
	sa_free_nonempty[i / 64] |= (uint64_t)1 << (i % 64);
	sa_free_runs++;
	s->state = SA_SPAN_FREE;
	s->cls = 0;
	sa_pm_set(s->base, s);
	sa_pm_set(s->base + ((uintptr_t)(s->npages - 1) << SA_PAGE_SHIFT), s);
}

static void sa_freelist_remove(struct sa_span *s)
{
	uint32_t i = sa_list_index(s->npages);
	sa_span_list_remove(&sa_free_lists[i], s);
	if (!sa_free_lists[i])
		sa_free_nonempty[i / 64] &= ~((uint64_t)1 << (i % 64));
	sa_free_runs--;
}

/* Inserts a free run, merging it with free neighbours. */
static void sa_insert_free(struct sa_span *s, uint64_t now)
{
	if (s->base >= SA_PAGE_SIZE) {
		struct sa_span *p = sa_span_of(s->base - SA_PAGE_SIZE);
		if (p && p != s && p->state == SA_SPAN_FREE &&
		    p->base + ((uintptr_t)p->npages << SA_PAGE_SHIFT) == s->base) {
			sa_freelist_remove(p);
			s->base = p->base;
			s->npages += p->npages;
			s->nreleased += p->nreleased;
			sa_meta_span_delete(p);
		}
	}
	uintptr_t end = s->base + ((uintptr_t)s->npages << SA_PAGE_SHIFT);
	struct sa_span *n = sa_span_of(end);
	if (n && n != s && n->state == SA_SPAN_FREE && n->base == end) {
		sa_freelist_remove(n);
		s->npages += n->npages;
		s->nreleased += n->nreleased;
		sa_meta_span_delete(n);
	}
	s->idle_since_ms = now;
	SA_ASSERT(s->nreleased <= s->npages, s); /* FREE: released pages of the run */
	sa_freelist_push(s);
}

static struct sa_span *sa_find_best(size_t npages)
{
	if (npages < SA_EXACT_LISTS) {
		for (uint32_t w = (uint32_t)npages / 64; w < SA_EXACT_LISTS / 64; w++) {
			uint64_t bits = sa_free_nonempty[w];
			if (w == npages / 64)
				bits &= ~(uint64_t)0 << (npages % 64);
			if (bits)
				return sa_free_lists[w * 64 + (uint32_t)__builtin_ctzll(bits)];
		}
	}
	struct sa_span *best = NULL;
	for (struct sa_span *s = sa_free_lists[0]; s; s = s->next)
		if (s->npages >= npages &&
		    (!best || s->npages < best->npages ||
		     (s->npages == best->npages && s->base < best->base)))
			best = s;
	return best;
}

/* Adds fresh (never used, zero) pages to the page heap. */
static bool sa_add_fresh(uintptr_t base, size_t npages, uint64_t now)
{
	struct sa_span *s = sa_meta_span_new();
	if (!s)
		return false;
	s->base = base;
	s->npages = (uint32_t)npages;
	for (size_t i = 0; i < npages; i++)
		*sa_pstate(base + (i << SA_PAGE_SHIFT)) = SA_PG_ZERO;
	sa_hc.sys_pages += npages;
	sa_insert_free(s, now);
	return true;
}

/* Grows the heap so that a run of `need` pages exists. */
static bool sa_grow(size_t need, uint64_t now)
{
	size_t need_bytes = need << SA_PAGE_SHIFT;
	if (sa_arena_cur + need_bytes > sa_arena_end || sa_arena_cur + need_bytes < sa_arena_cur) {
		size_t rsv = (need_bytes + SA_ARENA_BYTES - 1) & ~(SA_ARENA_BYTES - 1);
		if (rsv < need_bytes)
			return false;
		char *p = sa_os_map(rsv, SA_ARENA_BYTES);
		if (!p)
			return false;
		size_t nar = rsv >> SA_ARENA_SHIFT;
		for (size_t i = 0; i < nar; i++) {
			uintptr_t a = (uintptr_t)p + (i << SA_ARENA_SHIFT);
			if ((a >> SA_ARENA_SHIFT) >= SA_L1_ENTRIES) {
				munmap(p, rsv);
				return false;
			}
			struct sa_arena *ar = sa_meta_alloc_pages(sizeof(struct sa_arena));
			if (!ar) {
				munmap(p, rsv); /* the arena metadata already set up stays (small) */
				return false;
			}
			__atomic_store_n(&sa_l1[a >> SA_ARENA_SHIFT], ar, __ATOMIC_RELEASE);
		}
		sa_os_name(p, rsv, SA_ARENA_VMA_NAME);
		/* the tail of the previous arena becomes a free run */
		if (sa_arena_end > sa_arena_cur) {
			if (!sa_add_fresh(sa_arena_cur, (sa_arena_end - sa_arena_cur) >> SA_PAGE_SHIFT, now))
				return false;
			if (sa_hc.arenas && sa_hc.arenas <= SA_STATS_MAX_ARENAS)
				sa_resv[sa_hc.arenas - 1].heap_bytes = sa_resv[sa_hc.arenas - 1].length;
		}
		if (sa_hc.arenas < SA_STATS_MAX_ARENAS) {
			sa_resv[sa_hc.arenas].start = (uintptr_t)p;
			sa_resv[sa_hc.arenas].length = rsv;
			sa_resv[sa_hc.arenas].heap_bytes = 0;
		}
		sa_hc.arenas++;
		sa_resv_bytes += rsv;
		sa_arena_cur = (uintptr_t)p;
		sa_arena_end = (uintptr_t)p + rsv;
	}
	size_t bytes = (need < SA_GROW_MIN_PAGES ? SA_GROW_MIN_PAGES : need) << SA_PAGE_SHIFT;
	if (bytes > sa_arena_end - sa_arena_cur)
		bytes = sa_arena_end - sa_arena_cur;
	if (!sa_add_fresh(sa_arena_cur, bytes >> SA_PAGE_SHIFT, now))
		return false;
	sa_arena_cur += bytes;
	if (sa_hc.arenas && sa_hc.arenas <= SA_STATS_MAX_ARENAS) {
		sa_resv[sa_hc.arenas - 1].heap_bytes = sa_arena_cur - sa_resv[sa_hc.arenas - 1].start;
	}
	return true;
}

/* Releases the not-yet-released pages of a free run, and with @redo_free
 * (mode DONTNEED) also its pages released with MADV_FREE, which the kernel
 * may still hold (LazyFree). Returns bytes released. */
static size_t sa_scavenge_span(struct sa_span *s, int mode, bool redo_free)
{
	if (s->nreleased >= s->npages && !redo_free)
		return 0;
	size_t released = 0;
	uintptr_t run = 0;
	size_t runlen = 0;
	for (size_t i = 0; i <= s->npages; i++) {
		uintptr_t a = s->base + (i << SA_PAGE_SHIFT);
		unsigned rel = i < s->npages ? (*sa_pstate(a) & SA_PG_REL_MASK) : 0;
		bool want = i < s->npages && (!rel || (redo_free && rel == SA_PG_REL_FREE));
		if (want) {
			if (!runlen)
				run = a;
			runlen++;
			continue;
		}
		if (!runlen)
			continue;
		int used = sa_os_release((void *)run, runlen << SA_PAGE_SHIFT, mode);
		sa_hc.scavenges++;
		for (size_t j = 0; j < runlen; j++) {
			uint8_t *ps = sa_pstate(run + (j << SA_PAGE_SHIFT));
			if ((*ps & SA_PG_REL_MASK) == SA_PG_REL_FREE)
				sa_hc.rel_free_pages--; /* released again, now DONTNEED */
			if (used == SA_RELEASE_FREE) {
				*ps = (uint8_t)((*ps & SA_PG_ZERO) | SA_PG_REL_FREE);
			} else {
				*ps = SA_PG_ZERO | SA_PG_REL_DONTNEED;
			}
		}
		if (used == SA_RELEASE_FREE)
			sa_hc.rel_free_pages += runlen;
		else
			sa_hc.rel_dontneed_pages += runlen;
		released += runlen << SA_PAGE_SHIFT;
		runlen = 0;
	}
	s->nreleased = s->npages;
	return released;
}

static size_t sa_scavenge_locked(bool force, uint64_t now)
{
	int mode = __atomic_load_n(&sa_release_mode_cur, __ATOMIC_RELAXED);
	size_t total = 0;
	for (uint32_t i = 0; i < SA_EXACT_LISTS; i++)
		for (struct sa_span *s = sa_free_lists[i]; s; s = s->next)
			if (force || now - s->idle_since_ms >= sa_scavenge_delay_ms)
				total += sa_scavenge_span(s, mode, false);
	return total;
}

size_t sa_heap_release_all_dontneed(void)
{
	size_t total = 0;
	sa_lock(&sa_heap_lock);
	for (uint32_t i = 0; i < SA_EXACT_LISTS; i++)
		for (struct sa_span *s = sa_free_lists[i]; s; s = s->next)
			total += sa_scavenge_span(s, SA_RELEASE_DONTNEED, true);
	sa_unlock(&sa_heap_lock);
	return total;
}

static void sa_maybe_scavenge(uint64_t now)
{
	if (now < sa_next_scavenge_ms)
		return;
	sa_scavenge_locked(false, now);
	uint64_t step = sa_scavenge_delay_ms / 2;
	sa_next_scavenge_ms = now + (step ? step : 0);
}

size_t sa_heap_scavenge(bool force)
{
	sa_lock(&sa_heap_lock);
	size_t r = sa_scavenge_locked(force, sa_now_ms());
	sa_unlock(&sa_heap_lock);
	return r;
}

struct sa_span *sa_heap_alloc(size_t npages, size_t align_pages, uint8_t state)
{
	if (npages == 0 || npages > (SA_MAX_REQUEST >> SA_PAGE_SHIFT) || npages > UINT32_MAX / 2)
		return NULL;
	size_t need = npages + (align_pages > 1 ? align_pages - 1 : 0);
	sa_lock(&sa_heap_lock);
	uint64_t now = sa_now_ms();
	struct sa_span *s = sa_find_best(need);
	if (!s) {
		if (!sa_grow(need, now)) {
			sa_unlock(&sa_heap_lock);
			return NULL;
		}
		s = sa_find_best(need);
		if (!s) {
			sa_unlock(&sa_heap_lock);
			return NULL;
		}
	}
	sa_freelist_remove(s);
	if (align_pages > 1) {
		uintptr_t ab_bytes = (uintptr_t)align_pages << SA_PAGE_SHIFT;
		uintptr_t ab = (s->base + ab_bytes - 1) & ~(ab_bytes - 1);
		size_t front = (ab - s->base) >> SA_PAGE_SHIFT;
		if (front) {
			struct sa_span *f = sa_meta_span_new();
			if (!f) {
				sa_freelist_push(s);
				sa_unlock(&sa_heap_lock);
				return NULL;
			}
			uint32_t rel = 0;
			for (size_t i = 0; i < front; i++)
				if (*sa_pstate(s->base + (i << SA_PAGE_SHIFT)) & SA_PG_REL_MASK)
					rel++;
			f->base = s->base;
			f->npages = (uint32_t)front;
			f->nreleased = rel;
			f->idle_since_ms = s->idle_since_ms;
			s->base = ab;
			s->npages -= (uint32_t)front;
			s->nreleased -= rel;
			sa_freelist_push(f);
		}
	}
	if (s->npages > npages) {
		struct sa_span *t = sa_meta_span_new();
		if (!t) {
			sa_insert_free(s, s->idle_since_ms);
			sa_unlock(&sa_heap_lock);
			return NULL;
		}
		t->base = s->base + (npages << SA_PAGE_SHIFT);
		t->npages = s->npages - (uint32_t)npages;
		t->idle_since_ms = s->idle_since_ms;
		s->npages = (uint32_t)npages;
		/* t->nreleased is set below from what the allocated part had */
		uint32_t rel = 0;
		for (size_t i = 0; i < npages; i++)
			if (*sa_pstate(s->base + (i << SA_PAGE_SHIFT)) & SA_PG_REL_MASK)
				rel++;
		t->nreleased = s->nreleased - rel;
		s->nreleased = rel;
		sa_freelist_push(t);
	}
	/* Released pages move back to in-use; learn whether all pages are zero. */
	bool zero = true;
	for (size_t i = 0; i < npages; i++) {
		uintptr_t a = s->base + (i << SA_PAGE_SHIFT);
		uint8_t *ps = sa_pstate(a);
		uint8_t v = *ps;
		if ((v & SA_PG_REL_MASK) == SA_PG_REL_FREE)
			sa_hc.rel_free_pages--;
		else if ((v & SA_PG_REL_MASK) == SA_PG_REL_DONTNEED)
			sa_hc.rel_dontneed_pages--;
		/* MADV_FREE pages may keep old contents until the kernel reclaims them */
		if (!(v & SA_PG_ZERO) || (v & SA_PG_REL_MASK) == SA_PG_REL_FREE)
			zero = false;
		*ps = 0;
		sa_pm_set(a, s);
	}
	s->nreleased = 0;
	s->state = state;
	s->zeroed = zero;
	s->next = s->prev = NULL;
	sa_hc.inuse_pages += npages;
	if (state == SA_SPAN_LARGE) {
		sa_span_list_push(&sa_large_list, s, SA_LIST_NONE);
		sa_hc.large_allocs++;
		sa_hc.large_alloc_pages += npages;
		sa_hc.large_inuse_pages += npages;
		sa_hc.large_inuse_objs++;
	}
	sa_maybe_scavenge(now);
	sa_unlock(&sa_heap_lock);
	return s;
}

void sa_heap_free(struct sa_span *s)
{
	sa_lock(&sa_heap_lock);
	uint64_t now = sa_now_ms();
	/* an in-use span whose every page maps to it (page map invariants) */
	SA_ASSERT(s->state != SA_SPAN_FREE && s->npages > 0 && sa_hc.inuse_pages >= s->npages, s);
	SA_ASSERT(sa_span_of(s->base) == s &&
		  sa_span_of(s->base + (((uintptr_t)s->npages - 1) << SA_PAGE_SHIFT)) == s, s);
	sa_hc.inuse_pages -= s->npages;
	if (s->state == SA_SPAN_LARGE) {
		sa_span_list_remove(&sa_large_list, s);
		sa_hc.large_frees++;
		sa_hc.large_inuse_pages -= s->npages;
		sa_hc.large_inuse_objs--;
	}
	s->state = SA_SPAN_FREE;
	s->cls = 0;
	s->nreleased = 0;
	sa_insert_free(s, now);
	if (sa_scavenge_delay_ms == 0)
		sa_scavenge_span(s, __atomic_load_n(&sa_release_mode_cur, __ATOMIC_RELAXED), false);
	else
		sa_maybe_scavenge(now);
	sa_unlock(&sa_heap_lock);
}

/* Pages [a, a + n pages) leave a free run for in-use span s: released
 * pages move back to in-use, the page map points at s. */
static void sa_take_pages(struct sa_span *s, uintptr_t a, size_t n)
{
	for (size_t i = 0; i < n; i++, a += SA_PAGE_SIZE) {
		uint8_t *ps = sa_pstate(a);
		if ((*ps & SA_PG_REL_MASK) == SA_PG_REL_FREE)
			sa_hc.rel_free_pages--;
		else if ((*ps & SA_PG_REL_MASK) == SA_PG_REL_DONTNEED)
			sa_hc.rel_dontneed_pages--;
		*ps = 0;
		sa_pm_set(a, s);
	}
}

bool sa_heap_resize(struct sa_span *s, size_t npages)
{
	if (npages == 0 || npages > UINT32_MAX / 2 || s->state != SA_SPAN_LARGE)
		return false;
	bool done = false;
	sa_lock(&sa_heap_lock);
	uint64_t now = sa_now_ms();
	if (npages > s->npages) {
		/* grow: only into the free run that starts right after s */
		size_t extra = npages - s->npages;
		uintptr_t end = s->base + ((uintptr_t)s->npages << SA_PAGE_SHIFT);
		struct sa_span *n = sa_span_of(end);
		if (n && n != s && n->state == SA_SPAN_FREE && n->base == end && n->npages >= extra) {
			sa_freelist_remove(n);
			uint32_t rel = 0;
			for (size_t i = 0; i < extra; i++)
				if (*sa_pstate(end + (i << SA_PAGE_SHIFT)) & SA_PG_REL_MASK)
					rel++;
			sa_take_pages(s, end, extra);
			if (n->npages > extra) {
				/* the rest stays free, same descriptor */
				n->base = end + (extra << SA_PAGE_SHIFT);
				n->npages -= (uint32_t)extra;
				n->nreleased -= rel;
				sa_freelist_push(n);
			} else {
				sa_meta_span_delete(n);
			}
			s->npages = (uint32_t)npages;
			sa_hc.inuse_pages += extra;
			sa_hc.large_inuse_pages += extra;
			sa_hc.large_alloc_pages += extra;
			done = true;
		}
	} else if (npages < s->npages) {
		/* shrink: the tail becomes a free run (merged with a free neighbour) */
		struct sa_span *t = sa_meta_span_new();
		if (t) {
			size_t cut = s->npages - npages;
			t->base = s->base + (npages << SA_PAGE_SHIFT);
			t->npages = (uint32_t)cut;
			t->state = SA_SPAN_FREE;
			t->nreleased = 0;
			s->npages = (uint32_t)npages;
			sa_hc.inuse_pages -= cut;
			sa_hc.large_inuse_pages -= cut;
			sa_insert_free(t, now);
			if (sa_scavenge_delay_ms == 0)
				sa_scavenge_span(t, __atomic_load_n(&sa_release_mode_cur, __ATOMIC_RELAXED), false);
			done = true;
		}
	} else {
		done = true;
	}
	if (done)
		sa_maybe_scavenge(now);
	sa_unlock(&sa_heap_lock);
	return done;
}

void sa_heap_counters(struct sa_heap_counters *out)
{
	sa_lock(&sa_heap_lock);
	*out = sa_hc;
	out->reserved_bytes = sa_resv_bytes;
	sa_unlock(&sa_heap_lock);
}

/* The published state of a free page (how it was released, if it was). */
static inline uint8_t sa_free_page_state(uintptr_t a)
{
	uint8_t rel = *sa_pstate(a) & SA_PG_REL_MASK;
	return rel == SA_PG_REL_FREE ? SA_PAGE_RELEASED_FREE :
	       rel == SA_PG_REL_DONTNEED ? SA_PAGE_RELEASED_DONTNEED : SA_PAGE_IDLE;
}

static void sa_span_row(struct sa_span_table *t, uintptr_t base, uint64_t pages, uint8_t state,
			uint64_t idle_ms)
{
	t->spans_total++;
	if (t->nspans >= SA_STATS_MAX_SPANS)
		return;
	struct sa_span_stats *r = &t->spans[t->nspans++];
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->pages = pages;
	r->state = state;
	if (state != SA_PAGE_LARGE) {
		r->released_pages = state == SA_PAGE_IDLE ? 0 : pages;
		r->idle_ms = idle_ms;
	}
}

/* A free run as rows of one state each (idle / released per mode). */
static void sa_free_run_rows(struct sa_span_table *t, const struct sa_span *s, uint64_t now)
{
	uint64_t idle_ms = now - s->idle_since_ms;
	uintptr_t run = s->base;
	uint8_t cur = sa_free_page_state(s->base);
	for (size_t i = 1; i <= s->npages; i++) {
		uintptr_t a = s->base + (i << SA_PAGE_SHIFT);
		uint8_t st = i < s->npages ? sa_free_page_state(a) : 0;
		if (i < s->npages && st == cur)
			continue;
		sa_span_row(t, run, (a - run) >> SA_PAGE_SHIFT, cur, idle_ms);
		run = a;
		cur = st;
	}
}

void sa_heap_spans(struct sa_span_table *t)
{
	sa_lock(&sa_heap_lock);
	uint64_t now = sa_now_ms();
	/* every row is counted in spans_total, rows past the bound are not stored */
	for (struct sa_span *s = sa_large_list; s; s = s->next)
		sa_span_row(t, s->base, s->npages, SA_PAGE_LARGE, 0);
	for (uint32_t i = 0; i < SA_EXACT_LISTS; i++)
		for (struct sa_span *s = sa_free_lists[i]; s; s = s->next)
			sa_free_run_rows(t, s, now);
	sa_unlock(&sa_heap_lock);
}

static inline void sa_map_set(struct sa_arena_table *t, uint64_t i, uint8_t st)
{
	uint8_t *b = &t->page_states[i / 2];
	*b = (i & 1) ? (uint8_t)((*b & 15) | (st << 4)) : (uint8_t)((*b & 0xf0) | st);
}

/* The state of heap page `a` (inside the heap part of a reservation). In-use
 * pages always map to their span; a free page may map to a stale descriptor,
 * which never covers it as an in-use span. */
static uint8_t sa_heap_page_state(uintptr_t a)
{
	const struct sa_span *s = sa_span_of(a);
	if (s && (s->state == SA_SPAN_SMALL || s->state == SA_SPAN_LARGE) && a >= s->base &&
	    a - s->base < ((uintptr_t)s->npages << SA_PAGE_SHIFT))
		return s->state == SA_SPAN_SMALL ? SA_PAGE_SMALL : SA_PAGE_LARGE;
	return sa_free_page_state(a);
}

void sa_heap_arenas(struct sa_arena_table *t)
{
	sa_lock(&sa_heap_lock);
	t->narenas = 0;
	t->arenas_total = sa_hc.arenas;
	t->npages = 0;
	t->pages_total = sa_resv_bytes >> SA_PAGE_SHIFT;
	uint64_t n = sa_hc.arenas < SA_STATS_MAX_ARENAS ? sa_hc.arenas : SA_STATS_MAX_ARENAS;
	for (uint64_t k = 0; k < n; k++) {
		struct sa_arena_stats *r = &t->arenas[t->narenas++];
		r->start = sa_resv[k].start;
		r->length = sa_resv[k].length;
		r->heap_bytes = sa_resv[k].heap_bytes;
		r->first_page = t->npages;
		uint64_t pages = sa_resv[k].length >> SA_PAGE_SHIFT;
		uint64_t heap_pages = sa_resv[k].heap_bytes >> SA_PAGE_SHIFT;
		for (uint64_t i = 0; i < pages && t->npages < SA_STATS_MAX_PAGES; i++) {
			uintptr_t a = sa_resv[k].start + (i << SA_PAGE_SHIFT);
			sa_map_set(t, t->npages++, i < heap_pages ? sa_heap_page_state(a) : SA_PAGE_UNUSED);
		}
	}
	sa_unlock(&sa_heap_lock);
}

size_t sa_heap_debug_free_run(uintptr_t a, uintptr_t *base)
{
	size_t n = 0;
	sa_lock(&sa_heap_lock);
	for (uint32_t i = 0; i < SA_EXACT_LISTS && !n; i++)
		for (struct sa_span *s = sa_free_lists[i]; s; s = s->next)
			if (a >= s->base && a < s->base + ((uintptr_t)s->npages << SA_PAGE_SHIFT)) {
				n = s->npages;
				if (base)
					*base = s->base;
				break;
			}
	sa_unlock(&sa_heap_lock);
	return n;
}
