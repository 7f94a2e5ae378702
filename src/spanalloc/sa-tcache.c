/* SPDX-License-Identifier: MIT */
/*
 * Thread caches (mcache) and their slow paths, the thread registry, start-up
 * and fork handling.
 *
 * The thread cache is a zero-initialised initial-exec TLS block: no lock, no
 * atomic read-modify-write on the fast paths (sa-internal.h). A new thread's
 * first allocation finds empty lists and its first free finds max == 0, so
 * both land here and register the cache. A pthread key destructor returns
 * the cache to the central lists at thread exit; afterwards max stays 0 and
 * every operation of that thread goes straight to the central lists.
 */
#include "sa-internal.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

__thread struct sa_tcache sa_tc __attribute__((tls_model("initial-exec")));
struct sa_keys sa_keys __attribute__((aligned(16)));
int sa_inited;
sa_lock_t sa_reg_lock;
struct sa_tcache *sa_reg_head;

static sa_lock_t sa_init_lock;
static pthread_key_t sa_tc_key;
static int sa_tc_key_ready;
static int sa_hooks_state; /* 0 none, 1 being installed, 2 installed */
static uint32_t sa_reg_seq; /* round-robin shard assignment */

uint32_t sa_class_objs(uint32_t cls)
{
	return (uint32_t)(((size_t)sa_class_pages_table[cls] << SA_PAGE_SHIFT) / sa_class_size_table[cls]);
}

/* Objects moved per refill/flush: about SA_BATCH_BYTES worth, 2..64 objects.
 * A thread's cache of one class swings between empty and two batches, so the
 * batch size in bytes is what an idle thread cache costs in RSS per class. */
#define SA_BATCH_BYTES 8192u
uint32_t sa_class_batch(uint32_t cls)
{
	uint32_t n = SA_BATCH_BYTES / sa_class_size_table[cls];
	return n < 2 ? 2 : n > 64 ? 64 : n;
}

static void sa_tc_destructor(void *arg);

static void sa_install_hooks(void)
{
	int expect = 0;
	if (!__atomic_compare_exchange_n(&sa_hooks_state, &expect, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	/* Both may allocate in some libcs; sa_inited is already set, so that
	 * recursion is served normally. */
	if (pthread_key_create(&sa_tc_key, sa_tc_destructor) == 0)
		__atomic_store_n(&sa_tc_key_ready, 1, __ATOMIC_RELEASE);
	pthread_atfork(sa_fork_prepare, sa_fork_parent, sa_fork_child);
	__atomic_store_n(&sa_hooks_state, 2, __ATOMIC_RELEASE);
}

void sa_init_slow(void)
{
	int saved_errno = errno;
	sa_lock(&sa_init_lock);
	if (!sa_inited) {
		uint64_t k[2] = { 0, 0 };
		if (syscall(SYS_getrandom, k, sizeof(k), 1 /* GRND_NONBLOCK */) != (long)sizeof(k))
			k[0] = k[1] = 0;
		/* without getrandom: weaker, but still differs per run (ASLR, time) */
		k[0] ^= (uint64_t)(uintptr_t)&k * 0x9e3779b97f4a7c15ULL ^ sa_now_ms();
		k[1] ^= ((uint64_t)(uintptr_t)&sa_keys ^ sa_now_ms()) * 0xbf58476d1ce4e5b9ULL;
		sa_keys.free = k[0] | 1;
		sa_keys.link = k[1];
		sa_options_init();
		__atomic_store_n(&sa_inited, 1, __ATOMIC_RELEASE);
	}
	sa_unlock(&sa_init_lock);
	sa_install_hooks();
#ifndef SA_MALLOC_OVERRIDE
	/* the sa_* API is called from the program's own code: safe to start
	 * the thread here (the malloc replacement starts it from its
	 * constructor instead, see sa-background.c) */
	sa_bg_start();
#endif
	errno = saved_errno;
}

static void sa_tc_register(struct sa_tcache *tc)
{
	sa_ensure_init();
	/* every max stays 0 (each class starts slow, see sa_tc_grow) */
	tc->max_bytes = 0;
	tc->victim = 1;
	tc->state = SA_TC_LIVE;
	sa_lock(&sa_reg_lock);
	tc->shard = sa_reg_seq++ % SA_SHARDS;
	tc->prev = NULL;
	tc->next = sa_reg_head;
	if (sa_reg_head)
		sa_reg_head->prev = tc;
	sa_reg_head = tc;
	sa_unlock(&sa_reg_lock);
	if (__atomic_load_n(&sa_tc_key_ready, __ATOMIC_ACQUIRE))
		pthread_setspecific(sa_tc_key, tc);
}

void sa_tc_flush_all(struct sa_tcache *tc)
{
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
		struct sa_bin *b = &tc->bins[c];
		if (b->count) {
			void *h = b->head;
			uint32_t n = b->count;
			b->head = NULL;
			b->count = 0;
			sa_central_flush(c, h, n);
		}
	}
}

static void sa_tc_destructor(void *arg)
{
	struct sa_tcache *tc = &sa_tc;
	(void)arg;
	if (tc->state != SA_TC_LIVE)
		return;
	sa_tc_flush_all(tc);
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++)
		tc->bins[c].max = 0;
	tc->max_bytes = 0;
	tc->state = SA_TC_DEAD;
	sa_lock(&sa_reg_lock);
	for (uint32_t c = 1; c < SA_NUM_CLASSES; c++)
		__atomic_fetch_add(&sa_dead_nmalloc[c], tc->bins[c].nmalloc, __ATOMIC_RELAXED);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		sa_reg_head = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	tc->next = tc->prev = NULL;
	sa_unlock(&sa_reg_lock);
	sa_publish_maybe();
}

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

