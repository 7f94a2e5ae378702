/* SPDX-License-Identifier: MIT */
/* demo/: the daemon's demo heap (the engine is demo/mv-demo.c). */
#include <unistd.h>

#include "demo/mv-demo.h"
#include "mv-tree.h"

static gboolean
write_ctl(const MvContext *ctx, const MvNode *node, const char *data, gsize len, GError **error)
{
  return mv_demo_run(data, len, error);
}

static gboolean
render_status(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  mv_demo_render_status(out);
  return TRUE;
}

static gboolean
render_heap_link(const MvContext *ctx, const MvNode *node, GString *out, GError **error)
{
  g_string_append_printf(out, "../%d/heap", (int) getpid());
  return TRUE;
}

static const MvNode demo_entries[] = {
  MV_CTL_FILE("ctl", 0200, NULL, write_ctl,
              "write one command per write(2) (the daemon's user only; others EACCES): "
              "alloc COUNT SIZE | free PERCENT% | free all | touch | scavenge | "
              "mode free|dontneed | pressure | reset; malformed or over demo_max: EINVAL, "
              "reason in status"),
  MV_FILE("status", MV_ACCESS_ANY, render_status, 0,
          "the demo's live objects and bytes (as the allocator counts them), objects touch "
          "would allocate again, release mode, demo_max, the last command and its result"),
  MV_LINK("heap", render_heap_link,
          "link to the daemon's own <pid>/heap: the demo heap as the kernel and spanalloc see it"),
};

const MvNode mv_demo_dir = MV_DIR("demo", demo_entries, NULL,
                                  "the daemon's demo heap (spanalloc, in-process): reproduce "
                                  "RSS vs heap_released vs LazyFree with known amounts "
                                  "(-o demo_max=SIZE bounds it, -o nodemo removes it)");
