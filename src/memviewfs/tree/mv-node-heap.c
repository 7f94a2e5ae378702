/* SPDX-License-Identifier: MIT */
/* <pid>/heap/: the kernel's view of the heap for every process (one smaps
 * read), and for a process that runs spanalloc the allocator's own view
 * (its published statistics segment) and `reconcile` (the two side by side,
 * page by page, from pagemap). All sizes are bytes.
 *
 * Freshness: the kernel's numbers are as new as the open(); the
 * allocator's are as new as its last publication, which age_ms, the
 * memstats table and reconcile state (tables keep one header line and no
 * comment lines, so awk and sort see only rows). */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/mv-model-heap.h"
#include "mv-pid-load.h"
#include "mv-tree.h"
#include "proc/mv-proc-pagemap.h"

/* ---- the kernel's view ----------------------------------------------------- */

static gboolean
add_heap_mapping(const MvSmapsEntry *entry, gpointer user_data)
{
  mv_heap_kernel_add(user_data, entry);
  return TRUE;
}

static gboolean
render_kernel_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(64 * 1024);
  MvHeapKernel kernel = { 0 };

  if (!mv_pid_read_smaps(ctx->pid, text, NULL, error) ||
      !mv_smaps_parse(text->str, text->len, add_heap_mapping, &kernel, error))
    return FALSE;
  mv_render_value(out, G_STRUCT_MEMBER(guint64, &kernel, node->arg));
  return TRUE;
}

/* ---- the allocator's segment ----------------------------------------------- */

/* What a failed sa_stats_read_at() means, in words. */
static const char *
segment_error_reason(int err)
{
  switch (err) {
  case EPROTO:
    return "bad magic or unknown format version";
  case EINVAL:
    return "sizes, offsets or bounds out of range";
  case EAGAIN:
    return "never read consistently (rewritten while being read)";
  default:
    return g_strerror(err);
  }
}

typedef enum { SEGMENT_OK, SEGMENT_NONE, SEGMENT_INVALID } SegmentOutcome;

/* Reads and validates the segment of @pid. SEGMENT_NONE: the process
 * publishes none; SEGMENT_INVALID: @reason says why; FALSE with @error for a
 * process that has gone or that the daemon itself may not read. */
