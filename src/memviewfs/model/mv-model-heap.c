/* SPDX-License-Identifier: MIT */
/* The heap/ model (see mv-model-heap.h). */
#include "mv-model-heap.h"

#include <string.h>

#include "proc/mv-proc-pagemap.h"

/* Segment version 1 publishes no arena ranges: its arenas are the 64 MiB
 * aligned blocks (include/spanalloc.h) that the listed spans touch. */
#define MV_HEAP_V1_ARENA_SHIFT 26
/* The page heap's page (bytes) when a segment does not say (SA_PAGE_SIZE). */
#define MV_HEAP_DEFAULT_PAGE_BYTES 8192u

static gboolean
path_is(const MvSmapsEntry *entry, const char *word)
{
  gsize len = strlen(word);
  return entry->path_len == len && memcmp(entry->path, word, len) == 0;
}

gboolean
mv_heap_mapping_is_heap(const MvSmapsEntry *entry)
{
  if (entry->perms[3] != 'p')
    return FALSE;
  if (entry->path_len == 0 || path_is(entry, "[heap]"))
    return TRUE;
  return entry->path_len > 6 && memcmp(entry->path, "[anon:", 6) == 0;
}

void
mv_heap_kernel_add(MvHeapKernel *acc, const MvSmapsEntry *entry)
{
  if (!mv_heap_mapping_is_heap(entry))
    return;
  acc->reserved += entry->end - entry->start;
  acc->resident += entry->v.rss;
  acc->lazyfree += entry->v.lazyfree;
  acc->swapped += entry->v.swap;
}

const char *
mv_heap_span_state_name(MvHeapSpanState state)
{
  static const char *const names[MV_HEAP_N_SPAN_STATES] = {
    [MV_HEAP_SPAN_IN_USE] = "in_use",
    [MV_HEAP_SPAN_IDLE] = "idle",
    [MV_HEAP_SPAN_RELEASED_FREE] = "released_free",
    [MV_HEAP_SPAN_RELEASED_DONTNEED] = "released_dontneed",
    [MV_HEAP_SPAN_RELEASED_MIXED] = "released_mixed",
  };
  return state < MV_HEAP_N_SPAN_STATES ? names[state] : "unknown";
}

static gint
compare_spans(gconstpointer a, gconstpointer b)
{
  const MvHeapSpan *sa = a, *sb = b;
  return sa->start < sb->start ? -1 : sa->start > sb->start;
}

static guint64
class_size(const struct sa_stats *stats, guint64 class_id)
{
  guint64 n = MIN(stats->nclasses, (guint64) SA_STATS_MAX_CLASSES);

  for (guint64 i = 0; i < n; i++)
    if (stats->classes[i].class_id == class_id)
      return stats->classes[i].size;
  return 0;
}

/* A free run of the v1 table says how many of its pages are released, not
 * how: when the whole heap has released pages of one mode only, that is the
 * run's mode too. */
static MvHeapSpanState
v1_free_run_state(const struct sa_stats *stats, const struct sa_span_stats *row)
{
  if (row->released_pages == 0)
    return MV_HEAP_SPAN_IDLE;
  if (row->released_pages == row->pages) {
    if (stats->heap_released_dontneed == 0)
      return MV_HEAP_SPAN_RELEASED_FREE;
    if (stats->heap_released_free == 0)
      return MV_HEAP_SPAN_RELEASED_DONTNEED;
  }
  return MV_HEAP_SPAN_RELEASED_MIXED;
}

static void
add_arena_blocks(GArray *arenas, guint64 start, guint64 end)
{
  guint64 first = start >> MV_HEAP_V1_ARENA_SHIFT;
  guint64 last = (end - 1) >> MV_HEAP_V1_ARENA_SHIFT;

  for (guint64 block = first; block <= last; block++) {
    MvHeapRange r = { block << MV_HEAP_V1_ARENA_SHIFT, (block + 1) << MV_HEAP_V1_ARENA_SHIFT,
                      NULL };
    g_array_append_val(arenas, r);
  }
}

static gint
compare_ranges(gconstpointer a, gconstpointer b)
{
  const MvHeapRange *ra = a, *rb = b;
  return ra->start < rb->start ? -1 : ra->start > rb->start;
}

