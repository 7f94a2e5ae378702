/* SPDX-License-Identifier: MIT */
/* The demo heap's command language (demo/ctl), parsed from the bytes of one
 * write(2) into a struct: text -> struct, nothing executed here. */
#pragma once

#include <glib.h>

#include "mv-error.h"

G_BEGIN_DECLS

typedef enum {
  MV_DEMO_ALLOC,    /* alloc COUNT SIZE: COUNT objects of SIZE bytes, every byte written */
  MV_DEMO_FREE,     /* free PERCENT% (spread evenly over the objects) / free all (= 100%) */
  MV_DEMO_TOUCH,    /* allocate again, and write, what the frees since the last touch freed */
  MV_DEMO_SCAVENGE, /* release every free page-heap page now, in the current mode */
  MV_DEMO_MODE,     /* mode free|dontneed: how pages are released */
  MV_DEMO_PRESSURE, /* MADV_PAGEOUT over the pages released with MADV_FREE */
  MV_DEMO_RESET,    /* free everything, give every free page back with MADV_DONTNEED (also
                     * those released with MADV_FREE before), mode free */
} MvDemoVerb;

typedef struct {
  MvDemoVerb verb;
  guint64 count;    /* ALLOC: objects (>= 1) */
  guint64 size;     /* ALLOC: bytes per object (>= 1) */
  guint percent;    /* FREE: 0..100 */
  gboolean dontneed; /* MODE: TRUE for dontneed, FALSE for free */
} MvDemoCommand;

/* Longest command accepted (bytes, trailing newline included). */
#define MV_DEMO_CMD_MAX 128

/* Parses one command: words separated by blanks, an optional trailing
 * newline, nothing else. Numbers are plain decimal (no sign, no suffix).
 * EINVAL with the reason in @error for anything else. */
gboolean mv_demo_cmd_parse(const char *text, gsize len, MvDemoCommand *cmd, GError **error);

/* The command in its canonical spelling (for status and the log). */
char *mv_demo_cmd_to_string(const MvDemoCommand *cmd);

G_END_DECLS
