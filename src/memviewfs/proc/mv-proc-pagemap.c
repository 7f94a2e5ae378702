/* SPDX-License-Identifier: MIT */
#include "mv-proc-pagemap.h"
#include "mv-proc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int
mv_pagemap_open(pid_t pid, GError **error)
{
  char path[48];

  mv_proc_pid_path(path, sizeof path, pid, "pagemap");
  return mv_open_at(mv_proc_root_fd(), path, O_RDONLY | O_CLOEXEC, error);
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

static gsize
find_zero_pfn(void)
{
  gsize page_size = (gsize) sysconf(_SC_PAGESIZE);
  volatile char *page;
  guint64 entry = 0;
  char sink;
  int fd;

  page = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED)
    return 0;
  sink = page[0]; /* a read fault on a private anonymous page maps the zero page */
  (void) sink;
  fd = mv_pagemap_open(getpid(), NULL);
  if (fd >= 0) {
    if (!mv_pagemap_read(fd, (guint64) (guintptr) page, (guint64) (guintptr) page + page_size,
                         page_size, &entry, NULL))
      entry = 0;
    close(fd);
  }
  munmap((void *) page, page_size);
  if (!(entry & MV_PAGEMAP_PRESENT))
    return 0;
  return (gsize) (entry & MV_PAGEMAP_PFN_MASK);
}

guint64
mv_pagemap_zero_pfn(void)
{
  static gsize zero_pfn_plus_one = 0;

  if (g_once_init_enter(&zero_pfn_plus_one))
    g_once_init_leave(&zero_pfn_plus_one, find_zero_pfn() + 1);
  return zero_pfn_plus_one - 1;
}

gsize
mv_pagemap_drop_zero_page(guint64 *entries, gsize n, guint64 zero_pfn, gboolean none_shared_anon)
{
  gsize dropped = 0;

  for (gsize i = 0; i < n; i++) {
    guint64 e = entries[i];
    guint64 pfn = e & MV_PAGEMAP_PFN_MASK;
    gboolean zero;

    if (!(e & MV_PAGEMAP_PRESENT))
      continue;
    if (pfn != 0) /* frame 0 is never an anonymous page: 0 means hidden */
      zero = zero_pfn != 0 && pfn == zero_pfn;
    else
      zero = none_shared_anon && !(e & (MV_PAGEMAP_EXCLUSIVE | MV_PAGEMAP_FILE));
    if (zero) {
      entries[i] = e & ~MV_PAGEMAP_PRESENT;
      dropped++;
    }
  }
  return dropped;
}
