/* SPDX-License-Identifier: MIT */
/*
 * The page heap (mheap, sa-heap.c): spans of whole pages, one lock; the
 * scavenger releases idle free pages to the OS.
 */
#ifndef SA_HEAP_H
#define SA_HEAP_H

#include "sa-os.h"
#include "sa-span.h"

struct sa_span_table;
struct sa_arena_table;

/* Requests above this many bytes fail with ENOMEM without asking the OS. */
#define SA_MAX_REQUEST ((size_t)1 << 46)
/* Heap growth granule: at least 1 MiB (128 pages) per page-heap growth. */
#define SA_GROW_MIN_PAGES 128u

/* ---------- page heap (mheap) ---------- */
SA_HIDDEN struct sa_span *sa_heap_alloc(size_t npages, size_t align_pages, uint8_t state);
SA_HIDDEN void sa_heap_free(struct sa_span *s);
/* Resizes the in-use large span s to npages in place: shrinking frees the
 * tail pages; growing takes pages from the free run right after s. Returns
 * false (s unchanged) when that run is missing or too short. */
SA_HIDDEN bool sa_heap_resize(struct sa_span *s, size_t npages);
SA_HIDDEN size_t sa_heap_scavenge(bool force);
/* Every free page with MADV_DONTNEED, also those released with MADV_FREE. */
SA_HIDDEN size_t sa_heap_release_all_dontneed(void);
struct sa_heap_counters {
	uint64_t sys_pages, inuse_pages, rel_free_pages, rel_dontneed_pages;
	uint64_t large_allocs, large_frees, large_inuse_pages, large_inuse_objs;
	uint64_t arenas, scavenges;
	uint64_t large_alloc_pages; /* cumulative pages of large allocations (and in-place growth) */
	uint64_t reserved_bytes;    /* all arena reservations (filled by sa_heap_counters) */
};
SA_HIDDEN void sa_heap_counters(struct sa_heap_counters *out);
/* Appends large objects then free runs to t (bounded); counts all in spans_total. */
SA_HIDDEN void sa_heap_spans(struct sa_span_table *t);
/* Appends small-object spans of every shard and class to t. */
/* Fills t with the arena reservations and the page-state map. */
SA_HIDDEN void sa_heap_arenas(struct sa_arena_table *t);
/* Test hook: the free run containing `a` (0 if `a` is not in a free run). */
SA_HIDDEN size_t sa_heap_debug_free_run(uintptr_t a, uintptr_t *base);
extern sa_lock_t sa_heap_lock SA_HIDDEN;

#endif
