/* SPDX-License-Identifier: MIT */
/*
 * Central lists (mcentral, sa-central.c): per shard and class, one lock.
 */
#ifndef SA_CENTRAL_H
#define SA_CENTRAL_H

#include "sa-os.h"
#include "sa-sizeclass.h"

struct sa_span_table;

/* ---------- central lists (mcentral) ---------- */
/* Threads are spread round-robin over SA_SHARDS independent sets of central
 * lists (like jemalloc's arenas), so two threads rarely carve objects from
 * the same span and never share its cache lines (false sharing). A freed
 * object always returns to the shard owning its span. */
#define SA_SHARDS 4u
struct sa_central {
	sa_lock_t lock;
	struct sa_span *partial; /* spans with free objects */
	struct sa_span *full;    /* spans with none */
	uint64_t out;            /* objects handed to caches (live or cached) */
	uint64_t nspans;
} __attribute__((aligned(64)));
extern struct sa_central sa_centrals[SA_SHARDS][SA_NUM_CLASSES] SA_HIDDEN;
/* Allocations of exited threads / of threads gone at fork (atomic adds). */
extern uint64_t sa_dead_nmalloc[SA_NUM_CLASSES] SA_HIDDEN;
/* Objects lost in the caches of threads that do not exist in a fork child. */
extern uint64_t sa_orphaned[SA_NUM_CLASSES] SA_HIDDEN;
/* Returns a list of up to `want` objects (encoded links) in *head. */
SA_HIDDEN uint32_t sa_central_refill(uint32_t shard, uint32_t cls, void **head, uint32_t want);
/* Returns the first `n` objects of the list `head` to their spans; returns
 * the rest of the list (each link is decoded once, here). */
SA_HIDDEN void *sa_central_flush(uint32_t cls, void *head, uint32_t n);
/* Returns empty spans of every class to the page heap. */
SA_HIDDEN void sa_central_release_empty(void);

SA_HIDDEN void sa_central_spans(struct sa_span_table *t);

#endif
