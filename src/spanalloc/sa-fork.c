/* SPDX-License-Identifier: MIT */
/*
 * Fork (pthread_atfork handlers, installed by sa_init_slow): take every lock
 * before, release in both processes; in the child, forget the threads that
 * do not exist there. Lock order: publish -> registry -> class -> heap ->
 * meta.
 */
#include "sa-fork.h"
#include "sa-os.h"
#include "sa-meta.h"
#include "sa-heap.h"
#include "sa-central.h"
#include "sa-tcache-state.h"
#include "sa-publish.h"
#include "sa-background.h"

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
