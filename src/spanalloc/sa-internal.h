/* SPDX-License-Identifier: MIT */
/*
 * spanalloc internals: constants, the span descriptor, the page map, the
 * thread cache and the inline fast paths shared by the sa_* API and the
 * malloc overrides (sa-preload.c).
 *
 * Layers, one direction: thread cache (sa-tcache.c, no locks) -> central
 * lists (sa-central.c, one lock per class) -> page heap (sa-heap.c, one lock)
 * -> OS (sa-os.c, mmap/madvise). Metadata comes from sa-meta.c (own mmap'd
 * pools, never malloc). Lock order: publish -> registry -> class -> heap ->
 * meta.
 */
#ifndef SA_INTERNAL_H
#define SA_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "spanalloc.h"
#include "sa-sizeclass-table.h"

#define SA_HIDDEN __attribute__((visibility("hidden")))
#define SA_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define SA_PAGE_SHIFT 13u                       /* 8 KiB pages */
#define SA_ARENA_SHIFT 26u                      /* 64 MiB arenas */
#define SA_ARENA_BYTES ((size_t)1 << SA_ARENA_SHIFT)
#define SA_ARENA_PAGES ((size_t)1 << (SA_ARENA_SHIFT - SA_PAGE_SHIFT)) /* 8192 */
#define SA_ADDR_BITS 47u                        /* x86-64/arm64 user space */
#define SA_L1_ENTRIES ((size_t)1 << (SA_ADDR_BITS - SA_ARENA_SHIFT))
/* Requests above this many bytes fail with ENOMEM without asking the OS. */
#define SA_MAX_REQUEST ((size_t)1 << 46)
/* Heap growth granule: at least 1 MiB (128 pages) per page-heap growth. */
#define SA_GROW_MIN_PAGES 128u

_Static_assert(SA_NUM_CLASSES <= SA_STATS_MAX_CLASSES, "stats segment bound");

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

/* ---------- spans ---------- */
enum sa_span_state { SA_SPAN_NONE = 0, SA_SPAN_FREE = 1, SA_SPAN_SMALL = 2, SA_SPAN_LARGE = 3 };
enum sa_span_list { SA_LIST_NONE = 0, SA_LIST_PARTIAL = 1, SA_LIST_FULL = 2, SA_LIST_HEAP = 3 };

/* One cache line (64 bytes, aligned): two threads working on neighbouring
 * descriptors never share a line (false sharing made the two-thread
 * benchmark 1.6x slower). The fields the free fast path reads (base, limit,
 * elem_size, div_mul, cls) sit in the first 32 bytes. */
struct sa_span {
	uintptr_t base;         /* first byte (8 KiB aligned) */
	uint32_t limit;         /* SMALL: nobjs * elem_size (bytes, <= 64 KiB) */
	uint32_t npages;        /* length in 8 KiB pages */
	uint32_t elem_size;     /* SMALL: object size (bytes) */
	uint32_t div_mul;       /* SMALL: (off * div_mul) >> 32 == off / elem_size */
	uint8_t state;          /* enum sa_span_state */
	uint8_t cls;            /* size class; 0 unless state == SMALL */
	uint8_t list;           /* enum sa_span_list */
	uint8_t zeroed;         /* LARGE: every page known zero at allocation */
	uint8_t shard;          /* SMALL: central shard owning the span (< SA_SHARDS) */
	uint16_t nobjs;         /* SMALL: objects per span (<= 512) */
	union {
		struct {
			uint16_t nalloc; /* SMALL: objects handed out (caches or live) */
			uint16_t nbump;  /* SMALL: objects carved so far (lazy carving) */
		};
		uint32_t nreleased;     /* FREE: pages currently released to the OS */
	};
	union {
		void *freelist;         /* SMALL: span-local free objects (encoded links) */
		uint64_t idle_since_ms; /* FREE: monotonic ms when it became free */
	};
	struct sa_span *next, *prev;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct sa_span) == 64, "one cache line per span descriptor");

/* Per 64 MiB arena: page -> span and per-page release state. */
#define SA_PG_REL_FREE 1u     /* released with MADV_FREE */
#define SA_PG_REL_DONTNEED 2u /* released with MADV_DONTNEED */
#define SA_PG_REL_MASK 3u
#define SA_PG_ZERO 4u         /* known to read as zero (fresh or DONTNEED) */
/* Per page of a small-object span: its size class (low byte; 0 = not a
 * small-object page) and the page's index in the span (high byte). free()
 * checks and caches an object with this entry and the class tables alone:
 * the span descriptor was the fast path's most frequent cache miss (one
 * more dependent load, 64 bytes per span; these entries are 2 bytes per
 * page). Set after the span's fields, cleared before it goes back to the
 * page heap (sa-central.c). */
