/* SPDX-License-Identifier: MIT */
#include "mv-scan.h"
#include "spanalloc-stats.h"

#include <string.h>

#include "mv-access.h"
#include "mv-pid-load.h"
#include "mv-pids.h"

typedef struct {
  GArray *rows;        /* of MvScanRow */
  GArray *present;     /* of gboolean, parallel to rows */
  const guint *order;  /* the row indices in the order they are taken */
  gint64 *cost_us;     /* parallel to rows: how long each row took (us) */
  const MvReader *reader; /* NULL: read as the daemon */
  MvScanFlags flags;
  gint next;           /* next index into order to take, atomically */
  GMutex lock;
  GCond done;
  guint running;       /* pool workers still on this job (under lock) */
} ScanJob;

/* Most scan workers besides the calling thread (see mv_scan_processes). */
#define MAX_POOL_WORKERS 15

/* Makes this thread read @pid the way the reader must (switching
 * credentials only when that changes). FALSE when /proc hides the process
 * from the reader. */
static gboolean
read_as(const MvReader *reader, pid_t pid, MvAccess access, gboolean *switched)
{
  MvReadAs as = MV_READ_AS_DAEMON;

  if (reader != NULL && !mv_reader_decide_full(reader, pid, TRUE, access, &as, NULL))
    return FALSE;
  if (as == MV_READ_AS_DAEMON && *switched) {
    mv_reader_restore();
    *switched = FALSE;
  } else if (as == MV_READ_AS_READER && !*switched) {
    if (!mv_reader_switch(reader, NULL))
      return FALSE;
    *switched = TRUE;
  }
  return TRUE;
}

/* Loads one row as the reader; FALSE when the process is gone or /proc
 * does not show it to the reader. */
static gboolean
scan_one(MvScanRow *row, const MvReader *reader, MvScanFlags flags, gboolean *switched)
{
  g_autoptr(GError) error = NULL;
  int pin;

  if (!read_as(reader, row->pid, MV_ACCESS_ANY, switched))
    return FALSE;
  pin = mv_pid_pin(row->pid); /* one process's values per row (mv-pid-load.h) */
  if (!mv_pid_load_status(row->pid, &row->status, NULL)) {
    mv_pid_unpin(pin, row->pid, NULL);
    return FALSE;
  }
  if (flags & MV_SCAN_CGROUP) {
    /* readable by all, like status */
    g_autoptr(GString) text = g_string_sized_new(256);
    char path[4096];
    MvCgroupVersion version;
    if (mv_pid_read(row->pid, "cgroup", text, NULL) &&
        mv_proc_cgroup_parse(text->str, text->len, &version, path, sizeof path, NULL))
      row->cgroup_path = g_strdup(path);
  }
  row->readable = read_as(reader, row->pid, MV_ACCESS_PTRACE_READ, switched);
  if (!row->readable)
    return mv_pid_unpin(pin, row->pid, NULL);
  if (flags & MV_SCAN_SMAPS) {
    /* smaps for the 2x2; pss, uss, swap... from smaps_rollup, whose Pss and
     * SwapPss are exact where the per-mapping ones of smaps are each
     * rounded down to a kB (mv-node-pid.c, render_summary); read as summary
     * reads them (the rollup's walk overlapping a large smaps) */
    MvStatus smaps_status;
    g_autoptr(MvPidSmaps) model =
      mv_pid_load_smaps_rollup(row->pid, &smaps_status, &row->rollup, &error);
    if (model != NULL) {
      row->resident = model->resident;
      for (guint i = 0; i < model->rows->len; i++) {
        const MvMappingRow *mapping = g_ptr_array_index(model->rows, i);
        if (g_str_has_prefix(mapping->label, "/memfd:" SA_STATS_MEMFD_NAME))
          row->maps_stats_segment = TRUE;
      }
      return mv_pid_unpin(pin, row->pid, NULL);
    }
  } else if (mv_pid_load_rollup(row->pid, &row->rollup, &error)) {
    return mv_pid_unpin(pin, row->pid, NULL);
  }
  if (!mv_pid_unpin(pin, row->pid, NULL))
    return FALSE; /* exited between the reads */
  if (mv_error_errno(error) == ESRCH)
    return TRUE; /* no address space (kernel thread, zombie): 0, as ps shows */
  if (mv_error_errno(error) == ENOENT)
    return FALSE; /* exited between the reads */
  row->readable = FALSE; /* refused to the reader (EACCES), as /proc refuses it */
  memset(&row->rollup, 0, sizeof row->rollup);
  memset(&row->resident, 0, sizeof row->resident);
  return TRUE;
}

