/* SPDX-License-Identifier: MIT */
/* The root: README, self, processes, and one directory per process. */
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/mv-demo.h"
#include "mv-pid-load.h"
#include "mv-scan.h"
#include "mv-tree.h"

/* ---- <pid>/ as dynamic children ----------------------------------------- */

static gboolean
lookup_pid(const MvNode *dir, const char *name, MvContext *ctx, const MvNode **child,
           GError **error)
{
  char proc_dir[32];
  struct stat st;
  MvReaderScope scope;
  pid_t pid;
  int errnum = 0;

  if (!mv_parse_pid_name(name, &pid))
    return TRUE; /* not a pid: ENOENT from the caller */
  mv_proc_pid_path(proc_dir, sizeof proc_dir, pid, NULL);
  /* Like /proc, a thread id resolves too (it shares the address space);
   * looked up as the reader, so that a pid hidepid= hides is ENOENT. */
  if (!mv_tree_enter_as_reader(ctx, pid, MV_ACCESS_ANY, &scope, error))
    return FALSE;
  if (fstatat(mv_proc_root_fd(), proc_dir, &st, 0) != 0)
    errnum = errno;
  mv_reader_leave(&scope);
  if (errnum != 0)
    return mv_set_errno(error, ENOENT, "no process %d", (int) pid);
  ctx->pid = pid;
  *child = &mv_pid_dir;
  return TRUE;
}

static void
collect_pid(pid_t pid, gpointer user_data)
{
  g_array_append_val((GArray *) user_data, pid);
}

/* The pids /proc lists to the reader (hidepid=), listed as the reader;
 * then those the rule must decide (the daemon's own) are checked one by
 * one. The entries are reported after switching back: adding one stats it
 * as the reader again. */
static void
list_pids(const MvNode *dir, const MvContext *ctx, MvListAddFunc add, gpointer user_data)
{
  g_autoptr(GArray) pids = g_array_sized_new(FALSE, FALSE, sizeof(pid_t), 512);
  const MvReader *reader;
  MvReaderScope scope;

  if (!mv_context_reader(ctx, &reader, NULL) ||
      !mv_tree_enter_as_reader(ctx, 0, MV_ACCESS_ANY, &scope, NULL))
    return;
  mv_foreach_pid(collect_pid, pids);
  mv_reader_leave(&scope);
  mv_add_reader_pid(ctx, pids);
  for (guint i = 0; i < pids->len; i++) {
    MvContext child_ctx = *ctx;
    MvReadAs as;
    char name[16];

    child_ctx.pid = g_array_index(pids, pid_t, i);
    if (reader != NULL &&
        !mv_reader_decide_full(reader, child_ctx.pid, TRUE, MV_ACCESS_ANY, &as, NULL))
      continue;
    g_snprintf(name, sizeof name, "%d", (int) child_ctx.pid);
    add(name, &mv_pid_dir, &child_ctx, user_data);
  }
}

static const MvDynamicChildren pid_children = { lookup_pid, list_pids };

/* ---- self ---------------------------------------------------------------- */

static gboolean
render_self(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  /* FUSE reports the calling thread; /proc/self names its thread group. */
  pid_t tgid = mv_tgid_of(ctx->caller_pid);

  if (tgid <= 0)
    return mv_set_errno(error, ENOENT, "caller %d has gone", (int) ctx->caller_pid);
  g_string_append_printf(out, "%d", (int) tgid);
  return TRUE;
}

/* ---- processes ------------------------------------------------------------ */

static const char *
user_name(GHashTable *names, uid_t uid)
{
  const char *name = g_hash_table_lookup(names, GUINT_TO_POINTER(uid));

  if (name == NULL) {
    struct passwd pwd, *result = NULL;
    char buffer[1024];

    if (getpwuid_r(uid, &pwd, buffer, sizeof buffer, &result) == 0 && result != NULL)
      name = g_strdup(result->pw_name);
    else
      name = g_strdup_printf("%u", (unsigned) uid);
    g_hash_table_insert(names, GUINT_TO_POINTER(uid), (gpointer) name);
  }
  return name;
}

