/* SPDX-License-Identifier: MIT */
/* The heap/ model: reconcile's arithmetic on hand-made span tables and
 * pagemap bits, span states from a hand-made segment, and the rule that
 * picks the heap mappings out of smaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/mv-model-heap.h"
#include "proc/mv-proc-pagemap.h"

#define PG 4096u
/* pagemap entries: present (bit 63), swapped (bit 62) */
#define P (G_GUINT64_CONSTANT(1) << 63)
#define S (G_GUINT64_CONSTANT(1) << 62)

/* One arena of 16 kernel pages at A, inside one VMA that also holds two
 * pages before it and one after (neighbours, as when the kernel merges the
 * allocator's metadata mmap with its arena). Page by page:
 *   0-1   small span, 3000 live bytes     present present
 *   2-3   small span, 6000 live bytes     present absent
 *   4-7   large object (16 KiB live)      present present swapped absent
 *   8-9   idle free run                   present present
 *   10-11 released with MADV_FREE         present absent
 *   12-13 released with MADV_DONTNEED     absent absent
 *   14-15 in no span (unlisted)           present absent
 * neighbours: before: present absent; after: present. */
#define A G_GUINT64_CONSTANT(0x7f0000000000)

static const guint64 window_bits[2 + 16 + 1] = {
  P, 0,                   /* neighbours before */
  P, P, P, 0, P, P, S, 0, /* pages 0-7 */
  P, P, P, 0, 0, 0, P, 0, /* pages 8-15 */
  P,                      /* neighbour after */
};

static const MvHeapSpan spans[] = {
  { A + 0 * PG, 2 * PG, MV_HEAP_SPAN_IN_USE, 30, 3000 },
  { A + 2 * PG, 2 * PG, MV_HEAP_SPAN_IN_USE, 40, 6000 },
  { A + 4 * PG, 4 * PG, MV_HEAP_SPAN_IN_USE, 0, 4 * PG },
  { A + 8 * PG, 2 * PG, MV_HEAP_SPAN_IDLE, 0, 0 },
  { A + 10 * PG, 2 * PG, MV_HEAP_SPAN_RELEASED_FREE, 0, 0 },
  { A + 12 * PG, 2 * PG, MV_HEAP_SPAN_RELEASED_DONTNEED, 0, 0 },
};

static void
assert_line(const MvHeapLedgerLine *line, guint64 resident, guint64 bytes)
{
  assert_int_equal(line->resident, resident);
  assert_int_equal(line->bytes, bytes);
}

static void
test_reconcile_arithmetic(void **state)
{
  const MvHeapRange arena = { A, A + 16 * PG };
  /* smaps Rss of the VMA: 9 resident pages in the arena + 2 neighbours */
  MvHeapWindow window = { A - 2 * PG, A + 17 * PG, 11 * PG, window_bits };
  MvHeapLedger l;

  mv_heap_reconcile(&l, spans, G_N_ELEMENTS(spans), &arena, 1, &window, 1, PG, 2 * PG, NULL);
  /* span 0: 2 pages resident, 3000 live -> 3000 live + 5192 free slots;
   * span 1: 1 page resident, 6000 live -> 4096 live + 0 (2192 free virtual);
   * large: pages 4-5 resident (a swapped page is not resident) */
  assert_line(&l.line[MV_HEAP_LEDGER_live_objects], 3000 + 4096 + 2 * PG, 3000 + 6000 + 4 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_free_slots], 5192, 5192 + 2192);
  assert_line(&l.line[MV_HEAP_LEDGER_idle], 2 * PG, 2 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_released_free], PG, 2 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_released_dontneed], 0, 2 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_released_mixed], 0, 0);
  assert_line(&l.line[MV_HEAP_LEDGER_unlisted], PG, 2 * PG);
  assert_line(&l.arenas, 9 * PG, 16 * PG);
  guint64 sum_resident = 0, sum_bytes = 0;
  for (int i = 0; i < MV_HEAP_N_LEDGER_LINES; i++) {
    sum_resident += l.line[i].resident;
    sum_bytes += l.line[i].bytes;
  }
  assert_int_equal(sum_resident, l.arenas.resident);
  assert_int_equal(sum_bytes, l.arenas.bytes);
  assert_line(&l.neighbours, 2 * PG, 3 * PG);
  assert_line(&l.mappings, 11 * PG, 19 * PG);
  assert_int_equal(l.identity_diff, 0);

  /* the process changed between the smaps and pagemap reads */
  window.smaps_rss = 12 * PG;
  mv_heap_reconcile(&l, spans, G_N_ELEMENTS(spans), &arena, 1, &window, 1, PG, 2 * PG, NULL);
  assert_int_equal(l.identity_diff, (gint64) PG);
  window.smaps_rss = 10 * PG;
  mv_heap_reconcile(&l, spans, G_N_ELEMENTS(spans), &arena, 1, &window, 1, PG, 2 * PG, NULL);
  assert_int_equal(l.identity_diff, -(gint64) PG);
}

