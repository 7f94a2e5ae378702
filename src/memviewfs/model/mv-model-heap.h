/* SPDX-License-Identifier: MIT */
/* <pid>/heap/: the heap as the kernel sees it (from smaps), the allocator's
 * own view (spanalloc's published statistics segment), and `reconcile`, which
 * sets the two side by side page by page (from pagemap). All values are
 * BYTES. No I/O here: the tree reads smaps, the segment and pagemap and hands
 * them in, so every rule below can be checked on hand-made input. */
#pragma once

#include <glib.h>

#include "proc/mv-proc.h"
#include "spanalloc-stats.h"

G_BEGIN_DECLS

/* ---- the kernel's view ---------------------------------------------------- */

/* The memory a malloc can own, from one read of smaps: the brk heap
 * ("[heap]") and every private anonymous mapping, unnamed or named with
 * PR_SET_VMA_ANON_NAME ("[anon:<name>]"). Not "[stack]" (the main thread's
 * stack); thread stacks are unnamed private anonymous mappings and are
 * included, as the kernel cannot tell them from an mmap'd arena. */
typedef struct {
  guint64 reserved; /* virtual size of those mappings (smaps Size) */
  guint64 resident; /* resident (smaps Rss) */
  guint64 lazyfree; /* MADV_FREE'd, still resident (smaps LazyFree), part of resident */
  guint64 swapped;  /* swapped out (smaps Swap) */
} MvHeapKernel;

gboolean mv_heap_mapping_is_heap(const MvSmapsEntry *entry);
/* Adds @entry to @acc when it is a heap mapping by the rule above. */
void mv_heap_kernel_add(MvHeapKernel *acc, const MvSmapsEntry *entry);

/* ---- the allocator's spans ---------------------------------------------- */

typedef enum {
  MV_HEAP_SPAN_IN_USE,            /* small-object span or large object */
  MV_HEAP_SPAN_IDLE,              /* free page-heap run, not released */
  MV_HEAP_SPAN_RELEASED_FREE,     /* free run released with MADV_FREE */
  MV_HEAP_SPAN_RELEASED_DONTNEED, /* free run released with MADV_DONTNEED */
  MV_HEAP_SPAN_RELEASED_MIXED,    /* free run partly released, or released in both
                                   * ways (the segment does not say which pages) */
  MV_HEAP_N_SPAN_STATES
} MvHeapSpanState;

/* The `spans` table's word for each state. */
const char *mv_heap_span_state_name(MvHeapSpanState state);

typedef struct {
  guint64 start;         /* first address */
  guint64 bytes;         /* length */
  MvHeapSpanState state;
  guint64 class_id;      /* size class of a small-object span, 0 otherwise */
  guint64 live_bytes;    /* in-use spans: bytes of live objects (objects in use
                          * x object size; a large object: its whole pages) */
} MvHeapSpan;

/* The allocator's view of one process, from a validated segment copy. */
typedef struct {
  guint32 version;          /* format version of the segment that was read */
  guint64 page_bytes;       /* the allocator's page (bytes) */
  GByteArray *page_states;  /* what arenas[].page_states point into */
  struct sa_stats stats;    /* the ladder and the classes */
  GArray *spans;            /* of MvHeapSpan, by address */
  guint64 spans_total;      /* spans that exist (> spans->len: the table was cut) */
  GArray *arenas;           /* of MvHeapRange: the arenas' address ranges */
  guint64 publish_time_ns;  /* CLOCK_REALTIME of the publication of the ladder (ns) */
  guint64 tables_time_ns;   /* CLOCK_REALTIME of the span table and arenas (ns) */
  guint64 ladder_current_ns; /* when the ladder was last known current (ns):
                              * verified_time_ns of version 2, else the
                              * publication */
  guint64 tables_current_ns; /* the same for the tables: the ladder's, when
                              * they were published with it (the heap has
                              * not changed since), else their publication */
} MvHeapAllocator;

/* An arena. @page_states, when not NULL, holds one enum sa_page_state per
 * allocator page (page_bytes) of [start, end), as segment version 2
 * publishes them; NULL for a version 1 segment (or a truncated map). */
typedef struct {
  guint64 start, end; /* end exclusive */
  const guint8 *page_states;
} MvHeapRange;

/* NULL with EIO when the segment's spans overlap (a segment that passed
 * spanalloc's own validation but cannot be a heap). */
MvHeapAllocator *mv_heap_allocator_new(const struct sa_stats_segment *segment, guint32 version,
                                       GError **error);
void mv_heap_allocator_free(MvHeapAllocator *allocator);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MvHeapAllocator, mv_heap_allocator_free)

