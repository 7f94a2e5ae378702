/* SPDX-License-Identifier: MIT */
/* cgroup/: the memory cgroup of the READING process (resolved per caller
 * at open(), so a reader in a container sees its container), on cgroup v1
 * and v2; and <pid>/cgroup, the path of a process's memory cgroup. A value
 * the kernel does not expose is ENOENT, never a made-up number. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "model/mv-model-cgroup.h"
#include "mv-prom.h"
#include "mv-tree.h"

static MvCgroup *
load_caller_cgroup(const MvContext *ctx, GError **error)
{
  g_autoptr(MvCgroup) cgroup = mv_cgroup_new();

  if (!mv_cgroup_read(cgroup, "", ctx->caller_pid, error))
    return NULL;
  return g_steal_pointer(&cgroup);
}

/* @node->arg is the field's index in MV_CGROUP_FIELDS; its value is at
 * the same index among the guint64 members after `location`. */
static const gsize cgroup_value_offsets[] = {
#define MV_CGROUP_X(member, name, description) offsetof(MvCgroup, member),
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
};

static gboolean
render_cgroup_value(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(MvCgroup) cgroup = load_caller_cgroup(ctx, error);

  if (cgroup == NULL)
    return FALSE;
  if (!mv_cgroup_has(cgroup, (int) node->arg))
    return mv_set_errno(error, ENOENT, "cgroup %s: no %s on this kernel or cgroup version",
                        cgroup->location.cgroup_path, node->name);
  if (node->arg == MV_CGROUP_FIELD_limit && cgroup->limit_is_max)
    g_string_append(out, "max\n");
  else
    mv_render_value(out, G_STRUCT_MEMBER(guint64, cgroup, cgroup_value_offsets[node->arg]));
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

static const MvNode cgroup_entries[] = {
  MV_FILE("path", MV_ACCESS_ANY, render_cgroup_path, 0,
          "the reader's memory cgroup, as /proc/self/cgroup names it"),
#define MV_CGROUP_X(member, name, description) \
  MV_FILE(name, MV_ACCESS_ANY, render_cgroup_value, MV_CGROUP_FIELD_##member, \
          description ", bytes"),
  MV_CGROUP_FIELDS(MV_CGROUP_X)
#undef MV_CGROUP_X
  MV_FILE("pressure", MV_ACCESS_ANY, render_cgroup_pressure, 0,
          "memory pressure stall information (PSI) of the cgroup, v2 only"),
  MV_FILE("procs", MV_ACCESS_ANY, render_cgroup_procs, 0, "the pids in the cgroup, one a line"),
};

const MvNode mv_cgroup_dir = MV_DIR("cgroup", cgroup_entries, NULL,
                                    "the memory cgroup the reader lives in (a container's "
                                    "own view), cgroup v1 or v2; absent values are ENOENT");

/* <pid>/cgroup: like /proc/<pid>/cgroup, readable by all. */
gboolean
mv_render_pid_cgroup(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_auto(MvCgroupLocation) location = { 0 };

  if (!mv_cgroup_locate("", ctx->pid, &location, error))
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
  if (!mv_cgroup_foreach("", add_cgroup_samples, &samples, NULL))
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