static gboolean
read_segment(pid_t pid, struct sa_stats_segment_copy *copy, SegmentOutcome *outcome,
             const char **reason, GError **error)
{
  char proc_dir[32];
  int err = 0, dirfd, maps_fd = -1;

  *reason = NULL;
  /* Access as smaps: /proc/<pid>/maps, opened with this thread's (the
   * reader's) credentials, needs the same PTRACE_MODE_READ. The segment's
   * own files need more than that (CAP_SYS_ADMIN or PTRACE_MODE_ATTACH),
   * and the reader who may read smaps may read the statistics: they are
   * read with the daemon's credentials, through the /proc/<pid> directory
   * opened here, which pins the process the maps open was checked on. */
  mv_proc_pid_path(proc_dir, sizeof proc_dir, pid, NULL);
  dirfd = openat(mv_proc_root_fd(), proc_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    err = errno;
  else {
    maps_fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
    if (maps_fd < 0)
      err = errno;
  }
  if (err == 0) {
    const MvReader *reader = mv_reader_suspend();

    err = sa_stats_read_at(dirfd, maps_fd, copy);
    if (!mv_reader_resume(reader, error)) {
      close(maps_fd);
      close(dirfd);
      return FALSE;
    }
  }
  if (maps_fd >= 0)
    close(maps_fd);
  if (dirfd >= 0)
    close(dirfd);
  if (err == 0) {
    *outcome = SEGMENT_OK;
    return TRUE;
  }
  mv_proc_pid_path(proc_dir, sizeof proc_dir, pid, NULL);
  if (err == ESRCH || faccessat(mv_proc_root_fd(), proc_dir, F_OK, 0) != 0)
    return mv_set_errno(error, ENOENT, "process %d has gone", (int) pid);
  if (err == ENOENT) {
    *outcome = SEGMENT_NONE;
    return TRUE;
  }
  if (err == EACCES || err == EPERM)
    return mv_set_errno(error, EACCES, "process %d: statistics segment: %s", (int) pid,
                        g_strerror(err));
  if (err == EPROTO || err == EINVAL || err == EAGAIN || err == EIO) {
    *outcome = SEGMENT_INVALID;
    *reason = segment_error_reason(err);
    return TRUE;
  }
  return mv_set_errno(error, err, "process %d: statistics segment: %s", (int) pid,
                      g_strerror(err));
}

/* The allocator's view, or ENOENT (no spanalloc) / EIO (invalid segment). */
static MvHeapAllocator *
load_allocator(pid_t pid, GError **error)
{
  g_autofree struct sa_stats_segment_copy *copy = g_new0(struct sa_stats_segment_copy, 1);
  SegmentOutcome outcome;
  const char *reason;

  if (!read_segment(pid, copy, &outcome, &reason, error))
    return NULL;
  if (outcome == SEGMENT_NONE) {
    mv_set_errno(error, ENOENT, "process %d publishes no spanalloc statistics", (int) pid);
    return NULL;
  }
  if (outcome == SEGMENT_INVALID) {
    mv_set_errno(error, EIO, "process %d: invalid statistics segment: %s", (int) pid, reason);
    return NULL;
  }
  return mv_heap_allocator_new(&copy->seg, copy->source_version, error);
}

static guint64
now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

gboolean
mv_heap_load_stats(pid_t pid, struct sa_stats *stats, guint64 *age_ms)
{
  g_autoptr(MvHeapAllocator) allocator = load_allocator(pid, NULL);

  if (allocator == NULL)
    return FALSE;
  *stats = allocator->stats;
  *age_ms = mv_heap_age_ms(allocator->ladder_current_ns, now_ns());
  return TRUE;
}

static gboolean
render_allocator(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autofree struct sa_stats_segment_copy *copy = g_new0(struct sa_stats_segment_copy, 1);
  g_autoptr(GError) model_error = NULL;
  g_autoptr(MvHeapAllocator) allocator = NULL;
  SegmentOutcome outcome;
  const char *reason;

  if (!read_segment(ctx->pid, copy, &outcome, &reason, error))
    return FALSE;
  switch (outcome) {
  case SEGMENT_NONE:
    g_string_append(out, "none\n");
    break;
  case SEGMENT_INVALID:
    g_string_append_printf(out, "invalid: %s\n", reason);
    break;
  case SEGMENT_OK:
    allocator = mv_heap_allocator_new(&copy->seg, copy->source_version, &model_error);
    if (allocator == NULL)
      g_string_append_printf(out, "invalid: %s\n", model_error->message);
    else
      g_string_append_printf(out, "spanalloc %u\n", (unsigned) copy->source_version);
    break;
  }
  return TRUE;
}

static gboolean
render_ladder_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvHeapAllocator) allocator = load_allocator(ctx->pid, error);

  if (allocator == NULL)
    return FALSE;
  mv_render_value(out, G_STRUCT_MEMBER(guint64, &allocator->stats, node->arg));
  return TRUE;
}

static gboolean
render_age_ms(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvHeapAllocator) allocator = load_allocator(ctx->pid, error);

  if (allocator == NULL)
    return FALSE;
  mv_render_value(out, mv_heap_age_ms(allocator->ladder_current_ns, now_ns()));
  return TRUE;
}

/* "name value", one line per ladder field, then age_ms. */
static gboolean
render_memstats(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvHeapAllocator) allocator = load_allocator(ctx->pid, error);
  const struct sa_stats *s;

  if (allocator == NULL)
    return FALSE;
  s = &allocator->stats;
  g_string_append_printf(out, "%-24s %s\n", "name", "value");
#define MV_MEMSTATS_X(name, desc) \
  g_string_append_printf(out, "%-24s %" G_GUINT64_FORMAT "\n", #name, (guint64) s->name);
  SA_STATS_FIELDS(MV_MEMSTATS_X)
#undef MV_MEMSTATS_X
  g_string_append_printf(out, "%-24s %" G_GUINT64_FORMAT "\n", "age_ms",
                         mv_heap_age_ms(allocator->ladder_current_ns, now_ns()));
  return TRUE;
}

