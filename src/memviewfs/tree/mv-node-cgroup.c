/* SPDX-License-Identifier: MIT */
/* cgroup/: the memory cgroup of the READING process (resolved per caller
 * at open(), so a reader in a container sees its container), on cgroup v1
 * and v2; and <pid>/cgroup, the path of a process's memory cgroup. A value
 * the kernel does not expose is ENOENT, never a made-up number. */
#include <math.h>
#include <string.h>

#include "model/mv-model-cgroup.h"
#include "mv-prom.h"
#include "mv-tree.h"

static MvCgroup *
load_caller_cgroup(const MvContext *ctx, GError **error)
{
  g_autoptr(MvCgroup) cgroup = mv_cgroup_new();

  if (!mv_cgroup_read(cgroup, ctx->caller_pid, error))
    return NULL;
  return g_steal_pointer(&cgroup);
}

/* @node->arg is the field's index in MV_CGROUP_FIELDS (its present bit
 * and, through mv_cgroup_value(), its member). */
static gboolean
render_cgroup_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvCgroup) cgroup = load_caller_cgroup(ctx, error);

  if (cgroup == NULL)
    return FALSE;
  if (!mv_cgroup_has(cgroup, (int) node->arg))
    return mv_set_errno(error, ENOENT, "cgroup %s: no %s on this kernel or cgroup version",
                        cgroup->location.cgroup_path, node->name);
  if (node->arg == MV_CGROUP_FIELD_limit && cgroup->limit_is_max) {
    /* no limit: the cgroup can have what the machine has (MemTotal), a
     * number for shell arithmetic; limit_raw says "max" */
    MvMeminfo meminfo;
    if (!mv_meminfo_read(&meminfo, error))
      return FALSE;
    mv_render_value(out, meminfo.mem_total);
  } else {
    mv_render_value(out, mv_cgroup_value(cgroup, (int) node->arg));
  }
  return TRUE;
}

/* The limit as the kernel states it: "max" when nothing up the path limits
 * the cgroup (v1's PAGE_COUNTER_MAX too), else the smallest limit. */
static gboolean
render_cgroup_limit_raw(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvCgroup) cgroup = load_caller_cgroup(ctx, error);

  if (cgroup == NULL)
    return FALSE;
  if (!mv_cgroup_has(cgroup, MV_CGROUP_FIELD_limit))
    return mv_set_errno(error, ENOENT, "cgroup %s: its limit cannot be read",
                        cgroup->location.cgroup_path);
  if (cgroup->limit_is_max)
    g_string_append(out, "max\n");
  else
    mv_render_value(out, cgroup->limit);
  return TRUE;
}

static gboolean
render_cgroup_events(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvCgroup) cgroup = load_caller_cgroup(ctx, error);

  if (cgroup == NULL)
    return FALSE;
  if (cgroup->events == NULL)
    return mv_set_errno(error, ENOENT, "cgroup %s: no memory.events (v2) or memory.failcnt "
                        "and memory.oom_control (v1)", cgroup->location.cgroup_path);
  g_string_append(out, cgroup->events);
  return TRUE;
}

static gboolean
render_cgroup_path(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvCgroup) cgroup = load_caller_cgroup(ctx, error);

  if (cgroup == NULL)
    return FALSE;
  g_string_append_printf(out, "%s\n", cgroup->location.cgroup_path);
  return TRUE;
}

static gboolean
render_cgroup_pressure(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvCgroup) cgroup = load_caller_cgroup(ctx, error);

  if (cgroup == NULL)
    return FALSE;
  if (cgroup->pressure == NULL)
    return mv_set_errno(error, ENOENT, "cgroup %s: no memory.pressure (PSI needs cgroup v2)",
                        cgroup->location.cgroup_path);
  g_string_append(out, cgroup->pressure);
  return TRUE;
}

static gboolean
render_cgroup_procs(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvCgroup) cgroup = load_caller_cgroup(ctx, error);

  if (cgroup == NULL)
    return FALSE;
  if (cgroup->procs == NULL)
    return mv_set_errno(error, ENOENT, "cgroup %s: cgroup.procs unreadable",
                        cgroup->location.cgroup_path);
  for (guint i = 0; i < cgroup->procs->len; i++)
    g_string_append_printf(out, "%d\n", (int) g_array_index(cgroup->procs, pid_t, i));
  return TRUE;
}

