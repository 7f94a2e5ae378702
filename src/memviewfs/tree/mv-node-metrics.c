/* SPDX-License-Identifier: MIT */
/* metrics/memviewfs.prom: everything in the Prometheus text exposition
 * format (base units: bytes), so that node-exporter's textfile collector
 * (--collector.textfile.directory=<mnt>/metrics) publishes it unchanged.
 * Cost: one parallel pass over the processes (smaps once each) plus
 * meminfo/zoneinfo and a walk of the memory cgroup hierarchy.
 *
 * Cardinality: by default processes are summed by comm, by user and by
 * memory cgroup (as process-exporter groups by name), kernel threads left
 * out, so that a restart makes no new series; -o metrics_pids adds the
 * per-process families (pid and comm labels, every process) and turns the
 * spanalloc ladder per pid too (by comm otherwise). */
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model/mv-model-system.h"
#include "proc/mv-proc.h"
#include "spanalloc-stats.h"
#include "mv-prom.h"
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
  mv_prom_family(out, family, "gauge", help);
}

/* -o metrics_pids, -o metrics_gid=GID (main.c). */
static gboolean metrics_per_pid;
static gboolean metrics_has_gid;
static gid_t metrics_gid;

void
mv_metrics_configure(gboolean per_pid, gboolean has_gid, gid_t gid)
{
  metrics_per_pid = per_pid;
  metrics_has_gid = has_gid;
  metrics_gid = gid;
}

