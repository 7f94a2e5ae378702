/* SPDX-License-Identifier: MIT */
/*
 * The background thread (sa-background.c): scavenges and republishes.
 */
#ifndef SA_BACKGROUND_H
#define SA_BACKGROUND_H

#include "sa-background-state.h"

/* ---------- background thread (sa-background.c) ---------- */
/* Starts the thread if it is not running (once per process; again in a fork
 * child). Safe to call from inside malloc. */
SA_HIDDEN void sa_bg_start(void);
SA_HIDDEN void sa_bg_fork_child(void);
/* Stops the thread and waits for it to exit; returns whether it ran. */
SA_HIDDEN bool sa_bg_stop(void);

#endif