void sa_free_nonsmall(void *p, struct sa_span *s)
{
	if (!s)
		sa_die("free(): invalid pointer (not owned by spanalloc)", p);
	if (s->state == SA_SPAN_SMALL)
		sa_die("free(): invalid pointer (span being set up)", p);
	if (s->state != SA_SPAN_LARGE) {
		if (s->state == SA_SPAN_FREE && (uintptr_t)p >= s->base &&
		    (uintptr_t)p - s->base < ((uintptr_t)s->npages << SA_PAGE_SHIFT))
			sa_die("free(): double free detected (page already free)", p);
		sa_die("free(): invalid pointer", p);
	}
	if ((uintptr_t)p != s->base)
		sa_die("free(): invalid pointer (inside a large object)", p);
	sa_heap_free(s);
	sa_publish_maybe();
}

void *sa_malloc_large(size_t n, size_t align, bool zero)
{
	if (n > SA_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	sa_ensure_init();
	size_t npages = (n + SA_PAGE_SIZE - 1) >> SA_PAGE_SHIFT;
	if (npages == 0)
		npages = 1;
	size_t align_pages = align > SA_PAGE_SIZE ? align >> SA_PAGE_SHIFT : 0;
	struct sa_span *s = sa_heap_alloc(npages, align_pages, SA_SPAN_LARGE);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (zero && !s->zeroed)
		memset((void *)s->base, 0, n);
	sa_publish_maybe();
	return (void *)s->base;
}

/* ---------- fork: take every lock before, release in both processes ---------- */
void sa_fork_prepare(void)
{
	sa_lock(&sa_publish_lock);
	sa_lock(&sa_reg_lock);
	for (uint32_t sh = 0; sh < SA_SHARDS; sh++)
		for (uint32_t c = 1; c < SA_NUM_CLASSES; c++)
			sa_lock(&sa_centrals[sh][c].lock);
	sa_lock(&sa_heap_lock);
	sa_lock(&sa_meta_lock);
}

void sa_fork_parent(void)
{
	sa_unlock(&sa_meta_lock);
	sa_unlock(&sa_heap_lock);
	for (uint32_t sh = 0; sh < SA_SHARDS; sh++)
		for (uint32_t c = 1; c < SA_NUM_CLASSES; c++)
			sa_unlock(&sa_centrals[sh][c].lock);
	sa_unlock(&sa_reg_lock);
	sa_unlock(&sa_publish_lock);
}

void sa_fork_child(void)
{
	/* Other threads do not exist in the child: their cached objects are
	 * orphaned (counted, never reused); their counters move to dead_nmalloc. */
	struct sa_tcache *self = &sa_tc;
	for (struct sa_tcache *tc = sa_reg_head, *next; tc; tc = next) {
		next = tc->next;
		if (tc == self)
			continue;
		for (uint32_t c = 1; c < SA_NUM_CLASSES; c++) {
			sa_dead_nmalloc[c] += tc->bins[c].nmalloc;
			sa_orphaned[c] += tc->bins[c].count;
		}
	}
	if (self->state == SA_TC_LIVE) {
		self->prev = self->next = NULL;
		sa_reg_head = self;
	} else {
		sa_reg_head = NULL;
	}
	sa_publish_fork_child();
	sa_fork_parent();
	sa_bg_fork_child();
}
