/* SPDX-License-Identifier: MIT */
/* pid-churn SECONDS: forks short-lived children as fast as it can for
 * SECONDS, reusing each pid at once where it may (as root it writes the
 * reaped child's pid - 1 to /proc/sys/kernel/ns_last_pid, so the next fork
 * gets the same pid again). Child number n maps and touches exactly
 * K = n % 4 + 1 MiB of private anonymous memory, then names itself
 * "churn-K" (prctl PR_SET_NAME, only once the memory is in place), lives a
 * moment and exits: a reader that sees comm "churn-K" with a pss far from
 * K MiB was served another process's value under that pid.
 * Prints "children N reused R" at the end. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024 * 1024)

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
  double deadline = now() + (argc > 1 ? atof(argv[1]) : 5.0);
  long children = 0, reused = 0;
  pid_t last = 0;
  int ns_last_pid = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);

  while (now() < deadline) {
    unsigned k = (unsigned) (children % 4) + 1;
    pid_t pid = fork();
    if (pid < 0) {
      usleep(1000);
      continue;
    }
    if (pid == 0) {
      char name[16];
      char *p = mmap(NULL, k * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        _exit(1);
      memset(p, 1, k * MiB);
      snprintf(name, sizeof name, "churn-%u", k);
      prctl(PR_SET_NAME, name);
      usleep((useconds_t) (children * 7919 % 1000)); /* 0-1 ms, varied */
      _exit(0);
    }
    children++;
    reused += pid == last;
    waitpid(pid, NULL, 0);
    last = pid;
    if (ns_last_pid >= 0) {
      char text[16];
      int len = snprintf(text, sizeof text, "%d", (int) pid - 1);
      if (pwrite(ns_last_pid, text, (size_t) len, 0) < 0) {
        close(ns_last_pid);
        ns_last_pid = -1;
      }
    }
  }
  printf("children %ld reused %ld\n", children, reused);
  return 0;
}
