/* SPDX-License-Identifier: MIT */
/*
 * Thread caches (mcache): their slow paths and the per-thread cache limit.
 *
 * The thread cache is a zero-initialised initial-exec TLS block: no lock, no
 * atomic read-modify-write on the fast paths (sa-tcache.h). A new thread's
 * first allocation finds empty lists and its first free finds max == 0, so
 * both land here and register the cache (sa_tc_register, sa-init.c). A
 * pthread key destructor returns the cache to the central lists at thread
 * exit; afterwards max stays 0 and every operation of that thread goes
 * straight to the central lists.
 */
#include "sa-tcache.h"
#include "sa-options.h"
#include "sa-central.h"
#include "sa-publish.h"
#include "sa-init.h"
#include <errno.h>

__thread struct sa_tcache sa_tc __attribute__((tls_model("initial-exec")));

/* Returns the `n` objects at the head of bin `b` (class `cls`) to the
 * central lists. */
static void sa_bin_flush_head(struct sa_bin *b, uint32_t cls, uint32_t n)
{
	if (n > b->count)
		n = b->count;
	if (!n)
		return;
	b->head = sa_central_flush(cls, b->head, n);
	b->count -= n;
}

/*
 * The cache limit. Each class's max (objects) starts at 0 and grows on slow
 * paths: doubling up to one batch (slow start: a class used now and then
 * keeps few objects), then by one batch up to two batches. The sum of
 * max * class size over all classes (tc->max_bytes, bytes) never exceeds
 * sa_tcache_cap_bytes: to grow one class past it, other classes' limits are
 * shrunk round-robin (their excess objects flushed). Since count <= max
 * always holds, the thread's cached bytes never exceed the cap.
 */
static void sa_tc_grow(struct sa_tcache *tc, uint32_t cls)
{
	struct sa_bin *b = &tc->bins[cls];
	uint32_t batch = sa_class_batch(cls);
	uint32_t want = b->max < batch ? (b->max ? 2 * b->max : 1) : b->max + batch;
	if (want > batch && b->max < batch)
		want = batch;
	if (want > 2 * batch)
		want = 2 * batch;
	if (want <= b->max)
		return;
	const uint64_t size = sa_class_size_table[cls];
	const uint64_t cap = sa_tcache_cap_bytes;
	uint64_t need = (uint64_t)(want - b->max) * size;
	/* shrink other classes, at most one round over all of them (nothing to
	 * take while no class holds a limit, e.g. with cap 0) */
	for (uint32_t tries = 0; tc->max_bytes && tc->max_bytes + need > cap && tries < SA_NUM_CLASSES;
	     tries++) {
		uint32_t v = tc->victim;
		tc->victim = v + 1 < SA_NUM_CLASSES ? v + 1 : 1;
		struct sa_bin *vb = &tc->bins[v];
		if (v == cls || !vb->max)
			continue;
		uint32_t cut = vb->max - vb->max / 2; /* halve, at least 1 */
		vb->max -= cut;
		tc->max_bytes -= (uint64_t)cut * sa_class_size_table[v];
		if (vb->count > vb->max)
			sa_bin_flush_head(vb, v, vb->count - vb->max);
	}
	if (tc->max_bytes + need > cap) {
		/* still over: grow by what fits */
		uint64_t room = cap > tc->max_bytes ? (cap - tc->max_bytes) / size : 0;
		if (room == 0)
			return;
		if (room < want - b->max)
			want = b->max + (uint32_t)room;
		need = (uint64_t)(want - b->max) * size;
	}
	b->max = want;
	tc->max_bytes += need;
}

void *sa_malloc_slow(uint32_t cls)
{
	struct sa_tcache *tc = &sa_tc;
	if (tc->state == SA_TC_NEW)
		sa_tc_register(tc);
	void *head = NULL;
	struct sa_bin *b = &tc->bins[cls];
	if (tc->state == SA_TC_LIVE && b->head)  /* refilled by a recursive call during registration */
		goto pop;
	if (tc->state == SA_TC_LIVE)
		sa_tc_grow(tc, cls);
	if (tc->state == SA_TC_DEAD || b->max == 0) {
		/* no cache (thread gone, or cap 0): one object straight from the central list */
		if (!sa_central_refill(tc->shard, cls, &head, 1)) {
			errno = ENOMEM;
			return NULL;
		}
		if (tc->state == SA_TC_DEAD)
			__atomic_fetch_add(&sa_dead_nmalloc[cls], 1, __ATOMIC_RELAXED);
		else
			b->nmalloc++;
		((void **)head)[1] = NULL;
		return head;
	}
	uint32_t want = sa_class_batch(cls);
	if (want > b->max)
		want = b->max;
	uint32_t n = sa_central_refill(tc->shard, cls, &head, want);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	/* the list was empty (checked above): the batch becomes the list */
	b->head = head;
	b->count = n;
	sa_publish_maybe();
pop:;
	void **o = b->head;
	b->head = sa_link_next(o);
	b->count--;
	b->nmalloc++;
	o[1] = NULL;
	return o;
}

void sa_free_slow(void *p, uint32_t cls)
{
	struct sa_tcache *tc = &sa_tc;
	void **o = p;
	if (tc->state == SA_TC_NEW)
		sa_tc_register(tc);
	if (tc->state == SA_TC_DEAD) {
		sa_link_set(o, NULL);
		sa_central_flush(cls, o, 1);
		return;
	}
	struct sa_bin *b = &tc->bins[cls];
	if (b->max == 0 && sa_span_of((uintptr_t)p)->shard != tc->shard) {
		/* This thread's cache of the class has not started (its first
		 * free of the class, or cap 0) and the object comes from another
		 * shard's span (another thread allocated it): send it home. As
		 * the cache's first object it would be handed out by every
		 * following malloc, and this thread would write into a cache
		 * line the other thread still uses (passive false sharing,
		 * Hoard's cache-scratch). Later foreign frees are reused
		 * locally: sending them all home made cross-thread workloads
		 * 1.2-3x slower. */
		sa_link_set(o, NULL);
		sa_central_flush(cls, o, 1);
		sa_tc_grow(tc, cls); /* the next free of the class is cached */
		return;
	}
	sa_link_set(o, b->head);
	b->head = o;
	b->count++;
	if (b->count <= b->max)
		return;
	sa_tc_grow(tc, cls);
	if (b->count <= b->max)
		return;
	/* flush `batch` objects (at least the excess) from the head, keep the rest */
	uint32_t batch = sa_class_batch(cls);
	if (batch < b->count - b->max)
		batch = b->count - b->max;
	sa_bin_flush_head(b, cls, batch);
	sa_publish_maybe();
}

