/* SPDX-License-Identifier: MIT */
/*
 * Statistics: collection (exact when no other thread allocates meanwhile)
 * and the text printers, generated from the X-macro lists of
 * include/spanalloc-stats.h.
 *
 * Per class: objects_inuse = out (handed to caches by the central list)
 * - objects sitting in thread caches - objects orphaned at fork;
 * mallocs = per-thread counters (+ exited threads); frees = mallocs - live.
 */
#include "sa-stats.h"
#include "spanalloc-stats.h"
#include "sa-os.h"
#include "sa-options.h"
#include "sa-span.h"
#include "sa-sizeclass.h"
#include "sa-meta.h"
#include "sa-heap.h"
#include "sa-central.h"
#include "sa-tcache-state.h"
#include "sa-background-state.h"
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

void sa_stats_collect(struct sa_stats *out)
{
	uint64_t cached[SA_NUM_CLASSES] = { 0 }, nmalloc[SA_NUM_CLASSES] = { 0 };
	memset(out, 0, sizeof(*out));

	sa_lock(&sa_reg_lock);
	for (struct sa_tcache *tc = sa_reg_head; tc; tc = tc->next) {
		out->threads++;
		for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
			cached[c] += __atomic_load_n(&tc->bins[c].count, __ATOMIC_RELAXED);
			nmalloc[c] += __atomic_load_n(&tc->bins[c].nmalloc, __ATOMIC_RELAXED);
		}
	}
	sa_unlock(&sa_reg_lock);

	out->nclasses = SA_NUM_CLASSES - 1;
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		struct sa_class_stats *cs = &out->classes[c - 1];
		uint64_t outn = 0, spans = 0;
		for (uint32_t sh = 0; sh < SA_SHARDS; sh++) {
			struct sa_central *ce = &sa_centrals[sh][c];
			sa_lock(&ce->lock);
			outn += ce->out;
			spans += ce->nspans;
			sa_unlock(&ce->lock);
		}
		uint64_t orphan = __atomic_load_n(&sa_orphaned[c], __ATOMIC_RELAXED);
		uint64_t dead = __atomic_load_n(&sa_dead_nmalloc[c], __ATOMIC_RELAXED);
		cs->class_id = c;
		cs->size = sa_class_size_table[c];
		cs->pages_per_span = sa_class_pages_table[c];
		cs->objects_per_span = sa_class_objs(c);
		cs->spans = spans;
		uint64_t gone = cached[c] + orphan;
		cs->objects_inuse = outn > gone ? outn - gone : 0;
		cs->objects_free = spans * cs->objects_per_span - cs->objects_inuse;
		cs->mallocs = nmalloc[c] + dead;
		out->heap_objects += cs->objects_inuse;
		out->heap_alloc += cs->objects_inuse * cs->size;
		out->mallocs += cs->mallocs;
		out->total_alloc += cs->mallocs * cs->size;
		out->tcache_bytes += cached[c] * cs->size;
		out->central_free_bytes += (spans * cs->objects_per_span - (outn < spans * cs->objects_per_span ? outn : spans * cs->objects_per_span)) * cs->size;
	}

	struct sa_heap_counters h;
	sa_heap_counters(&h);
	out->heap_sys = h.sys_pages << SA_PAGE_SHIFT;
	out->heap_inuse = h.inuse_pages << SA_PAGE_SHIFT;
	out->heap_idle = out->heap_sys - out->heap_inuse;
	out->heap_released_free = h.rel_free_pages << SA_PAGE_SHIFT;
	out->heap_released_dontneed = h.rel_dontneed_pages << SA_PAGE_SHIFT;
	out->heap_released = out->heap_released_free + out->heap_released_dontneed;
	out->large_allocs = h.large_allocs;
	out->large_frees = h.large_frees;
	out->large_inuse = h.large_inuse_pages << SA_PAGE_SHIFT;
	out->heap_objects += h.large_inuse_objs;
	out->heap_alloc += out->large_inuse;
	out->mallocs += h.large_allocs;
	out->total_alloc += h.large_alloc_pages << SA_PAGE_SHIFT;
	out->frees = out->mallocs - out->heap_objects;
	out->arenas = h.arenas;
	out->arena_reserved = h.reserved_bytes;
	out->heap_unused = out->heap_inuse > out->heap_alloc ? out->heap_inuse - out->heap_alloc : 0;
	out->heap_unreleased = out->heap_idle - out->heap_released;
	out->scavenges = h.scavenges;

	struct sa_meta_counters m;
	sa_meta_counters(&m);
	out->meta_sys = m.meta_sys;
	out->span_sys = m.span_sys;
	out->span_inuse = m.span_inuse;
	out->sys = out->heap_sys + out->meta_sys;
	out->pages_per_span_unit = SA_PAGE_SIZE;
	out->release_mode = (uint64_t)__atomic_load_n(&sa_release_mode_cur, __ATOMIC_RELAXED);
	out->scavenge_delay_ms = sa_scavenge_delay_ms;
	out->background_thread = (uint64_t)__atomic_load_n(&sa_bg_running, __ATOMIC_RELAXED);
	out->background_wakeups = __atomic_load_n(&sa_bg_wakeups, __ATOMIC_RELAXED);
}

void sa_spans_collect(struct sa_span_table *t)
{
	t->nspans = 0;
	t->spans_total = 0;
	sa_central_spans(t);
	sa_heap_spans(t);
}