/* Arenas in two VMAs, and a part of an arena no window covers: that part is
 * not resident, the identity still holds over the windows. */
static void
test_reconcile_split_windows(void **state)
{
  const MvHeapRange arena = { A, A + 16 * PG };
  const MvHeapWindow windows[2] = {
    { A - 2 * PG, A + 8 * PG, 6 * PG, window_bits },        /* 1 neighbour + 5 in pages 0-7 */
    { A + 10 * PG, A + 17 * PG, 3 * PG, window_bits + 12 }, /* 2 in pages 10-15 + 1 after */
  };
  MvHeapLedger l;

  mv_heap_reconcile(&l, spans, G_N_ELEMENTS(spans), &arena, 1, windows, 2, PG, 2 * PG, NULL);
  assert_line(&l.line[MV_HEAP_LEDGER_idle], 0, 2 * PG); /* pages 8-9: in no window */
  assert_line(&l.line[MV_HEAP_LEDGER_released_free], PG, 2 * PG);
  assert_line(&l.arenas, 7 * PG, 16 * PG);
  assert_line(&l.neighbours, 2 * PG, 3 * PG);
  assert_line(&l.mappings, 9 * PG, 17 * PG);
  assert_int_equal(l.identity_diff, 0);
}

/* Version 2: the same pages, classified by the published page states (one
 * per 8 KiB allocator page = 2 kernel pages); the spans only split the
 * in-use pages into live objects and free slots, and an idle span that the
 * map contradicts is not used. */
