/* SPDX-License-Identifier: MIT */
/* The baseline of the memviewfs benchmark: a plain single-threaded C
 * program that reads and parses every /proc/<pid>/smaps_rollup (Rss, Pss),
 * the least any tool showing per-process PSS must do. With --rows it also
 * reads what a row of `processes` shows besides (status: user, name,
 * VmRSS; cgroup): the same reads as the daemon's scan, on one thread. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads /proc/<pid>/<name> into @buf (NUL-terminated); its length or -1. */
static ssize_t
read_proc(const char *pid, const char *name, char *buf, size_t size)
{
  char path[300];
  ssize_t len;
  int fd;

  snprintf(path, sizeof path, "/proc/%s/%s", pid, name);
  fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  len = read(fd, buf, size - 1);
  close(fd);
  if (len >= 0)
    buf[len] = '\0';
  return len;
}

int
main(int argc, char *argv[])
{
  int rows = argc > 1 && strcmp(argv[1], "--rows") == 0;
  unsigned long long total_vmrss_kb = 0;
  DIR *proc = opendir("/proc");
  struct dirent *entry;
  unsigned long long total_pss_kb = 0, total_rss_kb = 0;
  int n = 0;
  char buf[4096];

  if (proc == NULL)
    return 1;
  while ((entry = readdir(proc)) != NULL) {
    ssize_t len;
    char *p;

    if (!isdigit((unsigned char) entry->d_name[0]))
      continue;
    if (rows) {
      if (read_proc(entry->d_name, "status", buf, sizeof buf) <= 0)
        continue;
      if ((p = strstr(buf, "\nVmRSS:")) != NULL)
        total_vmrss_kb += strtoull(p + 7, NULL, 10);
      read_proc(entry->d_name, "cgroup", buf, sizeof buf);
    }
    len = read_proc(entry->d_name, "smaps_rollup", buf, sizeof buf);
    if (len <= 0)
      continue;
    if ((p = strstr(buf, "\nRss:")) != NULL)
      total_rss_kb += strtoull(p + 5, NULL, 10);
    if ((p = strstr(buf, "\nPss:")) != NULL)
      total_pss_kb += strtoull(p + 5, NULL, 10);
    n++;
  }
  closedir(proc);
  printf("%d processes, rss %llu kB, pss %llu kB, VmRSS %llu kB\n", n, total_rss_kb,
         total_pss_kb, total_vmrss_kb);
  return 0;
}