static gboolean
render_classes(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvHeapAllocator) allocator = load_allocator(ctx->pid, error);
  guint64 n;

  if (allocator == NULL)
    return FALSE;
  n = MIN(allocator->stats.nclasses, (guint64) SA_STATS_MAX_CLASSES);
  g_string_append_printf(out, "%5s %6s %6s %8s %10s %10s %12s %12s\n", "class", "size",
                         "per_span", "spans", "objects", "free", "bytes", "free_bytes");
  for (guint64 i = 0; i < n; i++) {
    const struct sa_class_stats *c = &allocator->stats.classes[i];
    g_string_append_printf(out,
                           "%5" G_GUINT64_FORMAT " %6" G_GUINT64_FORMAT " %6" G_GUINT64_FORMAT
                           " %8" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
                           " %12" G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT "\n",
                           (guint64) c->class_id, (guint64) c->size, (guint64) c->objects_per_span,
                           (guint64) c->spans, (guint64) c->objects_inuse,
                           (guint64) c->objects_free, (guint64) (c->objects_inuse * c->size),
                           (guint64) (c->objects_free * c->size));
  }
  return TRUE;
}

static gboolean
render_spans(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvHeapAllocator) allocator = load_allocator(ctx->pid, error);
  guint64 page;

  if (allocator == NULL)
    return FALSE;
  page = allocator->stats.pages_per_span_unit != 0 ? allocator->stats.pages_per_span_unit : 8192;
  g_string_append_printf(out, "%-16s %6s %5s %12s %s\n", "start", "pages", "class", "live_bytes",
                         "state");
  for (guint i = 0; i < allocator->spans->len; i++) {
    const MvHeapSpan *span = &g_array_index(allocator->spans, MvHeapSpan, i);
    g_string_append_printf(out,
                           "%016" G_GINT64_MODIFIER "x %6" G_GUINT64_FORMAT " %5" G_GUINT64_FORMAT
                           " %12" G_GUINT64_FORMAT " %s\n",
                           span->start, span->bytes / page, span->class_id, span->live_bytes,
                           mv_heap_span_state_name(span->state));
  }
  return TRUE;
}

/* ---- reconcile --------------------------------------------------------------- */

typedef struct {
  const MvHeapAllocator *allocator;
  GArray *windows;          /* of MvHeapWindow (pagemap filled in later) */
  MvResident2x2 rest;       /* the 2x2 of every mapping that is not a window */
  guint64 rss, vsz;         /* smaps Rss and Size of the whole process */
  gboolean meta_named;      /* the kernel shows the allocator's metadata
                             * mappings by name (CONFIG_ANON_VMA_NAME) */
  guint64 meta_resident;    /* their Rss */
  guint64 windows_shared;   /* smaps Shared_Clean + Shared_Dirty of the windows: pages
                             * another process maps too (after a fork) */
} ReconcileScan;

static gboolean
holds_arena(const MvHeapAllocator *allocator, guint64 start, guint64 end)
{
  for (guint i = 0; i < allocator->arenas->len; i++) {
    const MvHeapRange *r = &g_array_index(allocator->arenas, MvHeapRange, i);
    if (r->start < end && start < r->end)
      return TRUE;
  }
  return FALSE;
}

static gboolean
scan_mapping(const MvSmapsEntry *entry, gpointer user_data)
{
  ReconcileScan *scan = user_data;

  static const char meta_name[] = "[anon:" SA_META_VMA_NAME "]";

  scan->rss += entry->v.rss;
  scan->vsz += entry->end - entry->start;
  if (entry->path_len == sizeof meta_name - 1 &&
      memcmp(entry->path, meta_name, sizeof meta_name - 1) == 0) {
    scan->meta_named = TRUE;
    scan->meta_resident += entry->v.rss;
  }
  if (holds_arena(scan->allocator, entry->start, entry->end)) {
    MvHeapWindow window = { entry->start, entry->end, entry->v.rss, NULL };
    g_array_append_val(scan->windows, window);
    scan->windows_shared += entry->v.shared_clean + entry->v.shared_dirty;
  } else {
    mv_resident_2x2_add(&scan->rest, entry);
  }
  return TRUE;
}

static void
append_row(GString *out, const char *name, const char *resident, const char *bytes,
           const char *meaning)
{
  g_string_append_printf(out, "%-20s %14s %14s  %s\n", name, resident, bytes, meaning);
}

