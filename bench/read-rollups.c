/* SPDX-License-Identifier: MIT */
/* The baseline of the memviewfs benchmark: a plain single-threaded C
 * program that reads and parses every /proc/<pid>/smaps_rollup (Rss, Pss),
 * the least any tool showing per-process PSS must do. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
  DIR *proc = opendir("/proc");
  struct dirent *entry;
  unsigned long long total_pss_kb = 0, total_rss_kb = 0;
  int n = 0;
  char path[300], buf[4096];

  if (proc == NULL)
    return 1;
  while ((entry = readdir(proc)) != NULL) {
    int fd;
    ssize_t len;
    char *p;

    if (!isdigit((unsigned char) entry->d_name[0]))
      continue;
    snprintf(path, sizeof path, "/proc/%s/smaps_rollup", entry->d_name);
    fd = open(path, O_RDONLY);
    if (fd < 0)
      continue;
    len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
      continue;
    buf[len] = '\0';
    if ((p = strstr(buf, "\nRss:")) != NULL)
      total_rss_kb += strtoull(p + 5, NULL, 10);
    if ((p = strstr(buf, "\nPss:")) != NULL)
      total_pss_kb += strtoull(p + 5, NULL, 10);
    n++;
  }
  closedir(proc);
  printf("%d processes, rss %llu kB, pss %llu kB\n", n, total_rss_kb, total_pss_kb);
  return 0;
}