static void
test_reconcile_page_states(void **state)
{
  static const guint8 states[8] = {
    SA_PAGE_SMALL, SA_PAGE_LARGE, SA_PAGE_LARGE, SA_PAGE_IDLE, SA_PAGE_RELEASED_FREE,
    SA_PAGE_RELEASED_DONTNEED, SA_PAGE_UNUSED, SA_PAGE_SMALL, /* the last: past the table */
  };
  const MvHeapSpan listed[] = {
    { A + 0 * PG, 2 * PG, MV_HEAP_SPAN_IN_USE, 30, 3000 },
    { A + 2 * PG, 4 * PG, MV_HEAP_SPAN_IN_USE, 0, 4 * PG },
    { A + 6 * PG, 4 * PG, MV_HEAP_SPAN_IDLE, 0, 0 }, /* the map says 6-7 idle, 8-9 released */
  };
  const MvHeapRange arena = { A, A + 16 * PG, states };
  MvHeapWindow window = { A - 2 * PG, A + 17 * PG, 11 * PG, window_bits };
  MvHeapLedger l;

  mv_heap_reconcile(&l, listed, G_N_ELEMENTS(listed), &arena, 1, &window, 1, PG, 2 * PG, NULL);
  assert_line(&l.line[MV_HEAP_LEDGER_live_objects], 3000 + 3 * PG, 3000 + 4 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_free_slots], 2 * PG - 3000, 2 * PG - 3000);
  assert_line(&l.line[MV_HEAP_LEDGER_idle], 0, 2 * PG);               /* swapped, absent */
  assert_line(&l.line[MV_HEAP_LEDGER_released_free], 2 * PG, 2 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_released_dontneed], PG, 2 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_released_mixed], 0, 0);
  assert_line(&l.line[MV_HEAP_LEDGER_unused], 0, 2 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_unlisted], PG, 2 * PG);
  assert_line(&l.arenas, 9 * PG, 16 * PG);
  assert_int_equal(l.identity_diff, 0);

  /* With the heap's live total (3000 + 5000 bytes in small objects), the
   * unlisted small page (1 of 2 kernel pages resident) holds 5000 live
   * bytes: 4096 of them resident, 3192 free-slot bytes not resident. */
  const MvHeapLiveTotals totals = { 3000 + 5000 };
  mv_heap_reconcile(&l, listed, G_N_ELEMENTS(listed), &arena, 1, &window, 1, PG, 2 * PG,
                    &totals);
  assert_line(&l.line[MV_HEAP_LEDGER_live_objects], 3000 + 3 * PG + PG, 3000 + 4 * PG + 5000);
  assert_line(&l.line[MV_HEAP_LEDGER_free_slots], 2 * PG - 3000, 2 * PG - 3000 + 2 * PG - 5000);
  assert_line(&l.line[MV_HEAP_LEDGER_unlisted], 0, 0);
  assert_line(&l.arenas, 9 * PG, 16 * PG);
  assert_int_equal(l.identity_diff, 0);

  /* totals below what the listed spans hold: nothing live is left for the
   * unlisted page, all of it is free slots */
  const MvHeapLiveTotals short_totals = { 1000 };
  mv_heap_reconcile(&l, listed, G_N_ELEMENTS(listed), &arena, 1, &window, 1, PG, 2 * PG,
                    &short_totals);
  assert_line(&l.line[MV_HEAP_LEDGER_free_slots], 2 * PG - 3000 + PG, 2 * PG - 3000 + 2 * PG);
  assert_line(&l.line[MV_HEAP_LEDGER_unlisted], 0, 0);

  /* an arena without page states: nothing can be split */
  const MvHeapRange arenas2[2] = { arena, { A + (1u << 26), A + (1u << 26) + 2 * PG, NULL } };
  mv_heap_reconcile(&l, listed, G_N_ELEMENTS(listed), arenas2, 2, &window, 1, PG, 2 * PG,
                    &totals);
  assert_line(&l.line[MV_HEAP_LEDGER_unlisted], PG, 4 * PG);
}

static struct sa_stats_segment *
new_segment(void)
{
  struct sa_stats_segment *seg = g_new0(struct sa_stats_segment, 1);

  seg->hdr.version = SA_STATS_VERSION;
  seg->stats.nclasses = 2;
  seg->stats.pages_per_span_unit = 8192;
  seg->stats.classes[0] = (struct sa_class_stats) { .class_id = 30, .size = 1024 };
  seg->stats.classes[1] = (struct sa_class_stats) { .class_id = 40, .size = 2560 };
  return seg;
}

#define ROW(base_, pages_, state_, class_, inuse_, released_)                                  \
  (struct sa_span_stats) { .base = (base_), .pages = (pages_), .state = (state_),              \
                           .class_id = (class_), .objects_inuse = (inuse_),                    \
                           .released_pages = (released_) }