static void
append_numbers(GString *out, const char *name, gint64 resident, gboolean has_resident,
               guint64 bytes, gboolean has_bytes, const char *meaning)
{
  char r[24] = "-", b[24] = "-";

  if (has_resident)
    g_snprintf(r, sizeof r, "%" G_GINT64_FORMAT, resident);
  if (has_bytes)
    g_snprintf(b, sizeof b, "%" G_GUINT64_FORMAT, bytes);
  append_row(out, name, r, b, meaning);
}

static gboolean
render_reconcile(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvHeapAllocator) allocator = load_allocator(ctx->pid, error);
  g_autoptr(GString) text = NULL;
  g_autoptr(GArray) windows = NULL;
  g_autoptr(GPtrArray) pagemaps = NULL;
  gsize page_size = (gsize) sysconf(_SC_PAGESIZE);
  guint64 zero_pfn;
  const MvReader *reader;
  ReconcileScan scan = { 0 };
  MvHeapLiveTotals totals;
  MvHeapLedger ledger;
  int fd;

  if (allocator == NULL)
    return FALSE;
  /* The zero page's frame, learnt (once) from the daemon's own pagemap with
   * the daemon's credentials: opened as a reader without CAP_SYS_ADMIN it
   * would show no frame, and 0 would be kept for every later reader. */
  reader = mv_reader_suspend();
  zero_pfn = mv_pagemap_zero_pfn();
  if (!mv_reader_resume(reader, error))
    return FALSE;
  text = g_string_sized_new(64 * 1024);
  if (!mv_pid_read_smaps(ctx->pid, text, NULL, error))
    return FALSE;
  windows = g_array_new(FALSE, TRUE, sizeof(MvHeapWindow));
  scan.allocator = allocator;
  scan.windows = windows;
  if (!mv_smaps_parse(text->str, text->len, scan_mapping, &scan, error))
    return FALSE;

  fd = mv_pagemap_open(ctx->pid, error);
  if (fd < 0)
    return FALSE;
  pagemaps = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < windows->len; i++) {
    MvHeapWindow *w = &g_array_index(windows, MvHeapWindow, i);
    guint64 *entries = g_new(guint64, (w->end - w->start) / page_size + 1);
    g_ptr_array_add(pagemaps, entries);
    if (!mv_pagemap_read(fd, w->start, w->end, page_size, entries, error)) {
      close(fd);
      return FALSE;
    }
    mv_pagemap_drop_zero_page(entries, (w->end - w->start) / page_size, zero_pfn,
                              scan.windows_shared == 0);
    w->pagemap = entries;
  }
  close(fd);

  mv_heap_reconcile(&ledger, &g_array_index(allocator->spans, MvHeapSpan, 0),
                    allocator->spans->len, &g_array_index(allocator->arenas, MvHeapRange, 0),
                    allocator->arenas->len, &g_array_index(windows, MvHeapWindow, 0),
                    windows->len, page_size, allocator->page_bytes,
                    mv_heap_allocator_live_totals(allocator, &totals) ? &totals : NULL);

  append_row(out, "name", "resident", "bytes", "meaning");