static void
append_value_or_dash(GString *out, gboolean readable, guint64 value)
{
  if (readable)
    g_string_append_printf(out, " %12" G_GUINT64_FORMAT, value);
  else
    g_string_append_printf(out, " %12s", "-");
}

/* One table cell: @text with blanks escaped (mv_render_escaped), "-" when
 * empty (an empty comm, set with prctl(PR_SET_NAME, "")), so that every row
 * has every column; padded to @width. */
static void
append_cell(GString *out, const char *text, int width)
{
  gsize start = out->len;

  if (text[0] == '\0')
    g_string_append_c(out, '-');
  else
    mv_render_escaped(out, text, strlen(text), FALSE);
  if (out->len - start < (gsize) width)
    g_string_append_printf(out, "%*s", (int) (width - (out->len - start)), "");
}

/* One row per process: what smem prints, in one read. Columns the caller
 * may not read (another user's pss...) are "-", as /proc would refuse them.
 * swap_pss and cgroup are last (not beside swap and user) so that scripts
 * written against the first columns keep working. @node->arg
 * PROCESSES_USER leaves kernel threads out (processes_user). */
enum { PROCESSES_ALL, PROCESSES_USER };

static gboolean
render_processes(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GArray) rows = mv_scan_processes(ctx, MV_SCAN_ROLLUP | MV_SCAN_CGROUP, error);
  g_autoptr(GHashTable) names = g_hash_table_new_full(NULL, NULL, NULL, g_free);

  if (rows == NULL)
    return FALSE;
  g_string_append_printf(out, "%7s %-12s %-16s %12s %12s %12s %12s %14s %12s %s\n", "pid",
                         "user", "comm", "rss", "pss", "uss", "swap", "retained_freed",
                         "swap_pss", "cgroup");
  for (guint i = 0; i < rows->len; i++) {
    const MvScanRow *row = &g_array_index(rows, MvScanRow, i);

    if (node->arg == PROCESSES_USER && mv_scan_row_is_kernel_thread(row))
      continue;

    g_string_append_printf(out, "%7d ", (int) row->pid);
    append_cell(out, user_name(names, row->status.uid[1]), 12);
    g_string_append_c(out, ' ');
    append_cell(out, row->status.name, 16);
    g_string_append_printf(out, " %12" G_GUINT64_FORMAT, row->status.vm_rss);
    append_value_or_dash(out, row->readable, row->rollup.pss);
    append_value_or_dash(out, row->readable, row->rollup.uss);
    append_value_or_dash(out, row->readable, row->rollup.swap);
    g_string_append_c(out, ' ');
    append_value_or_dash(out, row->readable, row->rollup.retained_freed);
    append_value_or_dash(out, row->readable, row->rollup.swap_pss);
    g_string_append_c(out, ' ');
    append_cell(out, row->cgroup_path != NULL ? row->cgroup_path : "", 0);
    g_string_append_c(out, '\n');
  }
  return TRUE;
}

/* ---- users ----------------------------------------------------------------- */

typedef struct {
  uid_t uid;
  guint processes;
  gboolean all_readable; /* every process's smaps_rollup was readable */
  guint64 rss, pss, uss, swap;
} UserRow;

static gint
compare_user_rows(gconstpointer a, gconstpointer b)
{
  const UserRow *x = a, *y = b;

  return (x->uid > y->uid) - (x->uid < y->uid);
}

/* One row per user (the effective uid, as processes' user column): the
 * sums of that user's processes rows, as `smem -u` prints them. pss, uss
 * and swap are "-" when the reader may not read one of the user's
 * processes (a partial sum would read as the whole). */
