/* SPDX-License-Identifier: MIT */
/* Loading one process's kernel sources for the tree, each from its cheapest
 * exact source, with the rules that keep a vanished process from ever
 * showing stale or partial numbers:
 *  - a process that is gone is ENOENT;
 *  - a process without an address space (kernel thread, zombie) has an
 *    empty smaps (0 in every value derived from it) and ESRCH for
 *    smaps_rollup, as /proc has;
 *  - smaps is read in several chunks by the kernel; a process that exits
 *    (or execs) meanwhile yields a truncated text, so after reading we check
 *    that the address space is still there and answer ENOENT if not. */
#pragma once

#include "model/mv-model-pid.h"
#include "mv-node.h"

G_BEGIN_DECLS

/* Reads /proc/<pid>/<name> whole; a process that has gone is ENOENT
 * whether the kernel said so at open (ENOENT) or at read (ESRCH). */
gboolean mv_pid_read(pid_t pid, const char *name, GString *out, GError **error);

/* /proc/<pid>/status. */
gboolean mv_pid_load_status(pid_t pid, MvStatus *status, GError **error);

/* /proc/<pid>/smaps_rollup -> pss, uss, swap, retained_freed. ESRCH, as
 * /proc's, for a process without an address space. */
gboolean mv_pid_load_rollup(pid_t pid, MvPidRollup *rollup, GError **error);

/* The whole text of /proc/<pid>/smaps, checked to come from one address
 * space (the rules above); the confirming status read goes to @status when
 * it is not NULL. */
gboolean mv_pid_read_smaps(pid_t pid, GString *text, MvStatus *status, GError **error);

/* /proc/<pid>/smaps -> the 2x2 and the mappings table. The status read
 * that confirms the address space outlived the read goes to @status when
 * it is not NULL. */
MvPidSmaps *mv_pid_load_smaps(pid_t pid, MvStatus *status, GError **error);
/* mv_pid_load_smaps and mv_pid_load_rollup, both read from the same pid
 * (pin it); a process without an address space has rollup values 0, not
 * ESRCH. For a large address space the rollup's read (its own walk of every
 * mapping) runs on a second thread while smaps is parsed. */
MvPidSmaps *mv_pid_load_smaps_rollup(pid_t pid, MvStatus *status, MvPidRollup *rollup,
                                     GError **error);

/* A render that combines several reads of one pid (summary: smaps, status,
 * smaps_rollup; a processes/metrics row: status then smaps_rollup) must not
 * combine two processes when the pid is reused in between (measured under
 * pid churn: a row with one process's comm and another's pss). Pin the
 * process before the first read: an O_PATH fd of /proc/<pid>, which keeps
 * referring to that process, not to a later one with the same pid. After
 * the last read, mv_pid_unpin() answers ENOENT if the pinned process has
 * gone: then some read may have been of another one. If it is still there,
 * it was there all along, and every read was of it. -1 when the process is
 * already gone (mv_pid_unpin then answers ENOENT). */
int mv_pid_pin(pid_t pid);
gboolean mv_pid_unpin(int pin, pid_t pid, GError **error);

G_END_DECLS
