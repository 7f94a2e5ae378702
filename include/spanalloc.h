/* SPDX-License-Identifier: MIT */
/*
 * spanalloc: a Go/TCMalloc-style span allocator (size classes up to 32 KiB,
 * per-thread caches, per-class central lists, a page heap of 8 KiB pages over
 * 64 MiB arenas, a scavenger returning idle pages with MADV_FREE or
 * MADV_DONTNEED). Link libspanalloc (sa_* API) or LD_PRELOAD
 * libspanalloc-malloc.so (which also provides malloc/free/...).
 *
 * Semantics: every pointer is 16-byte aligned; sa_malloc(0) returns a minimal
 * (16-byte) object; sa_realloc(p, 0) frees p and returns NULL (glibc
 * behaviour); a large (> 32 KiB) object resized to another large size stays
 * where it is when it shrinks, or grows into free pages that follow it (no
 * copy); on failure NULL is returned and errno = ENOMEM. A double free
 * or a free of a pointer not owned by spanalloc aborts the process with a
 * message on stderr.
 *
 * Hardening: free-list links are encoded with two per-process random
 * secrets and the object's address (like glibc's safe-linking and
 * mimalloc's encoded free lists) and carry a check word; a malloc that pops
 * an object whose link was overwritten (a use-after-free write) aborts with
 * "spanalloc: malloc(): corrupted free list (a write to a freed object):
 * object 0x..., size class N (M bytes)" instead of returning an address of
 * the writer's choosing.
 *
 * Environment: SPANALLOC_MADV=free|dontneed selects the release mode
 * (default free); SPANALLOC_SCAVENGE_MS=<ms> sets the idle delay after which
 * a free page-heap run is released at the next page-heap operation (default
 * 1000 ms; 0 releases at once); SPANALLOC_TCACHE_BYTES=<bytes> caps the free
 * objects one thread's cache may hold (default 2097152 = 2 MiB; 0 disables
 * the thread caches: every malloc/free goes to the central lists);
 * SPANALLOC_BACKGROUND=0 disables the background thread that otherwise
 * publishes the statistics within ~100 ms and runs the scavenger on time
 * even when the program is idle (see spanalloc-stats.h). The thread makes
 * the process multithreaded, which unshare(2)/setns(2) of a user or mount
 * namespace refuse: libspanalloc-malloc wraps both to stop the thread for
 * the call; a program linking libspanalloc that needs them sets
 * SPANALLOC_BACKGROUND=0.
 * SPANALLOC_DEBUG=1 turns the thread caches off, fills every freed small
 * object after its first 16 bytes with 0xa5 and checks those bytes when the
 * object is handed out again: a use-after-free write aborts with
 * "spanalloc: use-after-free write detected: object 0x..., size class N
 * (M bytes), byte offset K" (slower; for finding bugs).
 *
 * Libraries: libspanalloc (this API; pkg-config spanalloc) leaves the
 * program's malloc alone; libspanalloc-malloc (pkg-config spanalloc-malloc,
 * or LD_PRELOAD=libspanalloc-malloc.so) replaces malloc/free/calloc/realloc/
 * posix_memalign/aligned_alloc/memalign/valloc/pvalloc/malloc_usable_size
 * (and unshare/setns, see above, and the credential calls setuid, setgid,
 * seteuid, setegid, setreuid, setregid, setresuid, setresgid, setgroups,
 * initgroups and capset, which stop the thread for the call so that glibc's
 * every-thread setxid never finds it with other capabilities than the
 * caller's) and also exports this API.
 */
#ifndef SPANALLOC_H
#define SPANALLOC_H

#include <stddef.h>
#include <stdint.h>
#include "spanalloc-stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SA_MAX_SMALL_SIZE, SA_PAGE_SIZE and enum sa_release_mode are in
 * spanalloc-stats.h: the statistics describe them too. */

void *sa_malloc(size_t size);
void sa_free(void *p);
void *sa_calloc(size_t n, size_t size);
void *sa_realloc(void *p, size_t size);
void *sa_reallocarray(void *p, size_t n, size_t size);
int sa_posix_memalign(void **out, size_t alignment, size_t size);
void *sa_aligned_alloc(size_t alignment, size_t size);
void *sa_memalign(size_t alignment, size_t size);
size_t sa_usable_size(const void *p);
/* Size the allocator would really use for a request of `size` bytes. */
size_t sa_good_size(size_t size);

/* Fills *out (exact when no other thread allocates concurrently) and
 * publishes the statistics segment. Returns 0 or an errno. */
int sa_stats(struct sa_stats *out);
/* Fills *out with the span table (also published in the segment).
 * Returns 0 or an errno. */
int sa_spans(struct sa_span_table *out);
/* Releases every free page-heap page to the OS now (current mode). Returns
 * the number of bytes newly released. Also flushes the caller's thread cache. */
size_t sa_scavenge(void);
/* Releases every free page-heap page with MADV_DONTNEED now, whatever the
 * release mode, including pages released earlier with MADV_FREE (which the
 * kernel may still count in rss until memory pressure): afterwards no free
 * page is resident and heap_released_free is 0. Returns the bytes advised.
 * Also flushes the caller's thread cache. */
size_t sa_release_all(void);
/* Fills *out with the arena reservations and the page-state map (also
 * published in the segment; ~270 KiB: allocate it, do not put it on a
 * stack). Returns 0 or an errno. */
int sa_arenas(struct sa_arena_table *out);
/* Returns 0 or EINVAL. */
int sa_set_release_mode(enum sa_release_mode mode);
/* Sets the idle delay (ms) after which the scavenger releases a free run, as
 * SPANALLOC_SCAVENGE_MS does at start-up; SA_SCAVENGE_NEVER leaves every
 * release to sa_scavenge(). */
#define SA_SCAVENGE_NEVER UINT64_MAX
void sa_set_scavenge_delay(uint64_t ms);
enum sa_release_mode sa_get_release_mode(void);
/* Returns the calling thread's cached objects to the central lists. */
void sa_thread_flush(void);

#ifdef __cplusplus
}
#endif
#endif
