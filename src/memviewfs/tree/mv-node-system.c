/* SPDX-License-Identifier: MIT */
/* system/: the machine as free(1) sees it (procps-ng 4 semantics, bytes),
 * and why MemAvailable is what it is. The value files read only
 * /proc/meminfo; watermarks and available_breakdown add /proc/zoneinfo. */
#include <stddef.h>
#include <unistd.h>

#include "model/mv-model-system.h"
#include "mv-tree.h"

static MvSystem *
load_system(GError **error)
{
  g_autofree MvSystem *system = g_new0(MvSystem, 1);

  if (!mv_system_read(system, error))
    return NULL;
  return g_steal_pointer(&system);
}

static gboolean
render_free_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  MvFree free_values;

  if (!mv_free_read(&free_values, error))
    return FALSE;
  mv_render_value(out, G_STRUCT_MEMBER(guint64, &free_values, node->arg));
  return TRUE;
}

/* `free -b -w`, with wider columns so that terabytes fit. */
static gboolean
render_summary(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  MvFree f;

  if (!mv_free_read(&f, error))
    return FALSE;
  g_string_append_printf(out, "%-7s %15s %15s %15s %15s %15s %15s %15s\n", "", "total", "used",
                         "free", "shared", "buffers", "cache", "available");
  g_string_append_printf(out,
                         "%-7s %15" G_GUINT64_FORMAT " %15" G_GUINT64_FORMAT
                         " %15" G_GUINT64_FORMAT " %15" G_GUINT64_FORMAT
                         " %15" G_GUINT64_FORMAT " %15" G_GUINT64_FORMAT
                         " %15" G_GUINT64_FORMAT "\n",
                         "Mem:", f.total, f.used, f.free, f.shared, f.buffers, f.cache,
                         f.available);
  g_string_append_printf(out,
                         "%-7s %15" G_GUINT64_FORMAT " %15" G_GUINT64_FORMAT
                         " %15" G_GUINT64_FORMAT "\n",
                         "Swap:", f.swap_total, f.swap_used, f.swap_free);
  return TRUE;
}

/* The terms of the kernel's estimate, one per row, with the kernel's own
 * MemAvailable and the difference at the end. */
static gboolean
render_available_breakdown(const MvContext *ctx, const MvNode *node, GString *out,
                           GError **error)
{
  g_autofree MvSystem *system = load_system(error);
  const MvAvailableBreakdown *b;

  if (system == NULL)
    return FALSE;
  b = &system->available;
  g_string_append_printf(out, "%-18s %16s  %s\n", "term", "bytes", "meaning");
#define MV_AVAILABLE_X(member, name, description) \
  g_string_append_printf(out, "%-18s %16" G_GINT64_FORMAT "  %s\n", name, b->member, description);
  MV_AVAILABLE_TERMS(MV_AVAILABLE_X)
#undef MV_AVAILABLE_X
  if (!b->has_kernel_available)
    g_string_append(out, "# this kernel prints no MemAvailable: kernel_available and "
                         "difference mean nothing\n");
  return TRUE;
}

static void
append_watermark_row(GString *out, const char *node_name, const MvZoneWatermarks *zone)
{
  g_string_append_printf(out, "%-6s %-8s", node_name, zone->name);
#define MV_WATERMARK_X(member, header) \
  g_string_append_printf(out, " %14" G_GUINT64_FORMAT, zone->member);
  MV_WATERMARK_COLUMNS(MV_WATERMARK_X)
#undef MV_WATERMARK_X
  g_string_append_c(out, '\n');
}

static gboolean
render_watermarks(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autofree MvSystem *system = load_system(error);
  const MvWatermarks *w;

  if (system == NULL)
    return FALSE;
  w = &system->watermarks;
  g_string_append_printf(out, "%-6s %-8s", "node", "zone");
#define MV_WATERMARK_X(member, header) g_string_append_printf(out, " %14s", header);
  MV_WATERMARK_COLUMNS(MV_WATERMARK_X)
#undef MV_WATERMARK_X
  g_string_append_c(out, '\n');
  for (int i = 0; i < w->n_zones; i++) {
    char node_name[16];

    g_snprintf(node_name, sizeof node_name, "%d", w->zones[i].node);
    append_watermark_row(out, node_name, &w->zones[i]);
  }
  append_watermark_row(out, "all", &w->sum);
  return TRUE;
}

/* PSI of the whole machine (Linux >= 4.20 with CONFIG_PSI, and psi=1 where
 * the kernel defaults it off): listed only where the kernel has it.
 * Relative to the /proc root. */
#define PROC_PRESSURE_MEMORY "pressure/memory"

static gboolean
pressure_present(void)
{
  return faccessat(mv_proc_root_fd(), PROC_PRESSURE_MEMORY, R_OK, 0) == 0;
}

static gboolean
render_pressure(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  return mv_read_file_at(mv_proc_root_fd(), PROC_PRESSURE_MEMORY, out, error);
}

/* `name value` per reclaim counter of /proc/vmstat (bytes; oom_kill a
 * count), in the kernel's order. */
static gboolean
render_reclaim(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new(8192);
  g_autoptr(GArray) counters = g_array_new(FALSE, FALSE, sizeof(MvReclaimCounter));

  if (!mv_read_file_at(mv_proc_root_fd(), "vmstat", text, error) ||
      !mv_reclaim_from_vmstat(text->str, text->len, (guint64) sysconf(_SC_PAGESIZE), counters,
                              error))
    return FALSE;
  for (guint i = 0; i < counters->len; i++) {
    const MvReclaimCounter *c = &g_array_index(counters, MvReclaimCounter, i);
    g_string_append_printf(out, "%s %" G_GUINT64_FORMAT "\n", c->name, c->value);
  }
  return TRUE;
}

static const MvNode system_entries[] = {
#define MV_FREE_X(member, name, description) \
  MV_FILE(name, MV_ACCESS_ANY, render_free_value, offsetof(MvFree, member), \
          description ", bytes"),
  MV_FREE_FIELDS(MV_FREE_X)
#undef MV_FREE_X
  MV_FILE("summary", MV_ACCESS_ANY, render_summary, 0,
          "free -b -w: the values above as free(1) prints them, bytes"),
  MV_FILE("watermarks", MV_ACCESS_ANY, render_watermarks, 0,
          "min/low/high/boost watermarks, managed pages and reserve per zone "
          "(/proc/zoneinfo), bytes, and their sum"),
  MV_FILE("available_breakdown", MV_ACCESS_ANY, render_available_breakdown, 0,
          "how the kernel's MemAvailable estimate is built, term by term, beside "
          "the kernel's own value and the difference, bytes"),
  { .name = "pressure", .type = MV_NODE_FILE, .access = MV_ACCESS_ANY,
    .render = render_pressure, .present = pressure_present,
    .help = "memory pressure stall information of the machine, as /proc/pressure/memory "
            "prints it (some/full avg10 avg60 avg300 total); listed only when the kernel "
            "has PSI" },
  MV_FILE("reclaim", MV_ACCESS_ANY, render_reclaim, 0,
          "reclaim counters of /proc/vmstat since boot as `name value` lines: pgscan_* "
          "(scanned), pgsteal_* (reclaimed), workingset_refault* (evicted then needed "
          "again: thrashing) in bytes, oom_kill a count of OOM kills"),
};

const MvNode mv_system_dir = MV_DIR("system", system_entries, NULL,
                                    "the machine, as free(1) sees it, and why");
