/* SPDX-License-Identifier: MIT */
/*
 * The demo heap: objects the daemon allocates with spanalloc's sa_* API on
 * command (demo/ctl), so that a user can watch the kernel's numbers (rss,
 * retained_freed) and the allocator's (the daemon's own <pid>/heap, its
 * published segment) move by known amounts. The daemon's own allocations
 * stay on glibc's malloc: its spanalloc heap holds the demo's objects only,
 * and its numbers are exactly what the commands imply. No FUSE here.
 */
#pragma once

#include <glib.h>

#include "mv-error.h"

G_BEGIN_DECLS

/* Default bound of the demo's live objects (bytes, -o demo_max=SIZE). */
#define MV_DEMO_MAX_DEFAULT ((guint64) 256 << 20)
/* Bound of the demo's live objects (count): the daemon's bookkeeping of them
 * (16 bytes each, on glibc's heap) stays below 16 MiB. */
#define MV_DEMO_MAX_OBJECTS ((guint64) 1 << 20)

/* Called once at start-up (before the mount serves requests): @enabled FALSE
 * (-o nodemo) removes demo/ from the tree; @max_bytes bounds the live
 * objects (bytes as the allocator counts them: class size or whole pages). */
void mv_demo_configure(gboolean enabled, guint64 max_bytes);
gboolean mv_demo_enabled(void);

/* Runs one command (the bytes of one write(2)). On failure nothing changed
 * in the heap; EINVAL (malformed, over the bound) or ENOMEM/another errno
 * with the reason in @error. Status and the daemon log record every command. */
gboolean mv_demo_run(const char *text, gsize len, GError **error);

/* demo/status: "name value" lines (bytes, counts), then the last command
 * and its result. */
void mv_demo_render_status(GString *out);

/* Parses a size for -o demo_max: decimal bytes with an optional K, M or G
 * suffix (powers of 1024). */
gboolean mv_demo_parse_size(const char *text, guint64 *bytes, GError **error);

G_END_DECLS
