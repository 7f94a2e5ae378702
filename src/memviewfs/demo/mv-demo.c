/* SPDX-License-Identifier: MIT */
/*
 * The demo heap's engine (see mv-demo.h). Every command runs on one thread
 * of its own (a one-thread pool), whatever FUSE thread wrote it: spanalloc
 * gives each thread a central-list shard and a cache, so one thread makes
 * frees and reuse exact (touch refills the very slots free left). At the
 * end of each command that thread's cache is flushed and the statistics
 * are published, so the segment another process reads is already current
 * when write(2) returns. The scavenger never runs
 * on its own here (only the scavenge and reset commands release pages), so
 * every change comes from a command.
 */
#include "mv-demo.h"

#include <string.h>
#include <sys/mman.h>

#include <spanalloc.h>

#include "mv-demo-cmd.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

typedef struct {
  void *ptr;
  guint64 size; /* as requested */
} DemoObject;

typedef struct {
  guint64 size;  /* as requested */
  guint64 count;
} FreedRun;

/* A command handed to the demo's thread, and its answer. */
typedef struct {
  const char *text;
  gsize len;
  gboolean ok;
  GError *error;
  gboolean done;
  GMutex lock;
  GCond cond;
} DemoJob;

static struct {
  GMutex lock;
  GThreadPool *thread; /* one exclusive thread: runs every command */
  gboolean enabled;
  gboolean started;
  guint64 max_bytes;
  GArray *objects;   /* DemoObject, in allocation order */
  GArray *freed;     /* FreedRun: what touch allocates again */
  guint64 live_bytes; /* sum of sa_good_size() of the objects */
  gboolean dontneed;
  guint64 commands, failures;
  char *last_command;
  char *last_result;
} demo = { .enabled = TRUE, .max_bytes = MV_DEMO_MAX_DEFAULT };

void
mv_demo_configure(gboolean enabled, guint64 max_bytes)
{
  demo.enabled = enabled;
  demo.max_bytes = max_bytes;
}

gboolean
mv_demo_enabled(void)
{
  return demo.enabled;
}

gboolean
mv_demo_parse_size(const char *text, guint64 *bytes, GError **error)
{
  guint64 v = 0, unit = 1;
  const char *p = text;

  if (*p < '0' || *p > '9')
    return mv_set_errno(error, EINVAL, "demo_max: \"%s\" is not a size", text);
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (G_MAXUINT64 - 9) / 10)
      return mv_set_errno(error, EINVAL, "demo_max: \"%s\" is too large", text);
    v = v * 10 + (guint64) (*p - '0');
  }
  if (*p == 'K' || *p == 'k')
    unit = 1 << 10;
  else if (*p == 'M' || *p == 'm')
    unit = 1 << 20;
  else if (*p == 'G' || *p == 'g')
    unit = 1 << 30;
  if (unit != 1)
    p++;
  if (*p != '\0')
    return mv_set_errno(error, EINVAL, "demo_max: \"%s\": expected bytes with an optional K, M "
                        "or G suffix", text);
  if (v > G_MAXUINT64 / unit)
    return mv_set_errno(error, EINVAL, "demo_max: \"%s\" is too large", text);
  *bytes = v * unit;
  return TRUE;
}

static void
demo_start(void)
{
  if (demo.started)
    return;
  demo.objects = g_array_new(FALSE, FALSE, sizeof(DemoObject));
  demo.freed = g_array_new(FALSE, FALSE, sizeof(FreedRun));
  /* pages are released by commands only */
  sa_set_scavenge_delay(SA_SCAVENGE_NEVER);
  sa_set_release_mode(SA_RELEASE_FREE);
  demo.started = TRUE;
}

/* Bytes the allocator counts for @count objects of @size, or FALSE when that
 * overflows. */
static gboolean
cost_of(guint64 count, guint64 size, guint64 *bytes)
{
  if (size > SIZE_MAX)
    return FALSE;
  return !__builtin_mul_overflow(count, (guint64) sa_good_size((size_t) size), bytes);
}