static void
test_allocator_from_segment(void **state)
{
  g_autofree struct sa_stats_segment *seg = new_segment();
  g_autoptr(GError) error = NULL;
  guint64 arena2 = A + (G_GUINT64_CONSTANT(1) << 26);

  seg->spans.nspans = 6;
  seg->spans.spans_total = 9;
  seg->spans.spans[0] = ROW(arena2, 1, 2, 30, 5, 0);       /* small, 5 x 1024 live */
  seg->spans.spans[1] = ROW(A + 8192, 3, 3, 0, 0, 0);      /* large, 24 KiB */
  seg->spans.spans[2] = ROW(A + 4 * 8192, 2, 1, 0, 0, 2);  /* released, one mode in use */
  seg->spans.spans[3] = ROW(A + 6 * 8192, 2, 1, 0, 0, 1);  /* partly released */
  seg->spans.spans[4] = ROW(A + 8 * 8192, 2, 1, 0, 0, 0);  /* idle */
  seg->spans.spans[5] = ROW(A, 1, 2, 40, 4, 0);            /* small, 4 x 2560 = 10240 > span */
  seg->stats.heap_released_free = 2 * 8192;

  g_autoptr(MvHeapAllocator) al = mv_heap_allocator_new(seg, 1, &error);
  assert_non_null(al);
  assert_int_equal(al->spans->len, 6);
  assert_int_equal(al->spans_total, 9);
  const MvHeapSpan *s = &g_array_index(al->spans, MvHeapSpan, 0);
  /* by address */
  assert_int_equal(s[0].start, A);
  assert_int_equal(s[0].live_bytes, 8192); /* clamped to the span */
  assert_int_equal(s[1].start, A + 8192);
  assert_int_equal(s[1].live_bytes, 3 * 8192);
  assert_int_equal(s[2].state, MV_HEAP_SPAN_RELEASED_FREE);
  assert_int_equal(s[3].state, MV_HEAP_SPAN_RELEASED_MIXED);
  assert_int_equal(s[4].state, MV_HEAP_SPAN_IDLE);
  assert_int_equal(s[5].start, arena2);
  assert_int_equal(s[5].live_bytes, 5 * 1024);
  assert_string_equal(mv_heap_span_state_name(s[2].state), "released_free");
  /* v1: the 64 MiB blocks the spans touch */
  assert_int_equal(al->arenas->len, 1); /* A's block and the next one touch: merged */
  const MvHeapRange *r = &g_array_index(al->arenas, MvHeapRange, 0);
  assert_int_equal(r->start, A & ~((G_GUINT64_CONSTANT(1) << 26) - 1));
  assert_int_equal(r->end, arena2 + (G_GUINT64_CONSTANT(1) << 26));

  /* released in both ways somewhere in the heap: a whole released run's
   * mode is unknown */
  seg->stats.heap_released_dontneed = 8192;
  g_autoptr(MvHeapAllocator) mixed = mv_heap_allocator_new(seg, 1, &error);
  assert_int_equal(g_array_index(mixed->spans, MvHeapSpan, 2).state,
                   MV_HEAP_SPAN_RELEASED_MIXED);
  seg->stats.heap_released_free = 0;
  g_autoptr(MvHeapAllocator) dontneed = mv_heap_allocator_new(seg, 1, &error);
  assert_int_equal(g_array_index(dontneed->spans, MvHeapSpan, 2).state,
                   MV_HEAP_SPAN_RELEASED_DONTNEED);

  /* overlapping spans: not a heap */
  seg->spans.spans[4] = ROW(A + 7 * 8192, 2, 1, 0, 0, 0);
  MvHeapAllocator *bad = mv_heap_allocator_new(seg, 1, &error);
  assert_null(bad);
  assert_int_equal(mv_error_errno(error), EIO);
}

