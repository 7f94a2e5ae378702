/* SPDX-License-Identifier: MIT */
/* metrics/memviewfs.prom: everything in the Prometheus text exposition
 * format (base units: bytes), so that node-exporter's textfile collector
 * (--collector.textfile.directory=<mnt>/metrics) publishes it unchanged.
 * Cost: one parallel pass over the processes (smaps once each) plus
 * meminfo/zoneinfo and the reader's cgroup. */
#include <stddef.h>
#include <string.h>

#include "model/mv-model-system.h"
#include "spanalloc-stats.h"
#include "mv-scan.h"
#include "mv-tree.h"

/* Per-process gauges: X(name, member of MvScanRow, needs smaps access, help). */
#define MV_PROCESS_METRICS(X)                                                               \
  X("rss_bytes", status.vm_rss, FALSE, "Resident set size (status VmRSS), as ps shows it.")  \
  X("vsz_bytes", status.vm_size, FALSE, "Virtual size (status VmSize).")                     \
  X("pss_bytes", rollup.pss, TRUE, "Proportional set size: resident pages / sharers.")       \
  X("uss_bytes", rollup.uss, TRUE, "Unique set size: Private_Clean + Private_Dirty.")        \
  X("swap_bytes", rollup.swap, TRUE, "Swapped out.")                                         \
  X("swap_pss_bytes", rollup.swap_pss, TRUE,                                                 \
    "Swapped out, divided among the sharers (SwapPss); summed: the swap in use.")            \
  X("hugetlb_bytes", status.hugetlb_pages, FALSE,                                            \
    "Hugetlbfs pages mapped (status HugetlbPages), in no other gauge.")                      \
  X("retained_freed_bytes", rollup.retained_freed, TRUE,                                     \
    "Freed with MADV_FREE, still resident until memory pressure (LazyFree).")                \
  X("anon_private_bytes", resident.anon_private, TRUE,                                       \
    "Resident anonymous memory of private mappings (heap, stack, copy-on-write).")           \
  X("anon_shared_bytes", resident.anon_shared, TRUE,                                         \
    "Resident MAP_SHARED|MAP_ANONYMOUS memory.")                                             \
  X("file_private_bytes", resident.file_private, TRUE,                                       \
    "Resident page cache of private file mappings (binary, libraries).")                     \
  X("file_shared_bytes", resident.file_shared, TRUE,                                         \
    "Resident pages of shared file mappings, SysV shm, memfd, /dev/shm.")

typedef struct {
  const char *name;
  gsize offset;
  gboolean needs_access;
  const char *help;
} ProcessMetric;

static const ProcessMetric process_metrics[] = {
#define MV_PROCESS_METRIC_X(name, member, needs_access, help) \
  { name, offsetof(MvScanRow, member), needs_access, help },
  MV_PROCESS_METRICS(MV_PROCESS_METRIC_X)
#undef MV_PROCESS_METRIC_X
};

static void
append_header(GString *out, const char *family, const char *help)
{
  g_string_append_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", family, help, family);
}

/* The one place label values are written: the exposition format wants
 * UTF-8 with backslash, double quote and newline escaped. A comm is bytes
 * (any user can set "\xff" with prctl(PR_SET_NAME), and the kernel cuts a
 * multi-byte name at 15 bytes): invalid sequences become U+FFFD, so one
 * process's name cannot make the whole file unparsable. */
void
mv_metrics_append_label_value(GString *out, const char *value)
{
  g_autofree char *valid = g_utf8_make_valid(value, -1);

  for (const char *p = valid; *p != '\0'; p++) {
    if (*p == '\\' || *p == '"')
      g_string_append_c(out, '\\');
    if (*p == '\n')
      g_string_append(out, "\\n");
    else
      g_string_append_c(out, *p);
  }
}

static void
append_processes(GString *out, GArray *rows)
{
  for (gsize m = 0; m < G_N_ELEMENTS(process_metrics); m++) {
    const ProcessMetric *metric = &process_metrics[m];
    g_autofree char *family = g_strconcat("memviewfs_process_", metric->name, NULL);

    append_header(out, family, metric->help);
    for (guint i = 0; i < rows->len; i++) {
      const MvScanRow *row = &g_array_index(rows, MvScanRow, i);

      if (metric->needs_access && !row->readable)
        continue; /* not the reader's to see: no sample rather than a 0 */
      g_string_append_printf(out, "%s{pid=\"%d\",comm=\"", family, (int) row->pid);
      mv_metrics_append_label_value(out, row->status.name);
      g_string_append_printf(out, "\"} %" G_GUINT64_FORMAT "\n",
                             G_STRUCT_MEMBER(guint64, row, metric->offset));
    }
  }
}

/* The spanalloc ladder of the processes that publish it:
 * X(member of struct sa_stats, family suffix, type, help). */
