/* SPDX-License-Identifier: MIT */
/* mv-population N MIB FILE: a population of N processes with real memory for
 * the memviewfs benchmark. Each child touches MIB MiB of private anonymous
 * memory; every third child also maps FILE shared and reads it all (shared
 * page cache, so PSS differs from RSS). Prints "ready" when all are in place
 * and keeps them until stdin closes. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void
child(int index, size_t anon_bytes, const char *path, int ready_fd)
{
  long page = sysconf(_SC_PAGESIZE);
  char *anon = mmap(NULL, anon_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  volatile char sink;

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (anon == MAP_FAILED)
    _exit(1);
  for (size_t i = 0; i < anon_bytes; i += (size_t) page)
    anon[i] = (char) i;
  if (index % 3 == 0) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
      char *p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
      if (p != MAP_FAILED)
        for (off_t i = 0; i < st.st_size; i += page)
          sink = p[i];
    }
  }
  (void) sink;
  if (write(ready_fd, "x", 1) != 1)
    _exit(1);
  for (;;)
    pause();
}

int
main(int argc, char *argv[])
{
  int n, pipefd[2];
  size_t anon_bytes;
  char c;

  if (argc != 4) {
    fprintf(stderr, "usage: %s N MIB FILE\n", argv[0]);
    return 2;
  }
  n = atoi(argv[1]);
  anon_bytes = (size_t) atol(argv[2]) << 20;
  if (pipe(pipefd) != 0)
    return 1;
  for (int i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      close(pipefd[0]);
      child(i, anon_bytes, argv[3], pipefd[1]);
    }
    if (pid < 0)
      return 1;
  }
  close(pipefd[1]);
  for (int i = 0; i < n; i++)
    if (read(pipefd[0], &c, 1) != 1)
      return 1;
  printf("ready\n");
  fflush(stdout);
  while (read(0, &c, 1) > 0)
    ;
  kill(0, SIGTERM);
  return 0;
}