static void
test_allocator_v2_arenas(void **state)
{
  g_autofree struct sa_stats_segment *seg = new_segment();
  g_autoptr(GError) error = NULL;
  struct sa_arena_table *t = &seg->arenas;

  seg->spans.nspans = 1;
  seg->spans.spans[0] = ROW(A + 8192, 1, SA_PAGE_RELEASED_DONTNEED, 0, 0, 1);
  t->narenas = 2;
  t->arenas[0] = (struct sa_arena_stats) { .start = A + (1u << 20), .length = 4 * 8192,
                                           .first_page = 4 };
  t->arenas[1] = (struct sa_arena_stats) { .start = A, .length = 4 * 8192, .first_page = 0 };
  t->npages = 6; /* the second listed arena's map is cut off */
  t->page_states[0] = SA_PAGE_SMALL | SA_PAGE_RELEASED_DONTNEED << 4;
  t->page_states[1] = SA_PAGE_IDLE | SA_PAGE_UNUSED << 4;
  t->page_states[2] = SA_PAGE_LARGE | SA_PAGE_LARGE << 4;

  g_autoptr(MvHeapAllocator) al = mv_heap_allocator_new(seg, 2, &error);
  assert_non_null(al);
  assert_int_equal(g_array_index(al->spans, MvHeapSpan, 0).state,
                   MV_HEAP_SPAN_RELEASED_DONTNEED);
  assert_int_equal(al->arenas->len, 2);
  const MvHeapRange *r = &g_array_index(al->arenas, MvHeapRange, 0);
  assert_int_equal(r->start, A);
  assert_int_equal(r->end, A + 4 * 8192);
  assert_non_null(r->page_states);
  assert_memory_equal(r->page_states,
                      ((const guint8[]) { SA_PAGE_SMALL, SA_PAGE_RELEASED_DONTNEED, SA_PAGE_IDLE,
                                          SA_PAGE_UNUSED }),
                      4);
  assert_null(g_array_index(al->arenas, MvHeapRange, 1).page_states);

  t->arenas[0].start = A + 8192; /* overlaps the other */
  MvHeapAllocator *bad = mv_heap_allocator_new(seg, 2, &error);
  assert_null(bad);
  assert_int_equal(mv_error_errno(error), EIO);
}

static void
test_age(void **state)
{
  g_autofree struct sa_stats_segment *seg = new_segment();
  g_autoptr(GError) error = NULL;

  seg->hdr.publish_time_ns = G_GUINT64_CONSTANT(5000000000);
  g_autoptr(MvHeapAllocator) al = mv_heap_allocator_new(seg, 1, &error);
  assert_int_equal(mv_heap_age_ms(al->publish_time_ns, G_GUINT64_CONSTANT(5250000000)), 250);
  assert_int_equal(mv_heap_age_ms(al->publish_time_ns, G_GUINT64_CONSTANT(4000000000)), 0);
  assert_int_equal(al->ladder_current_ns, G_GUINT64_CONSTANT(5000000000));

  /* version 2: found current later by the background thread; tables of
   * the same publication are as current, older tables are not */
  seg->hdr.tables_time_ns = G_GUINT64_CONSTANT(5000000000);
  seg->hdr.verified_time_ns = G_GUINT64_CONSTANT(7000000000);
  g_autoptr(MvHeapAllocator) v2 = mv_heap_allocator_new(seg, 2, &error);
  assert_int_equal(v2->ladder_current_ns, G_GUINT64_CONSTANT(7000000000));
  assert_int_equal(v2->tables_current_ns, G_GUINT64_CONSTANT(7000000000));
  seg->hdr.tables_time_ns = G_GUINT64_CONSTANT(4000000000);
  g_autoptr(MvHeapAllocator) older = mv_heap_allocator_new(seg, 2, &error);
  assert_int_equal(older->tables_current_ns, G_GUINT64_CONSTANT(4000000000));
  /* version 1 has no such field: whatever the bytes say is not used */
  g_autoptr(MvHeapAllocator) v1 = mv_heap_allocator_new(seg, 1, &error);
  assert_int_equal(v1->ladder_current_ns, G_GUINT64_CONSTANT(5000000000));
}

static MvSmapsEntry
entry(const char *perms, const char *path, guint64 size, guint64 rss, guint64 lazyfree)
{
  MvSmapsEntry e;

  memset(&e, 0, sizeof e);
  e.start = A;
  e.end = A + size;
  memcpy(e.perms, perms, 4);
  e.path = path;
  e.path_len = strlen(path);
  e.v.rss = rss;
  e.v.lazyfree = lazyfree;
  e.v.swap = 7;
  return e;
}

