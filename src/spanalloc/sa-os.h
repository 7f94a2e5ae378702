/* SPDX-License-Identifier: MIT */
/*
 * The bottom layer: spinlocks, fatal errors without malloc (sa_die), internal
 * assertions, the use-after-free fill of SPANALLOC_DEBUG, and the OS calls
 * (mmap, madvise, clock). sa-os.c.
 */
#ifndef SA_OS_H
#define SA_OS_H

#include "sa-base.h"

/* ---------- locks: tiny spinlocks, fork-reset by storing 0 ---------- */
typedef struct { int v; } sa_lock_t;
SA_HIDDEN void sa_lock_slow(sa_lock_t *l);
static inline void sa_lock(sa_lock_t *l)
{
	if (likely(__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE) == 0))
		return;
	sa_lock_slow(l);
}
static inline bool sa_trylock(sa_lock_t *l)
{
	return __atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE) == 0;
}
static inline void sa_unlock(sa_lock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

SA_HIDDEN __attribute__((noreturn, cold)) void sa_die_link(const void *obj);

SA_HIDDEN __attribute__((noreturn)) void sa_die(const char *what, const void *p);

/* Internal invariants (the ones the comments state), checked where the
 * build says so: meson -Dspanalloc_asserts (auto: every build type but
 * release, so the test build checks them) defines SA_ASSERTS. A failed one
 * aborts through sa_die, which never allocates. Not on the fast paths. */
#ifdef SA_ASSERTS
#define SA_ASSERT(cond, p) ((cond) ? (void)0 : sa_die("assertion failed: " #cond, (p)))
#else
#define SA_ASSERT(cond, p) ((void)0)
#endif

/* SPANALLOC_DEBUG=1 (sa-options.h): freed bytes filled and checked. */
#define SA_DEBUG_FILL 0xa5u
SA_HIDDEN void sa_debug_fill(void *o, uint32_t size);
SA_HIDDEN void sa_debug_check(void *o, uint32_t size);

/* ---------- OS ---------- */
SA_HIDDEN void *sa_os_map(size_t bytes, size_t align);
SA_HIDDEN uint64_t sa_now_ms(void);
SA_HIDDEN int sa_os_release(void *p, size_t bytes, int mode); /* returns the mode used */
/* Names an anonymous mapping (CONFIG_ANON_VMA_NAME); silently nothing elsewhere. */
SA_HIDDEN void sa_os_name(void *p, size_t bytes, const char *name);

#endif
