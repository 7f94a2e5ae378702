/* SPDX-License-Identifier: MIT */
/* The processes /proc lists (mv-pids.c): for the root's <pid>/ entries and
 * the process scan (mv-scan.c). */
#pragma once

#include "mv-node.h"

G_BEGIN_DECLS

/* A pid as /proc spells it: decimal digits, no sign, no leading zero. */
gboolean mv_parse_pid_name(const char *name, pid_t *pid);

/* Adds the reader's own process to @pids (ascending pid_t) when listing
 * as the reader left it out. */
void mv_add_reader_pid(const MvContext *ctx, GArray *pids);

/* Calls @func for every process in /proc, in /proc's order (ascending). */
void mv_foreach_pid(void (*func)(pid_t pid, gpointer user_data), gpointer user_data);

G_END_DECLS