static void
test_kernel_view_rule(void **state)
{
  MvHeapKernel k = { 0 };
  MvSmapsEntry counted[] = {
    entry("rw-p", "[heap]", 100, 10, 1),
    entry("rw-p", "", 200, 20, 2),
    entry("rw-p", "[anon:spanalloc]", 400, 40, 4),
  };
  MvSmapsEntry ignored[] = {
    entry("rw-p", "[stack]", 1000, 1000, 0),
    entry("r-xp", "/usr/lib/libc.so.6", 1000, 1000, 0),
    entry("rw-s", "", 1000, 1000, 0),
    entry("rw-s", "/dev/zero (deleted)", 1000, 1000, 0),
    entry("rw-p", "[anon_shmem:x]", 1000, 1000, 0),
  };

  for (gsize i = 0; i < G_N_ELEMENTS(counted); i++)
    mv_heap_kernel_add(&k, &counted[i]);
  for (gsize i = 0; i < G_N_ELEMENTS(ignored); i++) {
    assert_false(mv_heap_mapping_is_heap(&ignored[i]));
    mv_heap_kernel_add(&k, &ignored[i]);
  }
  assert_int_equal(k.reserved, 700);
  assert_int_equal(k.resident, 70);
  assert_int_equal(k.lazyfree, 7);
  assert_int_equal(k.swapped, 21);
}

/* The zero page: by its frame when the reader sees frames; without frames
 * (0), the present entry that is neither exclusive nor a file page, only
 * when no page of the mappings is shared with another process. */
static void
test_drop_zero_page(void **state)
{
  (void) state;
  const guint64 X = MV_PAGEMAP_EXCLUSIVE, F = MV_PAGEMAP_FILE, ZERO = 0x3b36;
  /* frames seen: 0 zero page, 1 own page, 2 shared page, 3 absent, 4 swapped */
  const guint64 seen[] = { P | ZERO, P | X | 0x1234, P | 0x1235, 0, S | 0x77 };
  /* frames hidden: 0 zero page or shared, 1 own page, 2 file page, 3 absent */
  const guint64 hidden[] = { P, P | X, P | F, 0 };
  guint64 e[5];

  memcpy(e, seen, sizeof seen);
  assert_int_equal(mv_pagemap_drop_zero_page(e, 5, ZERO, TRUE), 1);
  assert_true(e[0] == ZERO);
  assert_memory_equal(e + 1, seen + 1, 4 * sizeof(guint64));
  memcpy(e, seen, sizeof seen);
  /* sharing does not matter when the frames are seen */
  assert_int_equal(mv_pagemap_drop_zero_page(e, 5, ZERO, FALSE), 1);
  assert_true(e[2] == seen[2]);
  /* the zero page's frame unknown: nothing is dropped by frame */
  memcpy(e, seen, sizeof seen);
  assert_int_equal(mv_pagemap_drop_zero_page(e, 5, 0, TRUE), 0);
  assert_memory_equal(e, seen, sizeof seen);

  memcpy(e, hidden, sizeof hidden);
  assert_int_equal(mv_pagemap_drop_zero_page(e, 4, ZERO, TRUE), 1);
  assert_true(e[0] == 0);
  assert_memory_equal(e + 1, hidden + 1, 3 * sizeof(guint64));
  /* some page shared with another process: the two look alike, kept */
  memcpy(e, hidden, sizeof hidden);
  assert_int_equal(mv_pagemap_drop_zero_page(e, 4, ZERO, FALSE), 0);
  assert_memory_equal(e, hidden, sizeof hidden);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_reconcile_arithmetic),
    cmocka_unit_test(test_reconcile_split_windows),
    cmocka_unit_test(test_reconcile_page_states),
    cmocka_unit_test(test_allocator_from_segment),
    cmocka_unit_test(test_allocator_v2_arenas),
    cmocka_unit_test(test_age),
    cmocka_unit_test(test_kernel_view_rule),
    cmocka_unit_test(test_drop_zero_page),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
