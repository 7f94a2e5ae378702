/* SPDX-License-Identifier: MIT */
#include "mv-proc-pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int
mv_pagemap_open(pid_t pid, GError **error)
{
  char path[48];
  int fd;

  g_snprintf(path, sizeof path, "/proc/%ld/pagemap", (long) pid);
  do
    fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int saved = errno;
    mv_set_errno(error, saved, "open %s: %s", path, g_strerror(saved));
  }
  return fd;
}

gboolean
mv_pagemap_read(int fd, guint64 start, guint64 end, gsize page_size, guint64 *entries,
                GError **error)
{
  gsize want, got = 0;
  guint64 offset;

  if (end < start || start % page_size != 0 || end % page_size != 0)
    return mv_set_errno(error, EINVAL, "pagemap range %" G_GINT64_MODIFIER "x-%"
                        G_GINT64_MODIFIER "x is not page aligned", start, end);
  want = (gsize) ((end - start) / page_size) * sizeof(guint64);
  offset = start / page_size * sizeof(guint64);
  while (got < want) {
    ssize_t n = pread(fd, (char *) entries + got, want - got, (off_t) (offset + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      /* ESRCH: the process exited while being read */
      return mv_set_errno(error, saved == ESRCH ? ENOENT : saved, "read pagemap: %s",
                          g_strerror(saved));
    }
    if (n == 0)
      return mv_set_errno(error, EIO, "pagemap ends at %" G_GINT64_MODIFIER "x",
                          (start + got / sizeof(guint64) * page_size));
    got += (gsize) n;
  }
  return TRUE;
}