#define SA_PSMALL_CLASS(v) ((uint32_t)(v) & 0xffu)
#define SA_PSMALL_INDEX(v) ((uint32_t)(v) >> 8)
struct sa_arena {
	struct sa_span *spans[SA_ARENA_PAGES];
	uint16_t psmall[SA_ARENA_PAGES];
	uint8_t pstate[SA_ARENA_PAGES];
};

/* The page map: address >> 26 -> arena metadata. Zero-filled .bss: 16 MiB of
 * address space, only the pages that hold used entries become resident. */
extern struct sa_arena *sa_l1[SA_L1_ENTRIES] SA_HIDDEN;

static inline struct sa_arena *sa_arena_of(uintptr_t a)
{
	uintptr_t i = a >> SA_ARENA_SHIFT;
	if (unlikely(i >= SA_L1_ENTRIES))
		return NULL;
	return sa_l1[i];
}
static inline struct sa_span *sa_span_of(uintptr_t a)
{
	struct sa_arena *ar = sa_arena_of(a);
	if (unlikely(!ar))
		return NULL;
	return ar->spans[(a >> SA_PAGE_SHIFT) & (SA_ARENA_PAGES - 1)];
}

/* ---------- size classes ---------- */
static inline uint32_t sa_size_to_class(size_t n)
{
	if (likely(n <= 1024))
		return sa_class_small_table[(n + 15) >> 4];
	return sa_class_mid_table[(n - 1024 + 127) >> 7];
}
static inline uint32_t sa_class_div_mul(uint32_t size)
{
	return (uint32_t)(UINT32_MAX / size + 1);
}
SA_HIDDEN uint32_t sa_class_objs(uint32_t cls);
SA_HIDDEN uint32_t sa_class_batch(uint32_t cls);

/* ---------- thread cache (mcache) ---------- */
struct sa_bin {
	void *head;       /* free objects, encoded links (sa_link_set) */
	uint32_t count;   /* objects on the list */
	uint32_t max;     /* flush above this; 0 = every free takes the slow path */
	uint64_t nmalloc; /* cumulative allocations (single writer, racy readers) */
};
enum sa_tc_state { SA_TC_NEW = 0, SA_TC_LIVE = 1, SA_TC_DEAD = 2 };
struct sa_tcache {
	struct sa_bin bins[SA_NUM_CLASSES];
	struct sa_tcache *next, *prev; /* registry, under sa_reg_lock */
	int state;
	uint32_t shard;     /* central shard this thread refills from */
	uint64_t max_bytes; /* sum of bins[c].max * class size (bytes) <= sa_tcache_cap_bytes */
	uint32_t victim;    /* next class whose limit sa_tc_grow shrinks */
};
/* Default per-thread cache cap (bytes), SPANALLOC_TCACHE_BYTES overrides.
 * Above the sum of every class's two-batch limit (about 1.7 MiB): by default
 * no class's limit is cut to let another grow. With 512 KiB the classes
 * above 8 KiB (two batches of 2 objects: up to 128 KiB each) kept cutting
 * each other's limits, flushing and refilling: a quarter of the
 * instructions of the `mixed` benchmark (16 B..64 KiB). */
#define SA_TCACHE_CAP_DEFAULT ((uint64_t)2 << 20)
extern uint64_t sa_tcache_cap_bytes SA_HIDDEN;
extern __thread struct sa_tcache sa_tc __attribute__((tls_model("initial-exec"))) SA_HIDDEN;

/*
 * Encoded free lists (hardening). Every free small object, wherever it is
 * listed (a thread cache bin, a batch in transit, a span's free list), holds
 *   word 0: link = rotl64(next ^ sa_keys.link, 17) ^ (address of word 0)
 *   word 1: tag  = link ^ sa_keys.free
 * with two per-process random secrets (getrandom at start-up, kept across
 * fork). Popping an object checks its tag before decoding its link, so a
 * use-after-free write into word 0 or 1 aborts with "corrupted free list"
 * (sa_die_link, no malloc) instead of steering a later malloc to an address
 * of the writer's choosing; forging a link needs both secrets. A free of an
 * object whose words already carry a valid tag is a double free; allocation
 * clears word 1 so a live object does not look free.
 */
struct sa_keys {
	uint64_t free; /* tag key (odd) */
	uint64_t link; /* link key */
};
extern struct sa_keys sa_keys SA_HIDDEN;