/* Which files of cgroup/ the reader's cgroup has, remembered for the last
 * caller for one second (the kernel caches names and attributes as long):
 * a listing asks once per entry, and loading the cgroup reads a dozen
 * files. Only presence is remembered; every value is read at open(). */
enum {
  HAS_CGROUP = 1 << 0,
  HAS_PRESSURE = 1 << 1,
  HAS_EVENTS = 1 << 2,
  HAS_PROCS = 1 << 3,
};

static GMutex presence_lock;
static struct {
  pid_t caller;
  gint64 until_us; /* monotonic */
  guint flags;
  guint64 values; /* MvCgroup.present */
} presence;

static void
load_presence(const MvContext *ctx, guint *flags, guint64 *values)
{
  gint64 now = g_get_monotonic_time();
  g_autoptr(MvCgroup) cgroup = NULL;

  g_mutex_lock(&presence_lock);
  if (presence.caller == ctx->caller_pid && now < presence.until_us) {
    *flags = presence.flags;
    *values = presence.values;
    g_mutex_unlock(&presence_lock);
    return;
  }
  g_mutex_unlock(&presence_lock);
  *flags = 0;
  *values = 0;
  cgroup = load_caller_cgroup(ctx, NULL);
  if (cgroup != NULL) {
    *flags = HAS_CGROUP | (cgroup->pressure != NULL ? HAS_PRESSURE : 0) |
             (cgroup->events != NULL ? HAS_EVENTS : 0) | (cgroup->procs != NULL ? HAS_PROCS : 0);
    *values = cgroup->present;
  }
  g_mutex_lock(&presence_lock);
  presence.caller = ctx->caller_pid;
  presence.until_us = now + G_USEC_PER_SEC;
  presence.flags = *flags;
  presence.values = *values;
  g_mutex_unlock(&presence_lock);
}

/* Does the reader's cgroup have what @node shows? (listing and lookup) */
static gboolean
cgroup_entry_present(const MvContext *ctx, const MvNode *node)
{
  guint flags;
  guint64 values;

  load_presence(ctx, &flags, &values);
  if (!(flags & HAS_CGROUP))
    return FALSE;
  if (node->render == render_cgroup_value)
    return (values >> node->arg) & 1;
  if (node->render == render_cgroup_limit_raw)
    return (values >> MV_CGROUP_FIELD_limit) & 1;
  if (node->render == render_cgroup_pressure)
    return (flags & HAS_PRESSURE) != 0;
  if (node->render == render_cgroup_events)
    return (flags & HAS_EVENTS) != 0;
  if (node->render == render_cgroup_procs)
    return (flags & HAS_PROCS) != 0;
  return TRUE;
}

#define CGROUP_FILE(name_, render_, arg_, help_) \
  { .name = (name_), .type = MV_NODE_FILE, .access = MV_ACCESS_ANY, .render = (render_), \
    .arg = (arg_), .help = (help_), .present_for = cgroup_entry_present }

static const MvNode cgroup_entries[] = {
  CGROUP_FILE("path", render_cgroup_path, 0,
              "the reader's memory cgroup, as /proc/self/cgroup names it"),
#define MV_CGROUP_X(member, name, description) \
  CGROUP_FILE(name, render_cgroup_value, MV_CGROUP_FIELD_##member, description ", bytes"),
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
  CGROUP_FILE("limit_raw", render_cgroup_limit_raw, 0,
              "the limit as the kernel states it: the same number as limit, or \"max\" when "
              "nothing limits the cgroup (limit is then the machine's MemTotal)"),
  CGROUP_FILE("events", render_cgroup_events, 0,
              "how often the cgroup hit its limit, `name count` lines: v2 memory.events "
              "(max: times usage reached the limit, oom, oom_kill...), v1 failcnt then "
              "memory.oom_control (oom_kill_disable, under_oom, oom_kill)"),
  CGROUP_FILE("pressure", render_cgroup_pressure, 0,
              "memory pressure stall information (PSI) of the cgroup, v2 only"),
  CGROUP_FILE("procs", render_cgroup_procs, 0, "the pids in the cgroup, one a line"),
};

const MvNode mv_cgroup_dir = MV_DIR("cgroup", cgroup_entries, NULL,
                                    "the memory cgroup the reader lives in (a container's "
                                    "own view), cgroup v1 or v2; lists only the files this "
                                    "kernel, cgroup version and reader have");

static void
append_cgroup_cell(GString *out, const MvCgroup *cg, int field)
{
  if (!mv_cgroup_has(cg, field))
    g_string_append_printf(out, " %14s", "-");
  else if (field == MV_CGROUP_FIELD_limit && cg->limit_is_max)
    g_string_append_printf(out, " %14s", "max");
  else
    g_string_append_printf(out, " %14" G_GUINT64_FORMAT, mv_cgroup_value(cg, field));
}

/* The root's cgroups: one row per memory cgroup of the host (of the
 * hierarchy as mounted where the daemon runs), parents first. */
gboolean
mv_render_cgroups(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GPtrArray) cgroups = mv_cgroup_read_all(error);

  if (cgroups == NULL)
    return FALSE;
  g_string_append_printf(out, "%14s %14s %14s %14s %9s %s\n", "limit", "usage", "anon", "file",
                         "processes", "cgroup");
  for (guint i = 0; i < cgroups->len; i++) {
    const MvCgroup *cg = g_ptr_array_index(cgroups, i);
    const char *path = cg->location.cgroup_path;

    append_cgroup_cell(out, cg, MV_CGROUP_FIELD_limit);
    append_cgroup_cell(out, cg, MV_CGROUP_FIELD_usage);
    append_cgroup_cell(out, cg, MV_CGROUP_FIELD_anon);
    append_cgroup_cell(out, cg, MV_CGROUP_FIELD_file);
    if (cg->procs != NULL)
      g_string_append_printf(out, " %9u ", cg->procs->len);
    else
      g_string_append_printf(out, " %9s ", "-");
    mv_render_escaped(out, path, strlen(path), FALSE);
    g_string_append_c(out, '\n');
  }
  return TRUE;
}

