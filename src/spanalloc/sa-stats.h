/* SPDX-License-Identifier: MIT */
/*
 * Statistics collection (sa-stats.c): the counters of every layer into
 * struct sa_stats, the span table.
 */
#ifndef SA_STATS_H
#define SA_STATS_H

#include "sa-base.h"

struct sa_stats;
struct sa_span_table;

/* ---------- statistics ---------- */
SA_HIDDEN void sa_stats_collect(struct sa_stats *out);
SA_HIDDEN void sa_spans_collect(struct sa_span_table *t);

#endif