static gpointer
scan_worker(gpointer user_data)
{
  ScanJob *job = user_data;
  gboolean switched = FALSE;

  for (;;) {
    guint k = (guint) g_atomic_int_add(&job->next, 1);
    guint i;
    gint64 start;
    if (k >= job->rows->len)
      break;
    i = job->order[k];
    start = g_get_monotonic_time();
    g_array_index(job->present, gboolean, i) =
      scan_one(&g_array_index(job->rows, MvScanRow, i), job->reader, job->flags, &switched);
    job->cost_us[i] = g_get_monotonic_time() - start;
  }
  if (switched)
    mv_reader_restore();
  return NULL;
}

/* A pool thread's share of a job: then tells the caller it is done. */
static void
pool_run(gpointer data, gpointer user_data)
{
  ScanJob *job = data;

  scan_worker(job);
  g_mutex_lock(&job->lock);
  job->running--;
  g_cond_signal(&job->done);
  g_mutex_unlock(&job->lock);
}

/* One pool for the daemon's life, shared by every scan: its threads start
 * once, not per open. Several opens of processes at once queue their shares;
 * each caller also works through its own rows, so a scan finishes even
 * while the pool is busy with another (its queued shares then find nothing
 * left to do). */
static GThreadPool *
scan_pool(void)
{
  static GThreadPool *pool;
  static gsize made_once;

  if (g_once_init_enter(&made_once)) {
    guint n = MIN(2 * g_get_num_processors(), MAX_POOL_WORKERS + 1) - 1;
    /* exclusive: its threads start now and stay (NULL when none could
     * start: the caller then scans alone) */
    GThreadPool *made = n > 0 ? g_thread_pool_new(pool_run, NULL, (gint) n, TRUE, NULL) : NULL;
    pool = made;
    g_once_init_leave(&made_once, 1);
  }
  return pool;
}

/* What each process cost the last scan, to take the costly ones first in
 * the next: a scan lasts at least as long as its costliest process (one
 * smaps_rollup walk is not split), so a process with a large address space
 * taken late in pid order runs alone at the end while the other workers
 * idle. Longest first is the classic bound for this (LPT scheduling). Only
 * the order of the work depends on it; what a scan shows does not. */
static GMutex last_costs_lock;
static GArray *last_costs; /* of MvScanCost, in pid order; under the lock */

static gint
compare_cost_desc(gconstpointer a, gconstpointer b, gpointer user_data)
{
  const gint64 *hint_us = user_data;
  guint ia = *(const guint *) a, ib = *(const guint *) b;

  if (hint_us[ia] != hint_us[ib])
    return hint_us[ia] > hint_us[ib] ? -1 : 1;
  return ia < ib ? -1 : ia > ib; /* pid order among equals */
}

void
mv_scan_order_by_cost(const pid_t *pids, guint n_pids, const MvScanCost *last, guint n_last,
                      guint *order)
{
  g_autofree gint64 *hint_us = g_new(gint64, MAX(n_pids, 1));
  guint j = 0;

  for (guint i = 0; i < n_pids; i++) {
    /* both in pid order: one merge walk */
    while (j < n_last && last[j].pid < pids[i])
      j++;
    hint_us[i] = j < n_last && last[j].pid == pids[i] ? last[j].cost_us : 0;
    order[i] = i;
  }
  g_qsort_with_data(order, (gint) n_pids, sizeof *order, compare_cost_desc, hint_us);
}

static void
order_by_last_cost(const pid_t *pids, guint n_pids, guint *order)
{
  g_mutex_lock(&last_costs_lock);
  mv_scan_order_by_cost(pids, n_pids,
                        last_costs != NULL ? (const MvScanCost *) last_costs->data : NULL,
                        last_costs != NULL ? last_costs->len : 0, order);
  g_mutex_unlock(&last_costs_lock);
}

