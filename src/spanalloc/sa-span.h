/* SPDX-License-Identifier: MIT */
/*
 * Pages, arenas, the span descriptor and the page map (address -> span),
 * read by the free fast path, and the span lists' inline push and remove.
 * Declares no out-of-line functions: the page map is filled by the page
 * heap (sa-heap.c, which defines sa_l1).
 */
#ifndef SA_SPAN_H
#define SA_SPAN_H

#include "sa-base.h"

#define SA_PAGE_SHIFT 13u                       /* 8 KiB pages */
#define SA_ARENA_SHIFT 26u                      /* 64 MiB arenas */
#define SA_ARENA_BYTES ((size_t)1 << SA_ARENA_SHIFT)
#define SA_ARENA_PAGES ((size_t)1 << (SA_ARENA_SHIFT - SA_PAGE_SHIFT)) /* 8192 */
#define SA_ADDR_BITS 47u                        /* x86-64/arm64 user space */
#define SA_L1_ENTRIES ((size_t)1 << (SA_ADDR_BITS - SA_ARENA_SHIFT))

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

/* The doubly linked span lists (a central list's partial and full spans,
 * the page heap's free lists and its list of large objects): s goes to the
 * front of *head, marked `list` (enum sa_span_list); removal marks it
 * SA_LIST_NONE. */
static inline void sa_span_list_push(struct sa_span **head, struct sa_span *s, uint8_t list)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
	s->list = list;
}

static inline void sa_span_list_remove(struct sa_span **head, struct sa_span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	s->list = SA_LIST_NONE;
}

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

#endif
