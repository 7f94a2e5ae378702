/* SPDX-License-Identifier: MIT */
#include "mv-scan.h"

#include <string.h>

#include "mv-pid-load.h"

typedef struct {
  GArray *rows;        /* of MvScanRow */
  GArray *present;     /* of gboolean, parallel to rows */
  const MvCaller *caller;
  MvScanFlags flags;
  gint next;           /* next row index to take, atomically */
} ScanJob;

/* Loads one row; FALSE when the process is gone. */
static gboolean
scan_one(MvScanRow *row, const MvCaller *caller, MvScanFlags flags)
{
  g_autoptr(GError) error = NULL;
  int pin = mv_pid_pin(row->pid); /* one process's values per row (mv-pid-load.h) */

  if (!mv_pid_load_status(row->pid, &row->status, NULL)) {
    mv_pid_unpin(pin, row->pid, NULL);
    return FALSE;
  }
  row->readable = mv_caller_may_read_mm(caller, row->pid, &row->status, NULL);
  if (!row->readable)
    return mv_pid_unpin(pin, row->pid, NULL);
  if (flags & MV_SCAN_SMAPS) {
    /* smaps for the 2x2; pss, uss, swap... from smaps_rollup, whose Pss and
     * SwapPss are exact where the per-mapping ones of smaps are each
     * rounded down to a kB (mv-node-pid.c, render_summary) */
    g_autoptr(MvPidSmaps) model = mv_pid_load_smaps(row->pid, NULL, &error);
    if (model != NULL && mv_pid_load_rollup(row->pid, &row->rollup, &error)) {
      row->resident = model->resident;
      return mv_pid_unpin(pin, row->pid, NULL);
    }
  } else if (mv_pid_load_rollup(row->pid, &row->rollup, &error)) {
    return mv_pid_unpin(pin, row->pid, NULL);
  }
  if (!mv_pid_unpin(pin, row->pid, NULL))
    return FALSE; /* exited between the reads */
  if (mv_error_errno(error) == ENOENT)
    return FALSE; /* exited between the reads */
  row->readable = FALSE; /* the kernel refused even the daemon (an LSM) */
  memset(&row->rollup, 0, sizeof row->rollup);
  memset(&row->resident, 0, sizeof row->resident);
  return TRUE;
}

static gpointer
scan_worker(gpointer user_data)
{
  ScanJob *job = user_data;

  for (;;) {
    guint i = (guint) g_atomic_int_add(&job->next, 1);
    if (i >= job->rows->len)
      break;
    g_array_index(job->present, gboolean, i) =
      scan_one(&g_array_index(job->rows, MvScanRow, i), job->caller, job->flags);
  }
  return NULL;
}

static void
collect_pid(pid_t pid, gpointer user_data)
{
  MvScanRow row = { .pid = pid };

  g_array_append_val((GArray *) user_data, row);
}

GArray *
mv_scan_processes(const MvContext *ctx, MvScanFlags flags, GError **error)
{
  g_autoptr(MvCaller) caller = mv_caller_new(ctx, error);
  g_autoptr(GArray) rows = g_array_sized_new(FALSE, TRUE, sizeof(MvScanRow), 512);
  g_autoptr(GArray) present = NULL;
  GArray *result;
  GThread *threads[16];
  guint n_threads;
  ScanJob job;

  if (caller == NULL)
    return NULL;
  mv_foreach_pid(collect_pid, rows);

  present = g_array_sized_new(FALSE, TRUE, sizeof(gboolean), rows->len);
  g_array_set_size(present, rows->len);
  job = (ScanJob) { rows, present, caller, flags, 0 };
  /* Two workers per CPU (this thread is one), none for a handful of pids:
   * the kernel's smaps walk sleeps now and then (mmap_lock, cond_resched),
   * and measured on 2 vCPUs with ~370 processes the scan takes 13 ms with
   * four threads against 22 ms with two (bench/run-memviewfs-bench). */
  n_threads = MIN(2 * g_get_num_processors(), G_N_ELEMENTS(threads) + 1) - 1;
  n_threads = MIN(n_threads, rows->len / 32);
  for (guint i = 0; i < n_threads; i++)
    threads[i] = g_thread_new("mv-scan", scan_worker, &job);
  scan_worker(&job);
  for (guint i = 0; i < n_threads; i++)
    g_thread_join(threads[i]);

  result = g_array_sized_new(FALSE, FALSE, sizeof(MvScanRow), rows->len);
  for (guint i = 0; i < rows->len; i++)
    if (g_array_index(present, gboolean, i))
      g_array_append_val(result, g_array_index(rows, MvScanRow, i));
  return result;
}
