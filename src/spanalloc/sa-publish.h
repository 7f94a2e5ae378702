/* SPDX-License-Identifier: MIT */
/*
 * Publication of the statistics in the memfd segment (sa-publish.c).
 */
#ifndef SA_PUBLISH_H
#define SA_PUBLISH_H

#include "sa-os.h"

struct sa_stats;

SA_HIDDEN void sa_publish(const struct sa_stats *s);
SA_HIDDEN void sa_publish_maybe(void);
SA_HIDDEN void sa_publish_fork_child(void);
extern sa_lock_t sa_publish_lock SA_HIDDEN;
/* Publishes ladder, span table and arenas if the ladder changed since the
 * last publication (or `force`). Called by the background thread. */
SA_HIDDEN void sa_publish_if_changed(bool force);

#endif
