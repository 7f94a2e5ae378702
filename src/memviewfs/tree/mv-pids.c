/* SPDX-License-Identifier: MIT */
#include "mv-pids.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mv-access.h"

gboolean
mv_parse_pid_name(const char *name, pid_t *pid)
{
  guint64 value;

  if (name[0] < '1' || name[0] > '9' || strlen(name) > 10)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (*p < '0' || *p > '9')
      return FALSE;
  value = g_ascii_strtoull(name, NULL, 10);
  if (value > G_MAXINT32)
    return FALSE;
  *pid = (pid_t) value;
  return TRUE;
}

static gint
compare_pids(gconstpointer a, gconstpointer b)
{
  pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

  return (x > y) - (x < y);
}

void
mv_add_reader_pid(const MvContext *ctx, GArray *pids)
{
  const MvReader *reader;
  pid_t tgid;
  char proc_dir[32];

  if (!mv_context_reader(ctx, &reader, NULL) || reader == NULL)
    return;
  tgid = mv_reader_tgid(reader);

  if (tgid <= 0)
    return;
  for (guint i = 0; i < pids->len; i++)
    if (g_array_index(pids, pid_t, i) == tgid)
      return;
  mv_proc_pid_path(proc_dir, sizeof proc_dir, tgid, NULL);
  if (faccessat(mv_proc_root_fd(), proc_dir, F_OK, 0) != 0)
    return;
  g_array_append_val(pids, tgid);
  g_array_sort(pids, compare_pids);
}

void
mv_foreach_pid(void (*func)(pid_t pid, gpointer user_data), gpointer user_data)
{
  int fd = openat(mv_proc_root_fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *proc = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent *entry;

  if (proc == NULL) {
    if (fd >= 0)
      close(fd);
    return;
  }
  while ((entry = readdir(proc)) != NULL) {
    pid_t pid;
    if (mv_parse_pid_name(entry->d_name, &pid))
      func(pid, user_data);
  }
  closedir(proc);
}