static void
append_sample_labels(GString *out, const char *family, const MvScanRow *row)
{
  char pid[16];

  g_snprintf(pid, sizeof pid, "%d", (int) row->pid);
  mv_prom_sample_start(out, family, "pid", pid, "comm", row->status.name, NULL);
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
      append_sample_labels(out, family, row);
      g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n",
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

static const struct {
  const char *suffix, *type, *help;
  gsize offset;
} allocator_metrics[] = {
#define MV_ALLOCATOR_METRIC_X(member, suffix, type, help) \
  { suffix, type, help, offsetof(struct sa_stats, member) },
  MV_ALLOCATOR_METRICS(MV_ALLOCATOR_METRIC_X)
#undef MV_ALLOCATOR_METRIC_X
};

/* allocator_value() reads every member of the ladder as a guint64 */
#define MV_ALLOCATOR_SIZE_X(member, suffix, type, help) \
  _Static_assert(sizeof(((struct sa_stats *) 0)->member) == sizeof(guint64), #member);
MV_ALLOCATOR_METRICS(MV_ALLOCATOR_SIZE_X)
#undef MV_ALLOCATOR_SIZE_X

static guint64
allocator_value(const AllocatorSample *sample, gsize m)
{
  return G_STRUCT_MEMBER(guint64, &sample->stats, allocator_metrics[m].offset);
}

/* One spanalloc family per pid (-o metrics_pids), or summed by comm
 * (default; the age is the oldest of the group's). Only processes the
 * reader may read (the segment needs the same access as smaps), and only
 * those that publish valid statistics. */
static void
append_allocators(GString *out, GArray *rows)
{
  g_autoptr(GArray) samples = g_array_new(FALSE, TRUE, sizeof(AllocatorSample));
  g_autoptr(GPtrArray) comms = g_ptr_array_new();
  const char *prefix = metrics_per_pid ? "memviewfs_process_spanalloc_"
                                       : "memviewfs_by_comm_spanalloc_";

  for (guint i = 0; i < rows->len; i++) {
    const MvScanRow *row = &g_array_index(rows, MvScanRow, i);
    AllocatorSample sample = { row };

    if (row->readable && row->maps_stats_segment &&
        mv_heap_load_stats(row->pid, &sample.stats, &sample.age_ms))
      g_array_append_val(samples, sample);
  }
  /* the distinct comms, in first-seen order */
  for (guint i = 0; i < samples->len; i++) {
    const char *comm = g_array_index(samples, AllocatorSample, i).row->status.name;
    gboolean seen = FALSE;
    for (guint j = 0; j < comms->len && !seen; j++)
      seen = strcmp(g_ptr_array_index(comms, j), comm) == 0;
    if (!seen)
      g_ptr_array_add(comms, (gpointer) comm);
  }
  for (gsize m = 0; m <= G_N_ELEMENTS(allocator_metrics); m++) {
    gboolean age = m == G_N_ELEMENTS(allocator_metrics);
    g_autofree char *family =
      g_strconcat(prefix, age ? "statistics_age_seconds" : allocator_metrics[m].suffix, NULL);
    g_autofree char *help =
      age ? g_strdup(metrics_per_pid
                       ? "spanalloc: seconds since the process published the statistics."
                       : "spanalloc: seconds since the least recent of the processes of this "
                         "comm published its statistics.")
          : g_strconcat("spanalloc: ", allocator_metrics[m].help,
                        metrics_per_pid ? "" : " Summed over the processes of this comm.", NULL);

    mv_prom_family(out, family, age ? "gauge" : allocator_metrics[m].type, help);
    if (metrics_per_pid) {
      for (guint i = 0; i < samples->len; i++) {
        const AllocatorSample *sample = &g_array_index(samples, AllocatorSample, i);
        append_sample_labels(out, family, sample->row);
        if (age)
          g_string_append_printf(out, "%" G_GUINT64_FORMAT ".%03u\n", sample->age_ms / 1000,
                                 (unsigned) (sample->age_ms % 1000));
        else
          g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", allocator_value(sample, m));
      }
      continue;
    }
    for (guint c = 0; c < comms->len; c++) {
      const char *comm = g_ptr_array_index(comms, c);
      guint64 sum = 0;
      for (guint i = 0; i < samples->len; i++) {
        const AllocatorSample *sample = &g_array_index(samples, AllocatorSample, i);
        if (strcmp(sample->row->status.name, comm) == 0)
          sum = age ? MAX(sum, sample->age_ms) : sum + allocator_value(sample, m);
      }
      if (age)
        mv_prom_sample_double(out, family, sum / 1000.0, "comm", comm, NULL);
      else
        mv_prom_sample_u64(out, family, sum, "comm", comm, NULL);
    }
  }
}

/* ---- aggregates: by comm, by user, by memory cgroup --------------------- */

typedef enum { BY_COMM, BY_USER, BY_CGROUP, N_BY } GroupBy;
static const char *const group_label[N_BY] = { "comm", "user", "cgroup" };

typedef struct {
  guint processes;
  guint readable; /* of which the reader may read smaps */
  guint64 values[G_N_ELEMENTS(process_metrics)];
} Aggregate;

typedef struct {
  guint processes;        /* rows of the scan */
  guint unreadable;       /* processes with memory whose smaps the reader may not read */
  guint kernel_threads;   /* left out of the aggregates */
  guint read_errors;      /* /proc/<pid>/cgroup that could not be read */
  guint cgroups;          /* memory cgroups exported */
} ScrapeStats;

static char *
user_name(uid_t uid, GHashTable *names)
{
  const char *known = g_hash_table_lookup(names, GUINT_TO_POINTER(uid));
  char buffer[1024];
  struct passwd pw, *found = NULL;

  if (known != NULL)
    return g_strdup(known);
  /* the name in the daemon's user database; the number when it has none */
  if (getpwuid_r(uid, &pw, buffer, sizeof buffer, &found) != 0 || found == NULL)
    known = g_strdup_printf("%u", (unsigned) uid);
  else
    known = g_strdup(found->pw_name);
  g_hash_table_insert(names, GUINT_TO_POINTER(uid), (gpointer) known);
  return g_strdup(known);
}

/* The process's memory cgroup as the daemon sees it (the names the cgroup
 * gauges carry); NULL when /proc/<pid>/cgroup cannot be read, *gone when
 * because the process has exited since it was scanned. */
static char *
process_cgroup(pid_t pid, gboolean *gone)
{
  g_autoptr(GString) text = g_string_new(NULL);
  g_autoptr(GError) error = NULL;
  char path[4096];
  MvCgroupVersion version;

  *gone = FALSE;
  if (!mv_proc_read(pid, "cgroup", text, &error)) {
    *gone = mv_error_errno(error) == ENOENT || mv_error_errno(error) == ESRCH;
    return NULL;
  }
  if (!mv_proc_cgroup_parse(text->str, text->len, &version, path, sizeof path, NULL))
    return NULL;
  return g_strdup(path);
}

static gint
compare_keys(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
append_aggregates(GString *out, GArray *rows, ScrapeStats *stats)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  GHashTable *groups[N_BY];

  for (int by = 0; by < N_BY; by++)
    groups[by] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < rows->len; i++) {
    const MvScanRow *row = &g_array_index(rows, MvScanRow, i);
    char *keys[N_BY];
    gboolean gone;

    stats->processes++;
    if (!row->status.has_mm) { /* kernel threads (and zombies): no memory of their own */
      stats->kernel_threads++;
      continue;
    }
    if (!row->readable)
      stats->unreadable++;
    keys[BY_COMM] = g_strdup(row->status.name);
    keys[BY_USER] = user_name(row->status.uid[0], names);
    keys[BY_CGROUP] = process_cgroup(row->pid, &gone);
    if (keys[BY_CGROUP] == NULL && !gone)
      stats->read_errors++;
    for (int by = 0; by < N_BY; by++) {
      Aggregate *group;

      if (keys[by] == NULL)
        continue; /* exited since the scan: it has no cgroup any more */
      group = g_hash_table_lookup(groups[by], keys[by]);
      if (group == NULL) {
        group = g_new0(Aggregate, 1);
        g_hash_table_insert(groups[by], keys[by], group);
      } else {
        g_free(keys[by]);
      }
      group->processes++;
      group->readable += row->readable;
      for (gsize m = 0; m < G_N_ELEMENTS(process_metrics); m++)
        if (row->readable || !process_metrics[m].needs_access)
          group->values[m] += G_STRUCT_MEMBER(guint64, row, process_metrics[m].offset);
    }
  }

  for (int by = 0; by < N_BY; by++) {
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array(groups[by], NULL);
    guint n = g_hash_table_size(groups[by]);
    g_autofree char *family = g_strdup_printf("memviewfs_by_%s_processes", group_label[by]);
    g_autofree char *help = g_strdup_printf(
      "Processes with an address space (kernel threads left out), by %s.", group_label[by]);

    qsort(keys, n, sizeof *keys, compare_keys);
    append_header(out, family, help);
    for (guint k = 0; k < n; k++) {
      const Aggregate *group = g_hash_table_lookup(groups[by], keys[k]);
      mv_prom_sample_u64(out, family, group->processes, group_label[by], keys[k], NULL);
    }
    for (gsize m = 0; m < G_N_ELEMENTS(process_metrics); m++) {
      g_autofree char *name =
        g_strdup_printf("memviewfs_by_%s_%s", group_label[by], process_metrics[m].name);
      g_autofree char *summed = g_strdup_printf(
        "%s Summed over the processes of this %s%s.", process_metrics[m].help, group_label[by],
        process_metrics[m].needs_access ? " whose smaps the scraper may read (no sample if none)"
                                        : "");
      append_header(out, name, summed);
      for (guint k = 0; k < n; k++) {
        const Aggregate *group = g_hash_table_lookup(groups[by], keys[k]);
        if (process_metrics[m].needs_access && group->readable == 0)
          continue;
        mv_prom_sample_u64(out, name, group->values[m], group_label[by], keys[k], NULL);
      }
    }
    g_hash_table_unref(groups[by]);
  }
}

/* ---- system ------------------------------------------------------------- */

/* The free(1) gauges node-exporter's meminfo collector also exports. */
static const char *
node_exporter_twin(const char *name)
{
  static const char *const twins[][2] = {
    { "total", "node_memory_MemTotal_bytes" },   { "free", "node_memory_MemFree_bytes" },
    { "shared", "node_memory_Shmem_bytes" },     { "buffers", "node_memory_Buffers_bytes" },
    { "available", "node_memory_MemAvailable_bytes" },
    { "swap_total", "node_memory_SwapTotal_bytes" },
    { "swap_free", "node_memory_SwapFree_bytes" }, { "dirty", "node_memory_Dirty_bytes" },
    { "writeback", "node_memory_Writeback_bytes" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(twins); i++)
    if (strcmp(twins[i][0], name) == 0)
      return twins[i][1];
  return NULL;
}

static void
append_free_gauge(GString *out, const char *name, const char *description, guint64 value)
{
  g_autofree char *family = g_strdup_printf("memviewfs_system_%s_bytes", name);
  const char *twin = node_exporter_twin(name);
  g_autofree char *help =
    twin != NULL ? g_strdup_printf("%s (free(1)). The same value as node-exporter's %s.",
                                   description, twin)
                 : g_strdup_printf("%s (free(1)), computed from /proc/meminfo.", description);

  append_header(out, family, help);
  mv_prom_sample_u64(out, family, value, NULL);
}

/* The MemAvailable breakdown: one metric per quantity, so that no sum()
 * over a metric adds terms of opposite signs; the three terms whose sum is
 * the estimate share one metric (summing them is the point). */
static void
append_available(GString *out, const MvAvailableBreakdown *available)
{
  static const char terms_family[] = "memviewfs_system_available_estimate_terms_bytes";
  static const struct {
    const char *name, *description;
    gsize offset;
  } quantities[] = {
#define MV_AVAILABLE_X(member, name, description) \
  { name, description, offsetof(MvAvailableBreakdown, member) },
    MV_AVAILABLE_TERMS(MV_AVAILABLE_X)
#undef MV_AVAILABLE_X
  };
  char value[32];

  for (gsize i = 0; i < G_N_ELEMENTS(quantities); i++) {
    g_autofree char *family = NULL;
    g_autofree char *help = NULL;

    if (g_str_has_suffix(quantities[i].name, "_term"))
      continue;
    family = g_strdup_printf("memviewfs_system_available_%s_bytes", quantities[i].name);
    help = g_strdup_printf("MemAvailable breakdown (system/available_breakdown): %s.",
                           quantities[i].description);
    append_header(out, family, help);
    g_snprintf(value, sizeof value, "%" G_GINT64_FORMAT,
               G_STRUCT_MEMBER(gint64, available, quantities[i].offset));
    mv_prom_sample_start(out, family, NULL);
    g_string_append_printf(out, "%s\n", value);
  }
  append_header(out, terms_family,
                "MemAvailable breakdown: the three terms (free, pagecache, reclaimable) whose "
                "sum is memviewfs_system_available_estimate_bytes (before its floor at 0); "
                "free may be negative.");
  for (gsize i = 0; i < G_N_ELEMENTS(quantities); i++) {
    g_autofree char *term = NULL;

    if (!g_str_has_suffix(quantities[i].name, "_term"))
      continue;
    term = g_strndup(quantities[i].name, strlen(quantities[i].name) - strlen("_term"));
    mv_prom_sample_start(out, terms_family, "term", term, NULL);
    g_string_append_printf(out, "%" G_GINT64_FORMAT "\n",
                           G_STRUCT_MEMBER(gint64, available, quantities[i].offset));
  }
}

static void
append_system(GString *out, const MvSystem *system)
{
#define MV_FREE_X(member, name, description) \
  append_free_gauge(out, name, description, system->free.member);
  MV_FREE_FIELDS(MV_FREE_X)
#undef MV_FREE_X
  append_available(out, &system->available);
}

static void
append_scrape(GString *out, const ScrapeStats *stats, gboolean full_view, gint64 started)
{
  append_header(out, "memviewfs_scrape_processes",
                "Processes read for this file, kernel threads included.");
  mv_prom_sample_u64(out, "memviewfs_scrape_processes", stats->processes, NULL);
  append_header(out, "memviewfs_scrape_kernel_threads",
                "Processes without an address space (kernel threads, zombies): in no aggregate.");
  mv_prom_sample_u64(out, "memviewfs_scrape_kernel_threads", stats->kernel_threads, NULL);
  append_header(out, "memviewfs_scrape_processes_unreadable",
                "Processes whose smaps the scraper may not read (as /proc decides, or refused "
                "to the daemon): only their rss, vsz and hugetlb are in the aggregates.");
  mv_prom_sample_u64(out, "memviewfs_scrape_processes_unreadable", stats->unreadable, NULL);
  append_header(out, "memviewfs_scrape_read_errors",
                "Reads that failed while rendering this file (a process's cgroup, the cgroup "
                "hierarchy); processes that exit while read are not errors.");
  mv_prom_sample_u64(out, "memviewfs_scrape_read_errors", stats->read_errors, NULL);
  append_header(out, "memviewfs_scrape_cgroups", "Memory cgroups exported.");
  mv_prom_sample_u64(out, "memviewfs_scrape_cgroups", stats->cgroups, NULL);
  append_header(out, "memviewfs_scrape_full_view",
                "1 when this file was computed with the daemon's credentials (the scraper is in "
                "the group of -o metrics_gid=), 0 when with the scraper's own.");
  mv_prom_sample_u64(out, "memviewfs_scrape_full_view", full_view ? 1 : 0, NULL);
  append_header(out, "memviewfs_scrape_duration_seconds",
                "Time taken to render this file, seconds.");
  mv_prom_sample_double(out, "memviewfs_scrape_duration_seconds",
                        (g_get_monotonic_time() - started) / 1e6, NULL);
}

/* Does the reader get the daemon's view (-o metrics_gid=)? Like /proc's
 * hidepid gid=: the reader's fsgid or a supplementary group. */
static gboolean
reader_granted(const MvContext *ctx, gboolean *granted, GError **error)
{
  const MvReader *reader;

  *granted = FALSE;
  if (!mv_context_reader(ctx, &reader, error))
    return FALSE;
  *granted = reader == NULL || (metrics_has_gid && mv_reader_in_group(reader, metrics_gid));
  return TRUE;
}

static gboolean
render_prom(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  gint64 started = g_get_monotonic_time();
  MvContext scan_ctx = *ctx;
  g_autoptr(GArray) rows = NULL;
  g_autofree MvSystem *system = g_new0(MvSystem, 1);
  ScrapeStats stats = { 0 };
  gboolean granted;

  if (!reader_granted(ctx, &granted, error))
    return FALSE;
  if (granted)
    scan_ctx.reader_slot = NULL; /* read every process as the daemon */
  rows = mv_scan_processes(&scan_ctx, MV_SCAN_SMAPS, error);
  if (rows == NULL || !mv_system_read(system, error))
    return FALSE;
  append_aggregates(out, rows, &stats);
  if (metrics_per_pid)
    append_processes(out, rows);
  append_allocators(out, rows);
  append_system(out, system);
  mv_metrics_append_cgroups(out, &stats.cgroups, &stats.read_errors);
  append_scrape(out, &stats, granted, started);
  return TRUE;
}

static const MvNode metrics_entries[] = {
  MV_FILE("memviewfs.prom", MV_ACCESS_ANY, render_prom, 0,
          "all of it in the Prometheus text format (bytes): processes summed by comm, user "
          "and cgroup (kernel threads left out; per pid with -o metrics_pids), every memory "
          "cgroup, the system, memviewfs's own scrape; point node-exporter's "
          "--collector.textfile.directory here"),
};

const MvNode mv_metrics_dir = MV_DIR("metrics", metrics_entries, NULL,
                                     "for scraping across a fleet (-o metrics_gid= grants a "
                                     "group the daemon's full view here)");
