/* SPDX-License-Identifier: MIT */
/*
 * Options: every SPANALLOC_* environment variable spanalloc reads, in one
 * table (as mimalloc's options.c): name, default, environment variable and
 * the parsed value. sa_options_init parses them once, at start-up
 * (sa_init_slow), and sets the settings below from them.
 *
 * The settings are plain variables, not table look-ups, because the page
 * heap, the central lists and the thread caches read them on every slow
 * path; two of them change at run time (sa_set_release_mode,
 * sa_set_scavenge_delay).
 */
#ifndef SA_OPTIONS_H
#define SA_OPTIONS_H

#include "sa-base.h"

enum sa_option_id {
	SA_OPT_MADV,         /* SPANALLOC_MADV=free|dontneed: enum sa_release_mode */
	SA_OPT_SCAVENGE_MS,  /* SPANALLOC_SCAVENGE_MS: idle delay before release (ms) */
	SA_OPT_BACKGROUND,   /* SPANALLOC_BACKGROUND=0: no background thread */
	SA_OPT_TCACHE_BYTES, /* SPANALLOC_TCACHE_BYTES: per-thread cache cap (bytes) */
	SA_OPT_DEBUG,        /* SPANALLOC_DEBUG=1: use-after-free checks, no caches */
	SA_OPT_COUNT
};

enum sa_option_kind {
	/* value = `word_value` if the variable is exactly `word`, else default */
	SA_OPT_WORD,
	/* value = the leading decimal digits (read while below `max`, 0 = no
	 * bound) if the variable starts with a digit, else default */
	SA_OPT_NUMBER,
};

struct sa_option {
	const char *name;  /* short name */
	uint64_t def;      /* default value */
	const char *env;   /* environment variable */
	uint64_t value;    /* parsed value (the default until parsed) */
	enum sa_option_kind kind;
	const char *word;    /* SA_OPT_WORD: the one accepted word */
	uint64_t word_value; /* SA_OPT_WORD: its value */
	uint64_t max;        /* SA_OPT_NUMBER: digits are read while value < max */
};
extern struct sa_option sa_options[SA_OPT_COUNT] SA_HIDDEN;

/* Parses every option from the environment (without libc's getenv: environ
 * may not be set up yet) and sets the settings below. Called once, under
 * sa_init_lock. */
SA_HIDDEN void sa_options_init(void);
/* The parsed value of option `id`. */
static inline uint64_t sa_option(enum sa_option_id id)
{
	return sa_options[id].value;
}

/* ---------- settings in effect (set by sa_options_init) ---------- */
/* Default per-thread cache cap (bytes), SPANALLOC_TCACHE_BYTES overrides.
 * Above the sum of every class's two-batch limit (about 1.7 MiB): by default
 * no class's limit is cut to let another grow. With 512 KiB the classes
 * above 8 KiB (two batches of 2 objects: up to 128 KiB each) kept cutting
 * each other's limits, flushing and refilling: a quarter of the
 * instructions of the `mixed` benchmark (16 B..64 KiB). */
#define SA_TCACHE_CAP_DEFAULT ((uint64_t)2 << 20)
extern uint64_t sa_tcache_cap_bytes SA_HIDDEN;
extern int sa_release_mode_cur SA_HIDDEN;   /* enum sa_release_mode */
/* Default idle time before free pages are released (ms). */
#define SA_SCAVENGE_MS_DEFAULT 1000
extern uint64_t sa_scavenge_delay_ms SA_HIDDEN;
extern int sa_bg_disabled SA_HIDDEN;     /* SPANALLOC_BACKGROUND=0 */
/*
 * SPANALLOC_DEBUG=1: the thread caches are off (every free reaches the
 * central lists), a freed object's bytes after the two link words are
 * filled with SA_DEBUG_FILL, and when a span's free list hands the object
 * out again every byte is checked: a use-after-free write aborts with the
 * object's address, size class and the offset of the first changed byte.
 */
extern int sa_debug SA_HIDDEN;

#endif
