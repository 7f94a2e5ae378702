/* SPDX-License-Identifier: MIT */
/*
 * The background thread's state, read by the statistics (sa-stats.c) and
 * defined in sa-background.c. No functions: the thread itself publishes
 * the statistics, so its functions' header (sa-background.h) sits above
 * the statistics.
 */
#ifndef SA_BACKGROUND_STATE_H
#define SA_BACKGROUND_STATE_H

#include "sa-base.h"

extern int sa_bg_running SA_HIDDEN;      /* 1 while the thread runs */
extern uint64_t sa_bg_wakeups SA_HIDDEN; /* cumulative wake-ups */

#endif