#define MV_ALLOCATOR_METRICS(X)                                                              \
  X(sys, "sys_bytes", "gauge", "Bytes obtained from the OS (Go Sys).")                          \
  X(heap_sys, "heap_sys_bytes", "gauge", "Arena bytes of the page heap (Go HeapSys).")          \
  X(heap_alloc, "heap_alloc_bytes", "gauge", "Bytes of live objects (Go HeapAlloc).")           \
  X(heap_inuse, "heap_inuse_bytes", "gauge", "Bytes in in-use spans (Go HeapInuse).")           \
  X(heap_idle, "heap_idle_bytes", "gauge", "Bytes in free page-heap runs (Go HeapIdle).")       \
  X(heap_released, "heap_released_bytes", "gauge",                                             \
    "Idle bytes returned to the OS (Go HeapReleased).")                                         \
  X(heap_released_free, "heap_released_free_bytes", "gauge",                                   \
    "Idle bytes returned with MADV_FREE: may stay resident (LazyFree).")                        \
  X(heap_released_dontneed, "heap_released_dontneed_bytes", "gauge",                           \
    "Idle bytes returned with MADV_DONTNEED.")                                                  \
  X(heap_objects, "heap_objects", "gauge", "Live objects (Go HeapObjects).")                    \
  X(mallocs, "mallocs_total", "counter", "Objects allocated (Go Mallocs).")                     \
  X(frees, "frees_total", "counter", "Objects freed (Go Frees).")                               \
  X(span_sys, "span_sys_bytes", "gauge", "Bytes of span-descriptor pools (Go MSpanSys).")       \
  X(span_inuse, "span_inuse_bytes", "gauge", "Bytes of span descriptors in use (Go MSpanInuse).") \
  X(meta_sys, "meta_sys_bytes", "gauge", "Bytes of allocator metadata.")                        \
  X(tcache_bytes, "tcache_bytes", "gauge", "Bytes of free objects in thread caches.")           \
  X(central_free_bytes, "central_free_bytes", "gauge",                                         \
    "Bytes of free objects in partly used central spans.")

typedef struct {
  const MvScanRow *row;
  struct sa_stats stats;
  guint64 age_ms;
} AllocatorSample;

static void
append_sample_labels(GString *out, const char *family, const MvScanRow *row)
{
  g_string_append_printf(out, "%s{pid=\"%d\",comm=\"", family, (int) row->pid);
  mv_metrics_append_label_value(out, row->status.name);
  g_string_append(out, "\"} ");
}

/* Only processes the reader may read (the segment needs the same access as
 * smaps), and only those that publish valid statistics. */
static void
append_allocators(GString *out, GArray *rows)
{
  g_autoptr(GArray) samples = g_array_new(FALSE, TRUE, sizeof(AllocatorSample));

  for (guint i = 0; i < rows->len; i++) {
    const MvScanRow *row = &g_array_index(rows, MvScanRow, i);
    AllocatorSample sample = { row };

    if (row->readable && row->maps_stats_segment &&
        mv_heap_load_stats(row->pid, &sample.stats, &sample.age_ms))
      g_array_append_val(samples, sample);
  }
#define MV_ALLOCATOR_METRIC_X(member, suffix, type, help)                                    \
  g_string_append(out, "# HELP memviewfs_process_spanalloc_" suffix " spanalloc: " help "\n"  \
                       "# TYPE memviewfs_process_spanalloc_" suffix " " type "\n");           \
  for (guint i = 0; i < samples->len; i++) {                                                 \
    const AllocatorSample *sample = &g_array_index(samples, AllocatorSample, i);             \
    append_sample_labels(out, "memviewfs_process_spanalloc_" suffix, sample->row);           \
    g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", (guint64) sample->stats.member); \
  }
  MV_ALLOCATOR_METRICS(MV_ALLOCATOR_METRIC_X)
#undef MV_ALLOCATOR_METRIC_X
  append_header(out, "memviewfs_process_spanalloc_statistics_age_seconds",
                "spanalloc: seconds since the process published the statistics above.");
  for (guint i = 0; i < samples->len; i++) {
    const AllocatorSample *sample = &g_array_index(samples, AllocatorSample, i);
    append_sample_labels(out, "memviewfs_process_spanalloc_statistics_age_seconds", sample->row);
    g_string_append_printf(out, "%" G_GUINT64_FORMAT ".%03u\n", sample->age_ms / 1000,
                           (unsigned) (sample->age_ms % 1000));
  }
}

static void
append_system(GString *out, const MvSystem *system)
{
#define MV_FREE_X(member, name, description)                                   \
  append_header(out, "memviewfs_system_" name "_bytes", description " (free(1))."); \
  g_string_append_printf(out, "memviewfs_system_" name "_bytes %" G_GUINT64_FORMAT "\n", \
                         system->free.member);
  MV_FREE_FIELDS(MV_FREE_X)
#undef MV_FREE_X

  append_header(out, "memviewfs_system_available_breakdown_bytes",
                "The terms of the kernel's MemAvailable estimate (system/available_breakdown).");
#define MV_AVAILABLE_X(member, name, description)                                         \
  g_string_append_printf(out,                                                             \
                         "memviewfs_system_available_breakdown_bytes{term=\"" name "\"} " \
                         "%" G_GINT64_FORMAT "\n",                                        \
                         system->available.member);
  MV_AVAILABLE_TERMS(MV_AVAILABLE_X)
#undef MV_AVAILABLE_X
}

static gboolean
render_prom(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GArray) rows = mv_scan_processes(ctx, MV_SCAN_SMAPS, error);
  g_autofree MvSystem *system = g_new0(MvSystem, 1);

  if (rows == NULL || !mv_system_read(system, mv_proc_root_path(), error))
    return FALSE;
  append_processes(out, rows);
  append_allocators(out, rows);
  append_system(out, system);
  mv_metrics_append_cgroup(ctx, out);
  return TRUE;
}

static const MvNode metrics_entries[] = {
  MV_FILE("memviewfs.prom", MV_ACCESS_ANY, render_prom, 0,
          "all of it in the Prometheus text format (bytes; pid and comm labels): point "
          "node-exporter's --collector.textfile.directory here"),
};

const MvNode mv_metrics_dir = MV_DIR("metrics", metrics_entries, NULL,
                                     "for scraping across a fleet");