SA_HIDDEN __attribute__((noreturn, cold)) void sa_die_link(const void *obj);

static inline uintptr_t sa_rotl64(uintptr_t v, unsigned r)
{
	return (v << r) | (v >> (64u - r));
}
static inline uintptr_t sa_rotr64(uintptr_t v, unsigned r)
{
	return (v >> r) | (v << (64u - r));
}
/* Marks o free and links it to next (NULL ends a list). */
static inline void sa_link_set(void *o, void *next)
{
	void **w = o;
	uintptr_t e = sa_rotl64((uintptr_t)next ^ sa_keys.link, 17) ^ (uintptr_t)o;
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
	return (void *)(sa_rotr64(e ^ (uintptr_t)o, 17) ^ sa_keys.link);
}
/* True if o carries a valid free tag (double-free check). */
static inline bool sa_link_is_free(const void *o)
{
	void *const *w = o;
	return ((uintptr_t)w[0] ^ (uintptr_t)w[1]) == sa_keys.free;
}

/*
 * SPANALLOC_DEBUG=1: the thread caches are off (every free reaches the
 * central lists), a freed object's bytes after the two link words are
 * filled with SA_DEBUG_FILL, and when a span's free list hands the object
 * out again every byte is checked: a use-after-free write aborts with the
 * object's address, size class and the offset of the first changed byte.
 */
#define SA_DEBUG_FILL 0xa5u
extern int sa_debug SA_HIDDEN;
SA_HIDDEN void sa_debug_fill(void *o, uint32_t size);
SA_HIDDEN void sa_debug_check(void *o, uint32_t size);

SA_HIDDEN void *sa_malloc_slow(uint32_t cls);
SA_HIDDEN void sa_free_slow(void *p, uint32_t cls);
SA_HIDDEN void sa_free_nonsmall(void *p, struct sa_span *s);
/* Aborts: p is not an object of its small span, or is already free. Not
 * declared noreturn, so the free fast path reaches it by a jump (a call
 * would make it set up a stack frame on every free). */
SA_HIDDEN __attribute__((cold)) void sa_free_reject(const void *p);
SA_HIDDEN void *sa_malloc_large(size_t n, size_t align, bool zero);
SA_HIDDEN void sa_tc_flush_all(struct sa_tcache *tc);

static inline void *sa_malloc_inline(size_t n)
{
	if (unlikely(n > SA_MAX_SMALL_SIZE))
		return sa_malloc_large(n, 0, false);
	uint32_t cls = sa_size_to_class(n);
	struct sa_bin *b = &sa_tc.bins[cls];
	void **o = b->head;
	if (unlikely(!o))
		return sa_malloc_slow(cls);
	b->head = sa_link_next(o);
	b->count--;
	b->nmalloc++;
	o[1] = NULL;
	return o;
}

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

static inline void sa_free_inline(void *p)
{
	if (unlikely(!p))
		return;
	uintptr_t a = (uintptr_t)p;
	struct sa_arena *ar = sa_arena_of(a);
	if (unlikely(!ar)) {
		sa_free_nonsmall(p, NULL);
		return;
	}
	size_t pg = (a >> SA_PAGE_SHIFT) & (SA_ARENA_PAGES - 1);
	uint32_t info = ar->psmall[pg];
	uint32_t cls = SA_PSMALL_CLASS(info);
	if (unlikely(cls == 0)) {
		sa_free_nonsmall(p, ar->spans[pg]);
		return;
	}
	/* offset from the span's first byte; objects sit at multiples of the
	 * class size below the class's limit */
	uint64_t off = (a & (SA_PAGE_SIZE - 1)) + ((uint64_t)SA_PSMALL_INDEX(info) << SA_PAGE_SHIFT);
	const struct sa_class_check *cc = &sa_class_check_table[cls];
	if (unlikely(off >= cc->limit || ((off * cc->div) >> 32) * cc->size != off ||
		     sa_link_is_free(p))) {
		sa_free_reject(p);
		return;
	}
	struct sa_bin *b = &sa_tc.bins[cls];
	if (unlikely(b->count >= b->max)) {
		sa_free_slow(p, cls);
		return;
	}
	sa_link_set(p, b->head);
	b->head = p;
	b->count++;
}

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
SA_HIDDEN void sa_central_spans(struct sa_span_table *t);
SA_HIDDEN void sa_spans_collect(struct sa_span_table *t);
/* Fills t with the arena reservations and the page-state map. */
SA_HIDDEN void sa_heap_arenas(struct sa_arena_table *t);
/* Test hook: the free run containing `a` (0 if `a` is not in a free run). */
SA_HIDDEN size_t sa_heap_debug_free_run(uintptr_t a, uintptr_t *base);
extern sa_lock_t sa_heap_lock SA_HIDDEN;