/* Sorts @arenas and merges duplicates and touching ranges (v1 blocks). */
static void
normalize_ranges(GArray *ranges)
{
  guint out = 0;

  g_array_sort(ranges, compare_ranges);
  for (guint i = 0; i < ranges->len; i++) {
    MvHeapRange *r = &g_array_index(ranges, MvHeapRange, i);
    MvHeapRange *last = out > 0 ? &g_array_index(ranges, MvHeapRange, out - 1) : NULL;
    if (last != NULL && r->start <= last->end)
      last->end = MAX(last->end, r->end);
    else
      g_array_index(ranges, MvHeapRange, out++) = *r;
  }
  g_array_set_size(ranges, out);
}

/* Version 2: the published arenas and, where the map holds all of an
 * arena's pages, their states (unpacked to one byte a page). FALSE with
 * EIO for arenas that overlap or wrap. */
static gboolean
v2_arenas(MvHeapAllocator *allocator, const struct sa_arena_table *table, GError **error)
{
  guint64 n = MIN(table->narenas, (guint64) SA_STATS_MAX_ARENAS);
  guint64 npages = MIN(table->npages, (guint64) SA_STATS_MAX_PAGES);
  guint64 *offsets = g_new0(guint64, n + 1);

  for (guint64 k = 0; k < n; k++) {
    const struct sa_arena_stats *a = &table->arenas[k];
    guint64 pages = a->length / allocator->page_bytes;
    MvHeapRange r = { a->start, a->start + a->length, NULL };

    if (a->length == 0 || r.end < r.start) {
      g_free(offsets);
      return mv_set_errno(error, EIO, "arena %" G_GUINT64_FORMAT " wraps or is empty", k);
    }
    offsets[k] = G_MAXUINT64;
    if (a->first_page <= npages && pages <= npages - a->first_page) {
      offsets[k] = allocator->page_states->len;
      for (guint64 i = 0; i < pages; i++) {
        guint8 state = sa_page_state_at(table, a->first_page + i);
        g_byte_array_append(allocator->page_states, &state, 1);
      }
    }
    g_array_append_val(allocator->arenas, r);
  }
  /* the byte array is complete: now point into it */
  for (guint64 k = 0; k < n; k++)
    if (offsets[k] != G_MAXUINT64)
      g_array_index(allocator->arenas, MvHeapRange, k).page_states =
        allocator->page_states->data + offsets[k];
  g_free(offsets);
  g_array_sort(allocator->arenas, compare_ranges);
  for (guint i = 1; i < allocator->arenas->len; i++)
    if (g_array_index(allocator->arenas, MvHeapRange, i - 1).end >
        g_array_index(allocator->arenas, MvHeapRange, i).start)
      return mv_set_errno(error, EIO, "arenas overlap");
  return TRUE;
}