/* Milliseconds from @then_ns to @now_ns (CLOCK_REALTIME); 0 for a
 * publication stamped in the future (a clock step). */
guint64 mv_heap_age_ms(guint64 then_ns, guint64 now_ns);

/* ---- reconcile ------------------------------------------------------------ */

/* The lines of the arena part of `reconcile`: X(member, "name", "meaning").
 * Every page of the arenas is in exactly one line. */
#define MV_HEAP_LEDGER_LINES(X)                                                                 \
  X(live_objects, "live_objects",                                                               \
    "in-use spans' pages holding live objects (objects in use x size; large objects whole)")   \
  X(free_slots, "free_slots",                                                                   \
    "in-use small-object spans' free slots (in thread caches, central lists, never carved)")   \
  X(idle, "idle", "free page-heap runs not yet released to the kernel")                         \
  X(released_free, "released_free",                                                             \
    "released with MADV_FREE: resident = still in rss (LazyFree) until memory pressure")       \
  X(released_dontneed, "released_dontneed",                                                     \
    "released with MADV_DONTNEED: the kernel took the pages at once")                           \
  X(released_mixed, "released_mixed",                                                           \
    "free runs released partly or in both ways (the segment does not say which pages)")        \
  X(unused, "unused",                                                                           \
    "arena pages never handed to the page heap (reserved address space, untouched)")            \
  X(unlisted, "unlisted",                                                                       \
    "in-use pages past the span table that could not be split (ladder and table of different " \
    "publications; any arena page in no listed span, for a v1 segment)")

enum {
#define MV_HEAP_LEDGER_X(member, name, meaning) MV_HEAP_LEDGER_##member,
  MV_HEAP_LEDGER_LINES(MV_HEAP_LEDGER_X)
#undef MV_HEAP_LEDGER_X
  MV_HEAP_N_LEDGER_LINES
};

typedef struct {
  guint64 resident; /* bytes of resident pages (pagemap bit 63) */
  guint64 bytes;    /* virtual bytes of the category */
} MvHeapLedgerLine;

/* A mapping (VMA) holding all or part of an arena, with its pagemap. */
typedef struct {
  guint64 start, end;      /* the VMA, from smaps */
  guint64 smaps_rss;       /* its Rss from smaps */
  const guint64 *pagemap;  /* (end - start) / page_size entries */
} MvHeapWindow;

typedef struct {
  MvHeapLedgerLine line[MV_HEAP_N_LEDGER_LINES];
  MvHeapLedgerLine arenas;      /* the sum of the lines */
  MvHeapLedgerLine mappings;    /* the VMAs holding the arenas: resident = their
                                 * smaps Rss, bytes = their size */
  MvHeapLedgerLine neighbours;  /* pages of those VMAs outside the arenas
                                 * (pagemap): other anonymous memory the kernel
                                 * merged into the same VMA */
  gint64 identity_diff;        /* mappings - arenas - neighbours (resident):
                                 * 0 when the process was quiescent */
} MvHeapLedger;

/* The live bytes of the whole heap, from the ladder of the same publication
 * as the span table and page states. With them, the in-use pages of spans
 * past the table are split too (the same live-first rule, over all of them
 * at once) instead of staying "unlisted"; they need page states. */
typedef struct {
  guint64 small_live_bytes; /* objects handed out of small-object spans:
                             * heap_alloc - large_inuse + tcache_bytes (a
                             * large object is live in all its pages) */
} MvHeapLiveTotals;

/* The totals of @allocator's ladder, or FALSE when its ladder and its tables
 * were not published together (so they cannot be combined). */
gboolean mv_heap_allocator_live_totals(const MvHeapAllocator *allocator,
                                       MvHeapLiveTotals *totals);

/* Builds the arena part of reconcile. @spans sorted by address and not
 * overlapping (as mv_heap_allocator_new makes them), @arenas and @windows
 * sorted by address; the windows must cover the arenas (a page of an arena
 * outside every window counts as not resident). @page_size is the kernel's
 * page (pagemap's unit), @alloc_page_bytes the allocator's (page_states'
 * unit). An arena with page states takes idle, released and unused pages
 * from them and only in-use pages from the spans; one without takes all
 * from the spans. In-use small-object spans: their resident bytes go to
 * live_objects up to the span's live bytes, the rest to free_slots (objects
 * are carved from the start of a span, so its first pages hold them). */
void mv_heap_reconcile(MvHeapLedger *ledger, const MvHeapSpan *spans, gsize n_spans,
                       const MvHeapRange *arenas, gsize n_arenas, const MvHeapWindow *windows,
                       gsize n_windows, gsize page_size, gsize alloc_page_bytes,
                       const MvHeapLiveTotals *totals);

G_END_DECLS