/* <pid>/cgroup: like /proc/<pid>/cgroup, readable by all. */
gboolean
mv_render_pid_cgroup(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_auto(MvCgroupLocation) location = { 0 };

  if (!mv_cgroup_locate(ctx->pid, &location, error))
    return FALSE;
  g_string_append_printf(out, "%s\n", location.cgroup_path);
  return TRUE;
}

/* Every memory cgroup as gauges, cgroup label = its path as
 * /proc/<pid>/cgroup names it (the daemon's view); a limit of "max" is
 * +Inf. A cgroup without memory accounting (no usage: v2 without the
 * memory controller) is left out. */
typedef struct {
  GString *samples[MV_CGROUP_N_FIELDS]; /* one family's samples each */
  guint count;
} CgroupSamples;

static void
add_cgroup_samples(const MvCgroup *cgroup, gpointer user_data)
{
  CgroupSamples *samples = user_data;

  if (!mv_cgroup_has(cgroup, MV_CGROUP_FIELD_usage))
    return;
  samples->count++;
#define MV_CGROUP_X(member, name, description)                                               \
  if (mv_cgroup_has(cgroup, MV_CGROUP_FIELD_##member)) {                                     \
    GString *out = samples->samples[MV_CGROUP_FIELD_##member];                               \
    if (MV_CGROUP_FIELD_##member == MV_CGROUP_FIELD_limit && cgroup->limit_is_max)           \
      mv_prom_sample_double(out, "memviewfs_cgroup_" name "_bytes", INFINITY, "cgroup",      \
                            cgroup->location.cgroup_path, NULL);                             \
    else                                                                                     \
      mv_prom_sample_u64(out, "memviewfs_cgroup_" name "_bytes", cgroup->member, "cgroup",   \
                         cgroup->location.cgroup_path, NULL);                                \
  }
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
}

void
mv_metrics_append_cgroups(GString *out, guint *cgroups, guint *read_errors)
{
  CgroupSamples samples = { { NULL } };

  for (int i = 0; i < MV_CGROUP_N_FIELDS; i++)
    samples.samples[i] = g_string_new(NULL);
  if (!mv_cgroup_foreach(add_cgroup_samples, &samples, NULL))
    ++*read_errors;
  *cgroups += samples.count;
#define MV_CGROUP_X(member, name, description)                                               \
  if (samples.samples[MV_CGROUP_FIELD_##member]->len > 0) {                                  \
    mv_prom_family(out, "memviewfs_cgroup_" name "_bytes", "gauge",                          \
                   "Memory cgroup: " description ".");                                       \
    g_string_append_len(out, samples.samples[MV_CGROUP_FIELD_##member]->str,                 \
                        samples.samples[MV_CGROUP_FIELD_##member]->len);                     \
  }
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
  for (int i = 0; i < MV_CGROUP_N_FIELDS; i++)
    g_string_free(samples.samples[i], TRUE);
}