MvHeapAllocator *
mv_heap_allocator_new(const struct sa_stats_segment *segment, guint32 version, GError **error)
{
  g_autoptr(MvHeapAllocator) allocator = g_new0(MvHeapAllocator, 1);
  const struct sa_span_table *table = &segment->spans;
  guint64 n = MIN(table->nspans, (guint64) SA_STATS_MAX_SPANS);
  gboolean published_arenas = version >= 2 && segment->arenas.narenas > 0;

  allocator->version = version;
  allocator->page_bytes = segment->stats.pages_per_span_unit != 0
                            ? segment->stats.pages_per_span_unit
                            : MV_HEAP_DEFAULT_PAGE_BYTES;
  allocator->stats = segment->stats;
  allocator->publish_time_ns = segment->hdr.publish_time_ns;
  allocator->tables_time_ns = version >= 2 ? segment->hdr.tables_time_ns
                                           : segment->hdr.publish_time_ns;
  allocator->ladder_current_ns = MAX(allocator->publish_time_ns,
                                     version >= 2 ? segment->hdr.verified_time_ns : 0);
  allocator->tables_current_ns = allocator->tables_time_ns == allocator->publish_time_ns
                                   ? allocator->ladder_current_ns
                                   : allocator->tables_time_ns;
  allocator->spans_total = table->spans_total;
  allocator->spans = g_array_sized_new(FALSE, TRUE, sizeof(MvHeapSpan), (guint) n);
  allocator->arenas = g_array_new(FALSE, TRUE, sizeof(MvHeapRange));
  allocator->page_states = g_byte_array_new();
  for (guint64 i = 0; i < n; i++) {
    const struct sa_span_stats *row = &table->spans[i];
    MvHeapSpan span = { .start = row->base, .bytes = row->pages * allocator->page_bytes };

    if (span.bytes == 0 || span.start + span.bytes < span.start)
      continue; /* nothing there, or a range that wraps: not a span */
    switch (row->state) {
    case SA_PAGE_SMALL:
      span.state = MV_HEAP_SPAN_IN_USE;
      span.class_id = row->class_id;
      span.live_bytes = MIN(row->objects_inuse * class_size(&segment->stats, row->class_id),
                            span.bytes);
      break;
    case SA_PAGE_LARGE: /* its whole pages */
      span.state = MV_HEAP_SPAN_IN_USE;
      span.live_bytes = span.bytes;
      break;
    case SA_PAGE_RELEASED_FREE:
      span.state = MV_HEAP_SPAN_RELEASED_FREE;
      break;
    case SA_PAGE_RELEASED_DONTNEED:
      span.state = MV_HEAP_SPAN_RELEASED_DONTNEED;
      break;
    default: /* SA_PAGE_IDLE; in version 1 a free run, released or not */
      span.state = version >= 2 ? MV_HEAP_SPAN_IDLE : v1_free_run_state(&segment->stats, row);
      break;
    }
    g_array_append_val(allocator->spans, span);
    if (!published_arenas)
      add_arena_blocks(allocator->arenas, span.start, span.start + span.bytes);
  }
  g_array_sort(allocator->spans, compare_spans);
  for (guint i = 1; i < allocator->spans->len; i++) {
    const MvHeapSpan *prev = &g_array_index(allocator->spans, MvHeapSpan, i - 1);
    const MvHeapSpan *span = &g_array_index(allocator->spans, MvHeapSpan, i);
    if (prev->start + prev->bytes > span->start) {
      mv_set_errno(error, EIO, "spans %" G_GINT64_MODIFIER "x and %" G_GINT64_MODIFIER
                   "x overlap", prev->start, span->start);
      return NULL;
    }
  }
  if (published_arenas) {
    if (!v2_arenas(allocator, &segment->arenas, error))
      return NULL;
  } else {
    normalize_ranges(allocator->arenas);
  }
  return g_steal_pointer(&allocator);
}

void
mv_heap_allocator_free(MvHeapAllocator *allocator)
{
  if (allocator == NULL)
    return;
  if (allocator->spans != NULL)
    g_array_unref(allocator->spans);
  if (allocator->arenas != NULL)
    g_array_unref(allocator->arenas);
  if (allocator->page_states != NULL)
    g_byte_array_unref(allocator->page_states);
  g_free(allocator);
}

guint64
mv_heap_age_ms(guint64 then_ns, guint64 now_ns)
{
  return now_ns <= then_ns ? 0 : (now_ns - then_ns) / 1000000u;
}

/* Resident bytes of the pages [@start, @end) according to @windows. */
static guint64
resident_bytes(const MvHeapWindow *windows, gsize n_windows, guint64 start, guint64 end,
               gsize page_size)
{
  guint64 resident = 0;

  for (gsize w = 0; w < n_windows; w++) {
    const MvHeapWindow *win = &windows[w];
    guint64 a = MAX(start, win->start), b = MIN(end, win->end);

    if (a >= b)
      continue;
    a = a / page_size * page_size;
    for (guint64 p = a; p < b; p += page_size)
      if (win->pagemap[(p - win->start) / page_size] & MV_PAGEMAP_PRESENT)
        resident += page_size;
  }
  return resident;
}

static void
line_add(MvHeapLedgerLine *line, guint64 resident, guint64 bytes)
{
  line->resident += resident;
  line->bytes += bytes;
}