/* ---------- metadata pools ---------- */
SA_HIDDEN struct sa_span *sa_meta_span_new(void);
SA_HIDDEN void sa_meta_span_delete(struct sa_span *s);
SA_HIDDEN void *sa_meta_alloc_pages(size_t bytes); /* zeroed, counted in meta_sys */
struct sa_meta_counters { uint64_t meta_sys, span_sys, span_inuse; };
SA_HIDDEN void sa_meta_counters(struct sa_meta_counters *out);
extern sa_lock_t sa_meta_lock SA_HIDDEN;

/* ---------- OS ---------- */
SA_HIDDEN void *sa_os_map(size_t bytes, size_t align);
SA_HIDDEN uint64_t sa_now_ms(void);
SA_HIDDEN int sa_os_release(void *p, size_t bytes, int mode); /* returns the mode used */
/* Names an anonymous mapping (CONFIG_ANON_VMA_NAME); silently nothing elsewhere. */
SA_HIDDEN void sa_os_name(void *p, size_t bytes, const char *name);

/* ---------- global state, init, registry, fork ---------- */
extern int sa_inited SA_HIDDEN;
SA_HIDDEN void sa_init_slow(void);
static inline void sa_ensure_init(void)
{
	if (unlikely(!__atomic_load_n(&sa_inited, __ATOMIC_ACQUIRE)))
		sa_init_slow();
}
extern int sa_release_mode_cur SA_HIDDEN;   /* enum sa_release_mode */
extern uint64_t sa_scavenge_delay_ms SA_HIDDEN;
extern sa_lock_t sa_reg_lock SA_HIDDEN;
extern struct sa_tcache *sa_reg_head SA_HIDDEN;
SA_HIDDEN void sa_fork_prepare(void);
SA_HIDDEN void sa_fork_parent(void);
SA_HIDDEN void sa_fork_child(void);

/* ---------- statistics ---------- */
SA_HIDDEN void sa_stats_collect(struct sa_stats *out);
SA_HIDDEN void sa_publish(const struct sa_stats *s);
SA_HIDDEN void sa_publish_maybe(void);
SA_HIDDEN void sa_publish_fork_child(void);
extern sa_lock_t sa_publish_lock SA_HIDDEN;
/* Publishes ladder, span table and arenas if the ladder changed since the
 * last publication (or `force`). Called by the background thread. */
SA_HIDDEN void sa_publish_if_changed(bool force);

/* ---------- background thread (sa-background.c) ---------- */
extern int sa_bg_running SA_HIDDEN;      /* 1 while the thread runs */
extern uint64_t sa_bg_wakeups SA_HIDDEN; /* cumulative wake-ups */
extern int sa_bg_disabled SA_HIDDEN;     /* SPANALLOC_BACKGROUND=0 */
/* Starts the thread if it is not running (once per process; again in a fork
 * child). Safe to call from inside malloc. */
SA_HIDDEN void sa_bg_start(void);
SA_HIDDEN void sa_bg_fork_child(void);
/* Stops the thread and waits for it to exit; returns whether it ran. */
SA_HIDDEN bool sa_bg_stop(void);

/* ---------- API implementation shared by sa_* and malloc ---------- */
SA_HIDDEN void *sa_calloc_impl(size_t n, size_t size);
SA_HIDDEN void *sa_realloc_impl(void *p, size_t size);
SA_HIDDEN void *sa_memalign_impl(size_t align, size_t size);
SA_HIDDEN size_t sa_usable_size_impl(const void *p);

/* ---------- the stats reader's parsers (sa-reader.c; fuzzed) ---------- */

/* A /proc/<pid>/maps line that names the statistics segment. */
struct sa_maps_segment {
	uint64_t start, stop;         /* address range, stop exclusive */
	uint64_t dev_major, dev_minor; /* the mapped file's device */
	uint64_t inode;
};
/* Parses the maps line [l, end) (no newline): true when it is exactly the
 * writer's mapping ("rw-s", offset 0, path "/memfd:spanalloc-stats" and
 * " (deleted)" or nothing after it). */
SA_HIDDEN bool sa_maps_line_parse(const char *l, const char *end, struct sa_maps_segment *out);
/* The last pid of the NSpid line of a /proc/<pid>/status text: 0, ENOENT
 * (no NSpid line), EINVAL (malformed). */
SA_HIDDEN int sa_status_nspid(const char *text, size_t len, uint64_t *out);

#endif
