/* SPDX-License-Identifier: MIT */
/*
 * Encoded free-list links, inline for the fast paths. The keys are set
 * once at start-up (sa-init.c defines sa_keys).
 */
#ifndef SA_FREELIST_H
#define SA_FREELIST_H

#include "sa-os.h"

/*
 * Encoded free lists (hardening). Every free small object, wherever it is
 * listed (a thread cache bin, a batch in transit, a span's free list), holds
 *   word 0: link = next ^ (address of word 0) ^ sa_keys.link
 *   word 1: tag  = link ^ sa_keys.free
 * with two per-process random secrets (getrandom at start-up, kept across
 * fork). Popping an object checks its tag before decoding its link, so a
 * use-after-free write into word 0 or 1 aborts with "corrupted free list"
 * (sa_die_link, no malloc) instead of steering a later malloc to an address
 * of the writer's choosing; forging a link needs both secrets. A free of an
 * object whose words already carry a valid tag is a double free; allocation
 * clears word 1 so a live object does not look free. The link is not
 * rotated or otherwise mixed (glibc's safe-linking is not either): any
 * change to word 0 already fails the tag check, and each operation more
 * on malloc's path waits on the load of the popped object.
 */
struct sa_keys {
	uint64_t free; /* tag key (odd) */
	uint64_t link; /* link key */
};
extern struct sa_keys sa_keys SA_HIDDEN;


#ifndef SA_PLAIN_LINKS
/* Marks o free and links it to next (NULL ends a list). */
static inline void sa_link_set(void *o, void *next)
{
	void **w = o;
	uintptr_t e = (uintptr_t)next ^ ((uintptr_t)o ^ sa_keys.link);
	w[0] = (void *)e;
	w[1] = (void *)(e ^ sa_keys.free);
}
/* The object after free object o; aborts if o's words were overwritten. */
static inline void *sa_link_next(void *o)
{
	void **w = o;
	uintptr_t e = (uintptr_t)w[0];
	if (unlikely((e ^ (uintptr_t)w[1]) != sa_keys.free))
		sa_die_link(o);
	return (void *)(e ^ ((uintptr_t)o ^ sa_keys.link));
}
/* True if o carries a valid free tag (double-free check). */
static inline bool sa_link_is_free(const void *o)
{
	void *const *w = o;
	return ((uintptr_t)w[0] ^ (uintptr_t)w[1]) == sa_keys.free;
}
#else
/* -Dspanalloc_hardening=false, for bench/alloc/run-harden-cost only: the
 * link in the clear and a constant mark in word 1 (the double-free check
 * spanalloc had before the links were encoded). Not checked on pop. */
static inline void sa_link_set(void *o, void *next)
{
	void **w = o;
	w[0] = next;
	w[1] = (void *)sa_keys.free;
}
static inline void *sa_link_next(void *o)
{
	return ((void **)o)[0];
}
static inline bool sa_link_is_free(const void *o)
{
	return (uintptr_t)((void *const *)o)[1] == sa_keys.free;
}
#endif

#endif