/* Which line an allocator page of a non-in-use state belongs to; -1 for
 * an in-use page (counted through its span). */
static int
page_state_line(guint8 state)
{
  switch (state) {
  case SA_PAGE_IDLE:
    return MV_HEAP_LEDGER_idle;
  case SA_PAGE_RELEASED_FREE:
    return MV_HEAP_LEDGER_released_free;
  case SA_PAGE_RELEASED_DONTNEED:
    return MV_HEAP_LEDGER_released_dontneed;
  case SA_PAGE_SMALL:
  case SA_PAGE_LARGE:
    return -1;
  default: /* SA_PAGE_UNUSED, or a state this build does not know */
    return MV_HEAP_LEDGER_unused;
  }
}

gboolean
mv_heap_allocator_live_totals(const MvHeapAllocator *allocator, MvHeapLiveTotals *totals)
{
  const struct sa_stats *s = &allocator->stats;

  if (allocator->version < 2 || allocator->publish_time_ns != allocator->tables_time_ns ||
      s->large_inuse > s->heap_alloc)
    return FALSE;
  totals->small_live_bytes = s->heap_alloc - s->large_inuse + s->tcache_bytes;
  return TRUE;
}

/* Splits the in-use pages no listed span covers (@small, @large: their
 * resident and virtual bytes) by the heap's live totals less what the
 * listed small-object spans hold (@listed_small_live). */
static void
split_unlisted(MvHeapLedger *ledger, const MvHeapLiveTotals *totals, MvHeapLedgerLine small,
               MvHeapLedgerLine large, guint64 listed_small_live)
{
  guint64 live = totals->small_live_bytes - MIN(listed_small_live, totals->small_live_bytes);
  guint64 live_resident;

  live = MIN(live, small.bytes);
  live_resident = MIN(small.resident, live);
  line_add(&ledger->line[MV_HEAP_LEDGER_live_objects], live_resident, live);
  line_add(&ledger->line[MV_HEAP_LEDGER_free_slots], small.resident - live_resident,
           small.bytes - live);
  /* a large object is live in all its pages */
  line_add(&ledger->line[MV_HEAP_LEDGER_live_objects], large.resident, large.bytes);
}

