/* SPDX-License-Identifier: MIT */
/* One pass over every process, in parallel (two threads per CPU: see
 * mv-scan.c), for the files that show all processes at once (processes,
 * metrics/). Each process is read once, from the cheapest source that has
 * what was asked; the processes that took longest in the previous scan are
 * taken first (mv_scan_order_by_cost). */
#pragma once

#include "model/mv-model-pid.h"
#include "mv-node.h"

G_BEGIN_DECLS

typedef enum {
  MV_SCAN_ROLLUP = 1 << 0, /* smaps_rollup: pss, uss, swap, swap_pss, retained_freed */
  MV_SCAN_SMAPS = 1 << 1,  /* smaps for the 2x2, and all of the above (from
                            * smaps_rollup: exact Pss) */
  MV_SCAN_CGROUP = 1 << 2, /* /proc/<pid>/cgroup: the memory cgroup's path */
} MvScanFlags;

typedef struct {
  pid_t pid;
  gboolean readable;   /* the caller may read this process's smaps; the
                        * fields below from smaps/rollup are 0 otherwise */
  MvStatus status;     /* rss, vsz, comm, owner */
  MvPidRollup rollup;  /* pss, uss, swap, swap_pss, retained_freed (bytes) */
  MvResident2x2 resident; /* with MV_SCAN_SMAPS (bytes) */
  gboolean maps_stats_segment; /* with MV_SCAN_SMAPS: a mapping is named like
                                * spanalloc's statistics segment */
  char *cgroup_path;   /* with MV_SCAN_CGROUP: the memory cgroup as
                        * /proc/<pid>/cgroup names it; NULL when it has none
                        * or it cannot be read (freed with the array) */
} MvScanRow;

/* A kernel thread: no address space, and not a zombie (which has given
 * its address space back but is a user process). */
static inline gboolean
mv_scan_row_is_kernel_thread(const MvScanRow *row)
{
  return !row->status.has_mm && row->status.state != 'Z';
}

/* Every process that existed through its reads, in pid order. A process
 * that exits while being read is left out; one the kernel refuses to the
 * daemon itself (an LSM) is kept with readable FALSE. */
GArray *mv_scan_processes(const MvContext *ctx, MvScanFlags flags, GError **error);

/* How long one process took in a scan (us): the next scan takes the
 * costliest first (mv-scan.c). */
typedef struct {
  pid_t pid;
  gint64 cost_us;
} MvScanCost;

/* Fills @order with 0..@n_pids-1, the indices of @pids (in pid order) in
 * the order a scan takes them: by their cost in @last (in pid order),
 * costliest first; a pid @last does not have counts as cost 0; equal costs
 * stay in pid order. */
void mv_scan_order_by_cost(const pid_t *pids, guint n_pids, const MvScanCost *last,
                           guint n_last, guint *order);

G_END_DECLS
