/* SPDX-License-Identifier: MIT */
/* read-loop FILE COUNT: open, read to EOF and close FILE COUNT times (the
 * daemon's steady state under a scraper); prints the reads per second. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
  char buf[65536];
  long count;
  struct timespec t0, t1;

  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE COUNT\n", argv[0]);
    return 2;
  }
  count = atol(argv[2]);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < count; i++) {
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
      perror(argv[1]);
      return 1;
    }
    while (read(fd, buf, sizeof buf) > 0)
      ;
    close(fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.0f reads/s\n", count / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
  return 0;
}
