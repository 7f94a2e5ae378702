/* SPDX-License-Identifier: MIT */
/* A program whose heap is known, for the heap/ mount tests. It is run under
 * LD_PRELOAD=libspanalloc.so (it is not linked with spanalloc: malloc is
 * whatever the preload gives it, and the sa_* calls are looked up at run
 * time), driven line by line on stdin. Every command answers one line
 * "ok ..." once its memory is in place, or "error <text>".
 *
 *   alloc COUNT SIZE   malloc COUNT objects of SIZE bytes and write every byte
 *   free PERCENT       free the oldest PERCENT% of the live objects (in
 *                      allocation order, so whole spans empty)
 *   mode free|dontneed sa_set_release_mode()
 *   scavenge           sa_scavenge(): answers "ok <bytes released>"
 *   stats              sa_stats(), which also publishes the statistics
 *                      segment: answers "ok name=value ..." for every field
 *   peek BYTES         calloc BYTES (fresh pages come back untouched) and only
 *                      read them: the kernel maps its shared zero page there;
 *                      answers "ok <hex address>"
 *   pageout HEX BYTES  madvise(MADV_PAGEOUT) over [HEX, HEX + BYTES): the
 *                      kernel reclaims what it can (MADV_FREE'd pages at once)
 *   nodump             prctl(PR_SET_DUMPABLE, 0)
 *   exit               exits 0
 *
 * The object table is mmap'd, not malloc'd, so that the heap holds exactly
 * the objects the commands made.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "spanalloc.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define MAX_OBJECTS (1u << 22)

static void **objects; /* live objects, oldest first from objects[first] */
static size_t first, count;

static int (*stats_fn)(struct sa_stats *);
static size_t (*scavenge_fn)(void);
static int (*set_mode_fn)(enum sa_release_mode);

static void
print_stats(void)
{
  static struct sa_stats s; /* static: the class table is several kB */

  if (stats_fn(&s) != 0) {
    printf("error sa_stats\n");
    return;
  }
  printf("ok");
#define PRINT_FIELD(name, desc) printf(" " #name "=%llu", (unsigned long long) s.name);
  SA_STATS_FIELDS(PRINT_FIELD)
#undef PRINT_FIELD
  printf("\n");
}

int
main(void)
{
  char line[256];

  setvbuf(stdout, NULL, _IOLBF, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  stats_fn = (int (*)(struct sa_stats *)) dlsym(RTLD_DEFAULT, "sa_stats");
  scavenge_fn = (size_t (*)(void)) dlsym(RTLD_DEFAULT, "sa_scavenge");
  set_mode_fn = (int (*)(enum sa_release_mode)) dlsym(RTLD_DEFAULT, "sa_set_release_mode");
  if (!stats_fn || !scavenge_fn || !set_mode_fn) {
    printf("error spanalloc is not preloaded\n");
    return 1;
  }
  objects = mmap(NULL, MAX_OBJECTS * sizeof(void *), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (objects == MAP_FAILED) {
    printf("error mmap\n");
    return 1;
  }
  printf("ok %d\n", (int) getpid());
  while (fgets(line, sizeof line, stdin) != NULL) {
    char cmd[32], word[32];
    unsigned long long a = 0, b = 0;

    if (sscanf(line, "%31s", cmd) != 1)
      continue;
    if (strcmp(cmd, "alloc") == 0 && sscanf(line, "%*s %llu %llu", &a, &b) == 2) {
      if (first + count + a > MAX_OBJECTS) {
        printf("error too many objects\n");
        continue;
      }
      for (unsigned long long i = 0; i < a; i++) {
        void *p = malloc(b);
        if (p == NULL)
          break;
        memset(p, 1, b);
        objects[first + count++] = p;
      }
      printf("ok\n");
    } else if (strcmp(cmd, "free") == 0 && sscanf(line, "%*s %llu", &a) == 1 && a <= 100) {
      size_t n = count * a / 100;
      for (size_t i = 0; i < n; i++)
        free(objects[first + i]);
      first += n;
      count -= n;
      printf("ok %zu\n", n);
    } else if (strcmp(cmd, "mode") == 0 && sscanf(line, "%*s %31s", word) == 1) {
      int e = set_mode_fn(strcmp(word, "dontneed") == 0 ? SA_RELEASE_DONTNEED
                          : strcmp(word, "free") == 0   ? SA_RELEASE_FREE
                                                        : (enum sa_release_mode) 0);
      printf(e == 0 ? "ok\n" : "error mode\n");
    } else if (strcmp(cmd, "scavenge") == 0) {
      printf("ok %zu\n", scavenge_fn());
    } else if (strcmp(cmd, "stats") == 0) {
      print_stats();
    } else if (strcmp(cmd, "peek") == 0 && sscanf(line, "%*s %llu", &a) == 1) {
      volatile char *p = calloc(1, a);
      char sum = 0;
      if (p == NULL) {
        printf("error calloc\n");
        continue;
      }
      for (unsigned long long i = 0; i < a; i += 4096)
        sum += p[i];
      printf("ok %llx %d\n", (unsigned long long) (uintptr_t) p, sum);
    } else if (strcmp(cmd, "pageout") == 0 && sscanf(line, "%*s %llx %llu", &a, &b) == 2) {
      if (madvise((void *) (uintptr_t) a, b, MADV_PAGEOUT) != 0)
        printf("error madvise %s\n", strerror(errno));
      else
        printf("ok\n");
    } else if (strcmp(cmd, "nodump") == 0) {
      prctl(PR_SET_DUMPABLE, 0);
      printf("ok\n");
    } else if (strcmp(cmd, "exit") == 0) {
      printf("ok\n");
      return 0;
    } else {
      printf("error unknown command: %s", line);
    }
  }
  return 0;
}