static gboolean
render_users(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_autoptr(GArray) rows = mv_scan_processes(ctx, MV_SCAN_ROLLUP, error);
  g_autoptr(GHashTable) names = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  g_autoptr(GHashTable) index = g_hash_table_new(NULL, NULL);
  g_autoptr(GArray) users = g_array_new(FALSE, TRUE, sizeof(UserRow));

  if (rows == NULL)
    return FALSE;
  for (guint i = 0; i < rows->len; i++) {
    const MvScanRow *row = &g_array_index(rows, MvScanRow, i);
    uid_t uid = row->status.uid[1];
    gpointer slot;
    UserRow *user;

    if (!g_hash_table_lookup_extended(index, GUINT_TO_POINTER(uid), NULL, &slot)) {
      UserRow fresh = { .uid = uid, .all_readable = TRUE };
      slot = GUINT_TO_POINTER(users->len);
      g_array_append_val(users, fresh);
      g_hash_table_insert(index, GUINT_TO_POINTER(uid), slot);
    }
    user = &g_array_index(users, UserRow, GPOINTER_TO_UINT(slot));
    user->processes++;
    user->rss += row->status.vm_rss;
    user->all_readable = user->all_readable && row->readable;
    user->pss += row->rollup.pss;
    user->uss += row->rollup.uss;
    user->swap += row->rollup.swap;
  }
  g_array_sort(users, compare_user_rows);
  g_string_append_printf(out, "%-12s %9s %14s %14s %14s %14s\n", "user", "processes", "rss",
                         "pss", "uss", "swap");
  for (guint i = 0; i < users->len; i++) {
    const UserRow *user = &g_array_index(users, UserRow, i);

    append_cell(out, user_name(names, user->uid), 12);
    g_string_append_printf(out, " %9u %14" G_GUINT64_FORMAT, user->processes, user->rss);
    append_value_or_dash(out, user->all_readable, user->pss);
    append_value_or_dash(out, user->all_readable, user->uss);
    append_value_or_dash(out, user->all_readable, user->swap);
    g_string_append_c(out, '\n');
  }
  return TRUE;
}

/* ---- the root table --------------------------------------------------------- */

static const MvNode root_entries[] = {
  MV_FILE("README", MV_ACCESS_ANY, mv_render_readme, 0,
          "what every file of this tree means (this file)"),
  MV_LINK("self", render_self, "the reading process's own directory, like /proc/self"),
  MV_FILE("processes", MV_ACCESS_ANY, render_processes, PROCESSES_ALL,
          "one row per process: pid user comm rss pss uss swap retained_freed swap_pss "
          "cgroup (bytes; cgroup the memory cgroup's path as /proc/<pid>/cgroup names it; "
          "\"-\" where the reader may not see that process's memory, like /proc, "
          "and for an empty comm or no cgroup; blanks in comm and cgroup escaped \\040)"),
  MV_FILE("processes_user", MV_ACCESS_ANY, render_processes, PROCESSES_USER,
          "processes without the kernel threads (no address space and not a zombie: "
          "all zeros in processes), same columns"),
  MV_FILE("users", MV_ACCESS_ANY, render_users, 0,
          "one row per user, as smem -u: user processes rss pss uss swap (bytes; the sums "
          "of that user's rows of processes; pss uss swap \"-\" when the reader may not "
          "read one of the user's processes)"),
  MV_FILE("cgroups", MV_ACCESS_ANY, mv_render_cgroups, 0,
          "one row per memory cgroup of the host, parents first: limit usage anon file "
          "processes cgroup (bytes as in cgroup/; limit \"max\" when nothing limits it, "
          "\"-\" where the kernel has no such value; processes: pids in its own "
          "cgroup.procs; cgroup the path as the processes file names it, last)"),
  MV_SUBDIR("system", &mv_system_dir),
  MV_SUBDIR("cgroup", &mv_cgroup_dir),
  MV_SUBDIR("metrics", &mv_metrics_dir),
  { .name = "demo", .type = MV_NODE_DIR, .access = MV_ACCESS_ANY, .alias = &mv_demo_dir,
    .present = mv_demo_enabled },
};

static const MvNode root = MV_DIR("", root_entries, &pid_children, "the root");

const MvNode *
mv_tree_root(void)
{
  return &root;
}
