/* SPDX-License-Identifier: MIT */
/* A large /proc file read on a second thread while the caller parses (see
 * mv-proc.h). For smaps most of the cost is the kernel formatting the text
 * inside read(2); with the reads on their own thread that work overlaps
 * the caller's parsing of the chunk before. */
#include "mv-proc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Chunks read but not yet taken: the memory held is at most this many
 * chunks, whatever the size of the file. */
#define MV_READ_AHEAD_DEPTH 4
/* bytes per read(2) of mv_proc_read_begin's reads */
#define MV_READ_AHEAD_CHUNK ((gsize) 65536)

typedef struct {
  gsize len;
  char data[];
} Chunk;

struct MvReadAhead {
  int fd;
  gsize chunk_size; /* bytes per read(2) */
  GMutex lock;
  GCond changed;    /* a chunk was queued or taken, or the reader stopped */
  GQueue chunks;    /* of Chunk*, in file order */
  gboolean at_end;  /* the reading thread has stopped: EOF, error or cancel */
  int errnum;       /* errno of the failed read, 0 at EOF */
  gboolean cancel;
  GThread *thread;
};

static gpointer
read_ahead_thread(gpointer data)
{
  MvReadAhead *ra = data;

  for (;;) {
    Chunk *chunk;
    ssize_t n;

    g_mutex_lock(&ra->lock);
    while (!ra->cancel && ra->chunks.length >= MV_READ_AHEAD_DEPTH)
      g_cond_wait(&ra->changed, &ra->lock);
    if (ra->cancel) {
      ra->at_end = TRUE;
      g_cond_broadcast(&ra->changed);
      g_mutex_unlock(&ra->lock);
      break;
    }
    g_mutex_unlock(&ra->lock);

    chunk = g_malloc(sizeof(Chunk) + ra->chunk_size);
    chunk->len = 0;
    /* A chunk is filled by as many reads as it takes: /proc's seq files
     * hand out about one page per read(2) however much is asked, and a
     * hand-over per page (a wake-up of the parser, ~12,000 for the smaps of
     * 60,000 mappings) cost more than the parsing it overlapped. */
    do {
      do
        n = read(ra->fd, chunk->data + chunk->len, ra->chunk_size - chunk->len);
      while (n < 0 && errno == EINTR);
      if (n > 0)
        chunk->len += (gsize) n;
    } while (n > 0 && chunk->len < ra->chunk_size);

    g_mutex_lock(&ra->lock);
    if (chunk->len > 0)
      g_queue_push_tail(&ra->chunks, chunk); /* taken before the end is seen */
    else
      g_free(chunk);
    if (n <= 0) {
      ra->errnum = n < 0 ? errno : 0;
      ra->at_end = TRUE;
    }
    g_cond_broadcast(&ra->changed);
    g_mutex_unlock(&ra->lock);
    if (n <= 0)
      break;
  }
  return NULL;
}

MvReadAhead *
mv_read_ahead_start(int fd, gsize chunk_size)
{
  MvReadAhead *ra = g_new0(MvReadAhead, 1);

  ra->fd = fd;
  ra->chunk_size = chunk_size;
  g_mutex_init(&ra->lock);
  g_cond_init(&ra->changed);
  g_queue_init(&ra->chunks);
  ra->thread = g_thread_try_new("mv-readahead", read_ahead_thread, ra, NULL);
  if (ra->thread == NULL) {
    /* no thread (resource limits): the caller reads on its own */
    mv_read_ahead_stop(ra);
    return NULL;
  }
  return ra;
}

gssize
mv_read_ahead_next(MvReadAhead *ra, char *buf, gsize size)
{
  Chunk *chunk;
  gsize len;

  g_return_val_if_fail(size >= ra->chunk_size, -1);
  g_mutex_lock(&ra->lock);
  while (ra->chunks.length == 0 && !ra->at_end)
    g_cond_wait(&ra->changed, &ra->lock);
  chunk = g_queue_pop_head(&ra->chunks);
  if (chunk == NULL) {
    int errnum = ra->errnum;

    g_mutex_unlock(&ra->lock);
    if (errnum != 0) {
      errno = errnum;
      return -1;
    }
    return 0;
  }
  g_cond_broadcast(&ra->changed);
  g_mutex_unlock(&ra->lock);
  len = chunk->len;
  memcpy(buf, chunk->data, len);
  g_free(chunk);
  return (gssize) len;
}

void
mv_read_ahead_stop(MvReadAhead *ra)
{
  if (ra == NULL)
    return;
  if (ra->thread != NULL) {
    g_mutex_lock(&ra->lock);
    ra->cancel = TRUE;
    g_cond_broadcast(&ra->changed);
    g_mutex_unlock(&ra->lock);
    g_thread_join(ra->thread);
  }
  g_queue_clear_full(&ra->chunks, g_free);
  g_cond_clear(&ra->changed);
  g_mutex_clear(&ra->lock);
  g_free(ra);
}

/* ---- a /proc file read while the caller does something else ---------- */

struct MvProcPending {
  char path[64 + 256];
  int fd;           /* -1: the open failed with open_errno */
  int open_errno;
  MvReadAhead *ahead; /* NULL: no thread, read at finish */
};

MvProcPending *
mv_proc_read_begin(pid_t pid, const char *name)
{
  MvProcPending *pending = g_new0(MvProcPending, 1);

  pending->fd = -1;
  if (!mv_proc_pid_path(pending->path, sizeof pending->path, pid, name)) {
    pending->open_errno = ENAMETOOLONG;
    return pending;
  }
  /* the error is reported at finish, from its errno */
  pending->fd = mv_open_at(mv_proc_root_fd(), pending->path, O_RDONLY | O_CLOEXEC | O_NOCTTY,
                           NULL);
  if (pending->fd < 0)
    pending->open_errno = errno;
  else
    pending->ahead = mv_read_ahead_start(pending->fd, MV_READ_AHEAD_CHUNK);
  return pending;
}

gboolean
mv_proc_read_finish(MvProcPending *pending, GString *out, GError **error)
{
  gboolean ok = TRUE;

  g_string_truncate(out, 0);
  if (pending->fd < 0) {
    ok = mv_set_errno(error, pending->open_errno, "open %s: %s", pending->path,
                      g_strerror(pending->open_errno));
    mv_proc_read_discard(pending);
    return ok;
  }
  if (pending->ahead == NULL) {
    ok = mv_read_fd(pending->fd, pending->path, out, error); /* no thread: read here */
    mv_proc_read_discard(pending);
    return ok;
  }
  for (;;) {
    gsize old_len = out->len;
    gssize n;

    g_string_set_size(out, old_len + MV_READ_AHEAD_CHUNK);
    n = mv_read_ahead_next(pending->ahead, out->str + old_len, MV_READ_AHEAD_CHUNK);
    g_string_set_size(out, old_len + (gsize) MAX(n, 0));
    if (n < 0) {
      int saved = errno;
      ok = mv_set_errno(error, saved, "read %s: %s", pending->path, g_strerror(saved));
      break;
    }
    if (n == 0)
      break;
  }
  mv_proc_read_discard(pending);
  return ok;
}

void
mv_proc_read_discard(MvProcPending *pending)
{
  if (pending == NULL)
    return;
  mv_read_ahead_stop(pending->ahead);
  if (pending->fd >= 0)
    close(pending->fd);
  g_free(pending);
}