static void
remember_costs(GArray *rows, const gint64 *cost_us)
{
  g_autoptr(GArray) costs = g_array_sized_new(FALSE, FALSE, sizeof(MvScanCost), rows->len);

  for (guint i = 0; i < rows->len; i++) {
    MvScanCost cost = { g_array_index(rows, MvScanRow, i).pid, cost_us[i] };
    g_array_append_val(costs, cost);
  }
  g_mutex_lock(&last_costs_lock);
  g_clear_pointer(&last_costs, g_array_unref);
  last_costs = g_steal_pointer(&costs);
  g_mutex_unlock(&last_costs_lock);
}

static void
clear_row(gpointer data)
{
  MvScanRow *row = data;

  g_clear_pointer(&row->cgroup_path, g_free);
}

static void
collect_pid(pid_t pid, gpointer user_data)
{
  g_array_append_val((GArray *) user_data, pid);
}

GArray *
mv_scan_processes(const MvContext *ctx, MvScanFlags flags, GError **error)
{
  g_autoptr(GArray) pids = g_array_sized_new(FALSE, FALSE, sizeof(pid_t), 512);
  g_autoptr(GArray) rows = g_array_sized_new(FALSE, TRUE, sizeof(MvScanRow), 512);
  g_autoptr(GArray) present = NULL;
  g_autofree guint *order = NULL;
  g_autofree gint64 *cost_us = NULL;
  GArray *result;
  guint n_threads;
  ScanJob job = { 0 };
  MvReaderScope scope;
  const MvReader *reader;

  /* The pids /proc lists to the reader (hidepid=). */
  if (!mv_context_reader(ctx, &reader, error) ||
      !mv_tree_enter_as_reader(ctx, 0, MV_ACCESS_ANY, &scope, error))
    return NULL;
  mv_foreach_pid(collect_pid, pids);
  mv_reader_leave(&scope);
  mv_add_reader_pid(ctx, pids);
  for (guint i = 0; i < pids->len; i++) {
    MvScanRow row = { .pid = g_array_index(pids, pid_t, i) };
    g_array_append_val(rows, row);
  }

  present = g_array_sized_new(FALSE, TRUE, sizeof(gboolean), rows->len);
  g_array_set_size(present, rows->len);
  order = g_new(guint, rows->len + 1);
  cost_us = g_new0(gint64, rows->len + 1);
  order_by_last_cost((const pid_t *) pids->data, pids->len, order);
  job.rows = rows;
  job.present = present;
  job.order = order;
  job.cost_us = cost_us;
  job.reader = reader;
  job.flags = flags;
  g_mutex_init(&job.lock);
  g_cond_init(&job.done);
  /* Two workers per CPU (this thread is one), none for a handful of pids:
   * the kernel's smaps walk sleeps now and then (mmap_lock, cond_resched),
   * and measured on 2 vCPUs with ~370 processes the scan takes 13 ms with
   * four threads against 22 ms with two (bench/run-memviewfs-bench). */
  n_threads = MIN(2 * g_get_num_processors(), MAX_POOL_WORKERS + 1) - 1;
  n_threads = MIN(n_threads, rows->len / 32);
  if (n_threads > 0 && scan_pool() == NULL)
    n_threads = 0;
  job.running = n_threads;
  for (guint i = 0; i < n_threads; i++)
    g_thread_pool_push(scan_pool(), &job, NULL);
  scan_worker(&job);
  g_mutex_lock(&job.lock);
  while (job.running > 0)
    g_cond_wait(&job.done, &job.lock);
  g_mutex_unlock(&job.lock);
  g_mutex_clear(&job.lock);
  g_cond_clear(&job.done);
  remember_costs(rows, cost_us);

  result = g_array_sized_new(FALSE, FALSE, sizeof(MvScanRow), rows->len);
  g_array_set_clear_func(result, clear_row);
  for (guint i = 0; i < rows->len; i++) {
    MvScanRow *row = &g_array_index(rows, MvScanRow, i);
    if (g_array_index(present, gboolean, i))
      g_array_append_val(result, *row);
    else
      clear_row(row);
  }
  return result;
}
