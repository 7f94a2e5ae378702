/* SPDX-License-Identifier: MIT */
/*
 * Start-up and global state: the free-list keys, the options (parsed once),
 * the pthread key and fork handlers, and the registry of live thread caches
 * (registered by a thread's first slow path, removed at thread exit).
 */
#include "sa-init.h"
#include "sa-os.h"
#include "sa-options.h"
#include "sa-freelist.h"
#include "sa-central.h"
#include "sa-tcache-state.h"
#include "sa-publish.h"
#include "sa-background.h"
#include "sa-fork.h"
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>

struct sa_keys sa_keys __attribute__((aligned(16)));
int sa_inited;
sa_lock_t sa_reg_lock;
struct sa_tcache *sa_reg_head;

static sa_lock_t sa_init_lock;
static pthread_key_t sa_tc_key;
static int sa_tc_key_ready;
static int sa_hooks_state; /* 0 none, 1 being installed, 2 installed */
static uint32_t sa_reg_seq; /* round-robin shard assignment */

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

void sa_tc_register(struct sa_tcache *tc)
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
