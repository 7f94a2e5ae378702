/* SPDX-License-Identifier: MIT */
/* metrics/memviewfs.prom: everything in the Prometheus text exposition
 * format (base units: bytes), so that node-exporter's textfile collector
 * (--collector.textfile.directory=<mnt>/metrics) publishes it unchanged.
 * Cost: one parallel pass over the processes (smaps once each) plus
 * meminfo/zoneinfo and the reader's cgroup. */
#include <stddef.h>
#include <string.h>

#include "model/mv-model-system.h"
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

  if (rows == NULL || !mv_system_read(system, "/proc", error))
    return FALSE;
  append_processes(out, rows);
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