/* Checks that @count more objects costing @bytes stay within the bounds. */
static gboolean
check_bound(guint64 count, guint64 bytes, GError **error)
{
  if (demo.objects->len + count > MV_DEMO_MAX_OBJECTS)
    return mv_set_errno(error, EINVAL, "%" G_GUINT64_FORMAT " more objects would exceed the "
                        "demo's bound of %" G_GUINT64_FORMAT " objects",
                        count, (guint64) MV_DEMO_MAX_OBJECTS);
  if (bytes > demo.max_bytes || demo.live_bytes + bytes > demo.max_bytes)
    return mv_set_errno(error, EINVAL, "%" G_GUINT64_FORMAT " more bytes would exceed "
                        "demo_max (%" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " in use)",
                        bytes, demo.max_bytes, demo.live_bytes);
  return TRUE;
}

/* Allocates @count objects of @size and writes every byte (so that they are
 * resident). All or nothing. */
static gboolean
alloc_objects(guint64 count, guint64 size, GError **error)
{
  guint first = demo.objects->len;

  for (guint64 i = 0; i < count; i++) {
    DemoObject o = { sa_malloc((size_t) size), size };
    if (o.ptr == NULL) {
      for (guint j = first; j < demo.objects->len; j++)
        sa_free(g_array_index(demo.objects, DemoObject, j).ptr);
      g_array_set_size(demo.objects, first);
      return mv_set_errno(error, ENOMEM, "allocation %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                          " failed: nothing allocated", i + 1, count);
    }
    memset(o.ptr, 0xa5, (size_t) size);
    g_array_append_val(demo.objects, o);
  }
  demo.live_bytes += count * (guint64) sa_good_size((size_t) size);
  return TRUE;
}

static void
remember_freed(guint64 size)
{
  if (demo.freed->len > 0) {
    FreedRun *last = &g_array_index(demo.freed, FreedRun, demo.freed->len - 1);
    if (last->size == size) {
      last->count++;
      return;
    }
  }
  FreedRun run = { size, 1 };
  g_array_append_val(demo.freed, run);
}

/* Frees @percent % of the objects, spread evenly over allocation order (and
 * so over the spans): of every 100 consecutive objects, @percent go. */
static guint64
free_percent(guint percent, guint64 *bytes)
{
  guint kept = 0, acc = 0;
  guint64 freed = 0;

  *bytes = 0;
  for (guint i = 0; i < demo.objects->len; i++) {
    DemoObject o = g_array_index(demo.objects, DemoObject, i);
    acc += percent;
    if (acc >= 100) {
      acc -= 100;
      *bytes += sa_good_size((size_t) o.size);
      remember_freed(o.size);
      sa_free(o.ptr);
      freed++;
    } else {
      g_array_index(demo.objects, DemoObject, kept++) = o;
    }
  }
  g_array_set_size(demo.objects, kept);
  demo.live_bytes -= *bytes;
  return freed;
}

/* MADV_PAGEOUT over every page the allocator released with MADV_FREE: the
 * kernel reclaims them now, as it would under memory pressure. */
static gboolean
pageout_released(guint64 *advised, GError **error)
{
  g_autofree struct sa_arena_table *t = g_new0(struct sa_arena_table, 1);
  int e = sa_arenas(t);

  *advised = 0;
  if (e != 0)
    return mv_set_errno(error, e, "cannot read the arena table: %s", g_strerror(e));
  for (guint64 k = 0; k < t->narenas; k++) {
    const struct sa_arena_stats *a = &t->arenas[k];
    guint64 pages = a->length / SA_PAGE_SIZE, run = 0;
    for (guint64 i = 0; i <= pages; i++) {
      gboolean rel = i < pages &&
                     sa_page_state_at(t, a->first_page + i) == SA_PAGE_RELEASED_FREE;
      if (rel) {
        run++;
        continue;
      }
      if (run == 0)
        continue;
      char *start = (char *) (uintptr_t) (a->start + (i - run) * SA_PAGE_SIZE);
      if (madvise(start, run * SA_PAGE_SIZE, MADV_PAGEOUT) != 0)
        return mv_set_errno(error, errno == EINVAL ? EINVAL : errno,
                            "madvise(MADV_PAGEOUT): %s (kernel older than 5.4?)", g_strerror(errno));
      *advised += run * SA_PAGE_SIZE;
      run = 0;
    }
  }
  return TRUE;
}

static gboolean
execute(const MvDemoCommand *cmd, GString *result, GError **error)
{
  guint64 bytes, n;

  switch (cmd->verb) {
  case MV_DEMO_ALLOC:
    if (!cost_of(cmd->count, cmd->size, &bytes))
      return mv_set_errno(error, EINVAL, "alloc %" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT
                          " bytes overflows", cmd->count, cmd->size);
    if (!check_bound(cmd->count, bytes, error) || !alloc_objects(cmd->count, cmd->size, error))
      return FALSE;
    g_string_printf(result, "allocated %" G_GUINT64_FORMAT " objects (%" G_GUINT64_FORMAT
                    " bytes)", cmd->count, bytes);
    return TRUE;
  case MV_DEMO_FREE:
    n = free_percent(cmd->percent, &bytes);
    g_string_printf(result, "freed %" G_GUINT64_FORMAT " objects (%" G_GUINT64_FORMAT " bytes)",
                    n, bytes);
    return TRUE;
  case MV_DEMO_TOUCH: {
    guint64 count = 0, cost = 0;
    for (guint i = 0; i < demo.freed->len; i++) {
      const FreedRun *r = &g_array_index(demo.freed, FreedRun, i);
      guint64 c;
      if (!cost_of(r->count, r->size, &c))
        return mv_set_errno(error, EINVAL, "touch: size overflows");
      count += r->count;
      cost += c;
    }
    if (!check_bound(count, cost, error))
      return FALSE;
    guint first = demo.objects->len;
    guint64 live = demo.live_bytes;
    for (guint i = 0; i < demo.freed->len; i++) {
      const FreedRun *r = &g_array_index(demo.freed, FreedRun, i);
      if (!alloc_objects(r->count, r->size, error)) {
        /* all or nothing */
        for (guint j = first; j < demo.objects->len; j++)
          sa_free(g_array_index(demo.objects, DemoObject, j).ptr);
        g_array_set_size(demo.objects, first);
        demo.live_bytes = live;
        return FALSE;
      }
    }
    g_array_set_size(demo.freed, 0);
    g_string_printf(result, "allocated again and wrote %" G_GUINT64_FORMAT " objects (%"
                    G_GUINT64_FORMAT " bytes)", count, cost);
    return TRUE;
  }
  case MV_DEMO_SCAVENGE:
    bytes = sa_scavenge();
    g_string_printf(result, "released %" G_GUINT64_FORMAT " bytes with %s", bytes,
                    demo.dontneed ? "MADV_DONTNEED" : "MADV_FREE");
    return TRUE;
  case MV_DEMO_MODE:
    if (sa_set_release_mode(cmd->dontneed ? SA_RELEASE_DONTNEED : SA_RELEASE_FREE) != 0)
      return mv_set_errno(error, EINVAL, "cannot set the release mode");
    demo.dontneed = cmd->dontneed;
    g_string_printf(result, "release mode %s", cmd->dontneed ? "MADV_DONTNEED" : "MADV_FREE");
    return TRUE;
  case MV_DEMO_PRESSURE:
    if (!pageout_released(&bytes, error))
      return FALSE;
    g_string_printf(result, "MADV_PAGEOUT over %" G_GUINT64_FORMAT " bytes released with "
                    "MADV_FREE", bytes);
    return TRUE;
  case MV_DEMO_RESET:
    n = free_percent(100, &bytes);
    /* the bookkeeping goes back to glibc too: rss returns to where it was */
    g_array_unref(demo.objects);
    g_array_unref(demo.freed);
    demo.objects = g_array_new(FALSE, FALSE, sizeof(DemoObject));
    demo.freed = g_array_new(FALSE, FALSE, sizeof(FreedRun));
    /* every free page with MADV_DONTNEED, those an earlier scavenge released
     * with MADV_FREE too: nothing of the demo stays resident (no LazyFree
     * left for a later pressure to take) */
    bytes = sa_release_all();
    sa_set_release_mode(SA_RELEASE_FREE);
    demo.dontneed = FALSE;
    g_string_printf(result, "freed %" G_GUINT64_FORMAT " objects, released %" G_GUINT64_FORMAT
                    " bytes with MADV_DONTNEED (every free page, also those released with "
                    "MADV_FREE before), mode free", n, bytes);
    return TRUE;
  }
  return mv_set_errno(error, EINVAL, "unknown command");
}

static gboolean run_locked(const char *text, gsize len, GError **error);

static void
demo_thread_main(gpointer data, gpointer user_data)
{
  DemoJob *job = data;
  gboolean ok;
  GError *error = NULL;

  g_mutex_lock(&demo.lock);
  ok = run_locked(job->text, job->len, &error);
  g_mutex_unlock(&demo.lock);
  g_mutex_lock(&job->lock);
  job->ok = ok;
  job->error = error;
  job->done = TRUE;
  g_cond_signal(&job->cond);
  g_mutex_unlock(&job->lock);
}

gboolean
mv_demo_run(const char *text, gsize len, GError **error)
{
  DemoJob job = { .text = text, .len = len };
  GError *local = NULL;

  if (!demo.enabled)
    return mv_set_errno(error, ENOENT, "the demo heap is disabled (-o nodemo)");
  g_mutex_lock(&demo.lock);
  if (demo.thread == NULL)
    demo.thread = g_thread_pool_new(demo_thread_main, NULL, 1, TRUE, &local);
  g_mutex_unlock(&demo.lock);
  if (demo.thread == NULL) {
    g_autoptr(GError) owned = local;
    return mv_set_errno(error, EAGAIN, "cannot start the demo's thread: %s",
                        owned != NULL ? owned->message : "?");
  }
  g_mutex_init(&job.lock);
  g_cond_init(&job.cond);
  g_thread_pool_push(demo.thread, &job, NULL);
  g_mutex_lock(&job.lock);
  while (!job.done)
    g_cond_wait(&job.cond, &job.lock);
  g_mutex_unlock(&job.lock);
  g_mutex_clear(&job.lock);
  g_cond_clear(&job.cond);
  if (!job.ok)
    g_propagate_error(error, job.error);
  return job.ok;
}

/* Runs one command on the demo's thread, under demo.lock. */
static gboolean
run_locked(const char *text, gsize len, GError **error)
{
  g_autoptr(GString) result = g_string_new(NULL);
  g_autofree char *shown = NULL;
  GError *local = NULL;
  MvDemoCommand cmd;
  gboolean ok;

  demo_start();
  ok = mv_demo_cmd_parse(text, len, &cmd, &local);
  if (ok) {
    shown = mv_demo_cmd_to_string(&cmd);
    ok = execute(&cmd, result, &local);
  } else {
    /* a malformed command, shown as far as it is printable */
    shown = g_strndup(text, MIN(len, (gsize) MV_DEMO_CMD_MAX));
    g_strdelimit(shown, "\n", '\0');
    for (char *p = shown; *p != '\0'; p++)
      if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
        *p = '?';
  }
  /* nothing of the demo stays in this thread's cache; the segment is
   * current when the write returns */
  sa_thread_flush();
  struct sa_stats st;
  sa_stats(&st);

  demo.commands++;
  g_free(demo.last_command);
  demo.last_command = g_strdup(shown);
  g_free(demo.last_result);
  if (ok) {
    demo.last_result = g_strdup_printf("ok: %s", result->str);
    g_message("demo: %s: %s", shown, result->str);
    return TRUE;
  }
  demo.failures++;
  demo.last_result = g_strdup_printf("error: %s", local->message);
  g_message("demo: %s: refused: %s", shown, local->message);
  g_propagate_error(error, local);
  return FALSE;
}

void
mv_demo_render_status(GString *out)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&demo.lock);
  guint64 pending = 0;

  for (guint i = 0; demo.freed != NULL && i < demo.freed->len; i++)
    pending += g_array_index(demo.freed, FreedRun, i).count;
  g_string_append_printf(out, "objects %u\n", demo.objects != NULL ? demo.objects->len : 0);
  g_string_append_printf(out, "bytes %" G_GUINT64_FORMAT "\n", demo.live_bytes);
  g_string_append_printf(out, "touch_pending %" G_GUINT64_FORMAT "\n", pending);
  g_string_append_printf(out, "mode %s\n", demo.dontneed ? "dontneed" : "free");
  g_string_append_printf(out, "demo_max %" G_GUINT64_FORMAT "\n", demo.max_bytes);
  g_string_append_printf(out, "commands %" G_GUINT64_FORMAT "\n", demo.commands);
  g_string_append_printf(out, "refused %" G_GUINT64_FORMAT "\n", demo.failures);
  g_string_append_printf(out, "last_command %s\n",
                         demo.last_command != NULL ? demo.last_command : "-");
  g_string_append_printf(out, "last_result %s\n", demo.last_result != NULL ? demo.last_result : "-");
}
