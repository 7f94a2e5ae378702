/* SPDX-License-Identifier: MIT */
/*
 * The pthread_atfork handlers (sa-fork.c), installed by sa_init_slow.
 */
#ifndef SA_FORK_H
#define SA_FORK_H

#include "sa-base.h"

SA_HIDDEN void sa_fork_prepare(void);
SA_HIDDEN void sa_fork_parent(void);
SA_HIDDEN void sa_fork_child(void);

#endif