void
mv_heap_reconcile(MvHeapLedger *ledger, const MvHeapSpan *spans, gsize n_spans,
                  const MvHeapRange *arenas, gsize n_arenas, const MvHeapWindow *windows,
                  gsize n_windows, gsize page_size, gsize alloc_page_bytes,
                  const MvHeapLiveTotals *totals)
{
  MvHeapLedgerLine classified = { 0, 0 };
  /* in-use pages by the page states (small, large), and what listed spans
   * of arenas with page states hold of them */
  MvHeapLedgerLine mapped_small = { 0, 0 }, mapped_large = { 0, 0 };
  MvHeapLedgerLine listed_small = { 0, 0 }, listed_large = { 0, 0 };
  guint64 listed_small_live = 0;
  gboolean all_mapped = n_arenas > 0;

  memset(ledger, 0, sizeof *ledger);
  for (gsize a = 0; a < n_arenas; a++) {
    const MvHeapRange *arena = &arenas[a];

    line_add(&ledger->arenas,
             resident_bytes(windows, n_windows, arena->start, arena->end, page_size),
             arena->end - arena->start);
    if (arena->page_states == NULL) {
      all_mapped = FALSE;
      continue;
    }
    /* kernel page by kernel page: its allocator page's state */
    for (guint64 p = arena->start; p < arena->end; p += page_size) {
      guint8 state = arena->page_states[(p - arena->start) / alloc_page_bytes];
      int line = page_state_line(state);
      guint64 resident = resident_bytes(windows, n_windows, p, p + page_size, page_size);
      guint64 bytes = MIN((guint64) page_size, arena->end - p);

      if (line >= 0)
        line_add(&ledger->line[line], resident, bytes);
      else
        line_add(state == SA_PAGE_SMALL ? &mapped_small : &mapped_large, resident, bytes);
    }
  }

  for (gsize i = 0; i < n_spans; i++) {
    const MvHeapSpan *span = &spans[i];
    guint64 span_end = span->start + span->bytes;
    guint64 resident = 0, bytes = 0;

    /* the part inside the arenas whose pages the spans classify: all of an
     * in-use span, all of any span where no page states are published */
    for (gsize a = 0; a < n_arenas; a++) {
      guint64 s = MAX(span->start, arenas[a].start), e = MIN(span_end, arenas[a].end);
      if (s < e && (span->state == MV_HEAP_SPAN_IN_USE || arenas[a].page_states == NULL)) {
        resident += resident_bytes(windows, n_windows, s, e, page_size);
        bytes += e - s;
      }
    }
    switch (span->state) {
    case MV_HEAP_SPAN_IN_USE: {
      guint64 live = MIN(span->live_bytes, bytes);
      guint64 live_resident = MIN(resident, live);
      line_add(&ledger->line[MV_HEAP_LEDGER_live_objects], live_resident, live);
      line_add(&ledger->line[MV_HEAP_LEDGER_free_slots], resident - live_resident, bytes - live);
      line_add(span->class_id != 0 ? &listed_small : &listed_large, resident, bytes);
      if (span->class_id != 0)
        listed_small_live += live;
      break;
    }
    case MV_HEAP_SPAN_IDLE:
      line_add(&ledger->line[MV_HEAP_LEDGER_idle], resident, bytes);
      break;
    case MV_HEAP_SPAN_RELEASED_FREE:
      line_add(&ledger->line[MV_HEAP_LEDGER_released_free], resident, bytes);
      break;
    case MV_HEAP_SPAN_RELEASED_DONTNEED:
      line_add(&ledger->line[MV_HEAP_LEDGER_released_dontneed], resident, bytes);
      break;
    default:
      line_add(&ledger->line[MV_HEAP_LEDGER_released_mixed], resident, bytes);
      break;
    }
  }
  /* In-use pages of spans past the table, split by the heap's live totals
   * when every arena has page states (which say small or large) and the
   * map and the listed spans agree. */
  if (totals != NULL && all_mapped && listed_small.bytes <= mapped_small.bytes &&
      listed_large.bytes <= mapped_large.bytes && listed_small.resident <= mapped_small.resident &&
      listed_large.resident <= mapped_large.resident) {
    MvHeapLedgerLine small = { mapped_small.resident - listed_small.resident,
                               mapped_small.bytes - listed_small.bytes };
    MvHeapLedgerLine large = { mapped_large.resident - listed_large.resident,
                               mapped_large.bytes - listed_large.bytes };
    split_unlisted(ledger, totals, small, large, listed_small_live);
  }

  /* What no line has taken: in-use pages of spans past the table (or, with
   * no page states, any page in no listed span). Clamped at 0 for a segment
   * whose table and map disagree. */
  for (int i = 0; i < MV_HEAP_N_LEDGER_LINES; i++)
    line_add(&classified, ledger->line[i].resident, ledger->line[i].bytes);
  line_add(&ledger->line[MV_HEAP_LEDGER_unlisted],
           ledger->arenas.resident - MIN(classified.resident, ledger->arenas.resident),
           ledger->arenas.bytes - MIN(classified.bytes, ledger->arenas.bytes));

  for (gsize w = 0; w < n_windows; w++) {
    guint64 in_arenas_resident = 0, in_arenas_bytes = 0;

    for (gsize a = 0; a < n_arenas; a++) {
      guint64 s = MAX(windows[w].start, arenas[a].start), e = MIN(windows[w].end, arenas[a].end);
      if (s < e) {
        in_arenas_resident += resident_bytes(&windows[w], 1, s, e, page_size);
        in_arenas_bytes += e - s;
      }
    }
    line_add(&ledger->mappings, windows[w].smaps_rss, windows[w].end - windows[w].start);
    line_add(&ledger->neighbours,
             resident_bytes(&windows[w], 1, windows[w].start, windows[w].end, page_size) -
               in_arenas_resident,
             windows[w].end - windows[w].start - in_arenas_bytes);
  }
  ledger->identity_diff = (gint64) ledger->mappings.resident - (gint64) ledger->arenas.resident -
                           (gint64) ledger->neighbours.resident;
}