#define MV_LEDGER_ROW_X(member, name, meaning)                                                   \
  append_numbers(out, name, (gint64) ledger.line[MV_HEAP_LEDGER_##member].resident, TRUE,       \
                 ledger.line[MV_HEAP_LEDGER_##member].bytes, TRUE, meaning);
  MV_HEAP_LEDGER_LINES(MV_LEDGER_ROW_X)
#undef MV_LEDGER_ROW_X
  append_numbers(out, "arenas", (gint64) ledger.arenas.resident, TRUE, ledger.arenas.bytes, TRUE,
                 "the allocator's arenas: the sum of the lines above (pagemap)");
  append_numbers(out, "neighbours", (gint64) ledger.neighbours.resident, TRUE,
                 ledger.neighbours.bytes, TRUE,
                 "pages of the arenas' mappings outside the arenas (other anonymous memory the "
                 "kernel merged into the same VMAs)");
  append_numbers(out, "arena_mappings", (gint64) ledger.mappings.resident, TRUE,
                 ledger.mappings.bytes, TRUE,
                 "smaps Rss and Size of the mappings holding the arenas = arenas + neighbours");
  append_numbers(out, "identity_diff", ledger.identity_diff, TRUE, 0, FALSE,
                 "arena_mappings - arenas - neighbours: 0 when the process stood still between "
                 "the smaps and pagemap reads; a reader without CAP_SYS_ADMIN, to whom pagemap "
                 "hides page frames, of a process that shares arena pages with another (fork) "
                 "sees minus the zero-page mappings there");
  append_numbers(out, "other_anon_private", (gint64) scan.rest.anon_private, TRUE, 0, FALSE,
                 "anonymous private memory outside the arenas' mappings: stacks, brk heap, "
                 "other mmaps, the allocator's metadata");
  append_numbers(out, "anon_shared", (gint64) scan.rest.anon_shared, TRUE, 0, FALSE,
                 "MAP_SHARED|MAP_ANONYMOUS memory");
  append_numbers(out, "file_private", (gint64) scan.rest.file_private, TRUE, 0, FALSE,
                 "page cache of private file mappings: the binary, libraries");
  append_numbers(out, "file_shared", (gint64) scan.rest.file_shared, TRUE, 0, FALSE,
                 "shared file mappings, shm, memfd (the statistics segment too)");
  append_numbers(out, "rss", (gint64) scan.rss, TRUE, scan.vsz, TRUE,
                 "smaps Rss and Size of the whole process = arena_mappings + the four above");
  append_numbers(out, "metadata", (gint64) scan.meta_resident, scan.meta_named,
                 allocator->stats.meta_sys, TRUE,
                 "the allocator's metadata (span descriptors, page maps; meta_sys), outside the "
                 "arenas, in other_anon_private or neighbours (resident: its [anon:" SA_META_VMA_NAME
                 "] mappings, where the kernel names them)");
  append_numbers(out, "age_ms", 0, FALSE, mv_heap_age_ms(allocator->tables_current_ns, now_ns()),
                 TRUE, "milliseconds since the allocator published the span and page states "
                 "used above");
  return TRUE;
}

/* ---- the table --------------------------------------------------------------- */

#define KERNEL_VALUE(name, member, help) \
  MV_FILE(name, MV_ACCESS_PTRACE_READ, render_kernel_value, offsetof(MvHeapKernel, member), help)
#define LADDER_VALUE(name, desc)                                                               \
  MV_FILE(#name, MV_ACCESS_PTRACE_READ, render_ladder_value, offsetof(struct sa_stats, name), \
          "spanalloc: " desc),

static const MvNode heap_entries[] = {
  KERNEL_VALUE("reserved", reserved,
               "virtual size of the brk heap and the private anonymous mappings, bytes (smaps "
               "Size)"),
  KERNEL_VALUE("resident", resident, "resident part of those mappings, bytes (smaps Rss)"),
  KERNEL_VALUE("lazyfree", lazyfree,
               "MADV_FREE'd and still resident part of those mappings, bytes (smaps LazyFree)"),
  KERNEL_VALUE("swapped", swapped, "swapped-out part of those mappings, bytes (smaps Swap)"),
  MV_FILE("allocator", MV_ACCESS_PTRACE_READ, render_allocator, 0,
          "\"spanalloc <segment version>\", \"none\", or \"invalid: <reason>\""),
  SA_STATS_FIELDS(LADDER_VALUE)
  MV_FILE("age_ms", MV_ACCESS_PTRACE_READ, render_age_ms, 0,
          "spanalloc: milliseconds since the statistics were last known current (published, "
          "or found unchanged by spanalloc's background thread)"),
  MV_FILE("memstats", MV_ACCESS_PTRACE_READ, render_memstats, 0,
          "spanalloc: every value above as \"name value\" lines, then age_ms"),
  MV_FILE("classes", MV_ACCESS_PTRACE_READ, render_classes, 0,
          "spanalloc: one row per size class: class size per_span spans objects free bytes "
          "free_bytes"),
  MV_FILE("spans", MV_ACCESS_PTRACE_READ, render_spans, 0,
          "spanalloc: one row per span: start (hex) pages class live_bytes state (in_use idle "
          "released_free released_dontneed released_mixed)"),
  MV_FILE("reconcile", MV_ACCESS_PTRACE_READ, render_reconcile, 0,
          "spanalloc: every resident byte of the process: the arenas page by page (pagemap) "
          "by span state, then the rest of rss (see HEAP below)"),
};

const MvNode mv_heap_dir = MV_DIR("heap", heap_entries, NULL,
                                  "the heap: the kernel's view for every process; the "
                                  "allocator's for processes running spanalloc (others: ENOENT)");
