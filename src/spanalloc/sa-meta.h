/* SPDX-License-Identifier: MIT */
/*
 * Metadata pools (sa-meta.c): span descriptors and page-map arenas from
 * spanalloc's own mappings, never malloc.
 */
#ifndef SA_META_H
#define SA_META_H

#include "sa-os.h"
#include "sa-span.h"

/* ---------- metadata pools ---------- */
SA_HIDDEN struct sa_span *sa_meta_span_new(void);
SA_HIDDEN void sa_meta_span_delete(struct sa_span *s);
SA_HIDDEN void *sa_meta_alloc_pages(size_t bytes); /* zeroed, counted in meta_sys */
struct sa_meta_counters { uint64_t meta_sys, span_sys, span_inuse; };
SA_HIDDEN void sa_meta_counters(struct sa_meta_counters *out);
extern sa_lock_t sa_meta_lock SA_HIDDEN;

#endif
