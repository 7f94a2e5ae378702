/* SPDX-License-Identifier: MIT */
/* A process with known memory, driven line by line on stdin by the mount
 * tests. Every command answers one line "ok ..." on stdout once its memory
 * is in place (so the test reads the tree only when the kernel state is
 * known), or "error <text>". Sizes are bytes, multiples of the page size.
 *
 *   anon N          mmap N bytes MAP_PRIVATE|MAP_ANONYMOUS and touch every page
 *   madv_free N     MADV_FREE the first N bytes of the last anon region
 *   shared_anon N   mmap N bytes MAP_SHARED|MAP_ANONYMOUS and touch every page
 *   file_shared P N mmap file P MAP_SHARED and read its first N bytes
 *   file_private P N   mmap file P MAP_PRIVATE and read its first N bytes
 *   cow N           write the first N bytes of the last private file mapping
 *   fork K          fork K children that keep the parent's memory and wait;
 *                   answers "ok <pid> <pid>..." (children exit with us)
 *   nodump          prctl(PR_SET_DUMPABLE, 0)
 *   pages K         K separate one-page MAP_PRIVATE|MAP_ANONYMOUS mappings,
 *                   touched (a page-sized hole between each two: they never
 *                   merge); after "fork" every page is shared copy-on-write
 *   pageout         MADV_PAGEOUT the last anon region (to swap, if any)
 *   hugetlb N       mmap N bytes MAP_HUGETLB|MAP_ANONYMOUS and touch it
 *   comm [HEX]      prctl(PR_SET_NAME) to the bytes HEX encodes (none: "")
 *   region          answers "ok <start> <end>" of the last anon region (hex)
 *   exit            exits 0
 *
 * Before answering its first "ok" it runs every command once on one page
 * and unmaps it again, so that the code and library pages each command
 * needs are resident already: a test's "before" and "after" then differ by
 * exactly the memory the command put in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static long page_size;
static char *last_anon;
static size_t last_anon_len;
static char *last_private_file;
static size_t last_private_file_len;

static void
touch(char *p, size_t len)
{
  for (size_t i = 0; i < len; i += (size_t) page_size)
    p[i] = (char) (i / (size_t) page_size + 1);
}

static volatile char sink;

static void
read_pages(const char *p, size_t len)
{
  for (size_t i = 0; i < len; i += (size_t) page_size)
    sink = p[i];
}

static char *
map_file(const char *path, size_t len, int flags)
{
  int fd = open(path, O_RDONLY);
  char *p;

  if (fd < 0)
    return NULL;
  p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
  close(fd);
  if (p == MAP_FAILED && flags == MAP_SHARED) {
    /* a read-only file descriptor: map it read-only */
    fd = open(path, O_RDONLY);
    p = mmap(NULL, len, PROT_READ, flags, fd, 0);
    close(fd);
  }
  return p == MAP_FAILED ? NULL : p;
}

static int run(FILE *in, FILE *out);

int
main(void)
{
  char warm[1024];
  FILE *in, *out;

  page_size = sysconf(_SC_PAGESIZE);
  setvbuf(stdout, NULL, _IOLBF, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  snprintf(warm, sizeof warm,
           "anon %ld\nmadv_free %ld\nshared_anon %ld\nfile_shared /proc/self/exe %ld\n"
           "file_private /proc/self/exe %ld\ncow %ld\nregion\n",
           page_size, page_size, page_size, page_size, page_size, page_size);
  in = fmemopen(warm, strlen(warm), "r");
  out = fopen("/dev/null", "w");
  run(in, out);
  fclose(in);
  fclose(out);
  munmap(last_anon, (size_t) page_size);
  munmap(last_private_file, (size_t) page_size);
  last_anon = last_private_file = NULL;
  last_anon_len = last_private_file_len = 0;
  printf("ok %d\n", (int) getpid());
  return run(stdin, stdout);
}

static int
run(FILE *in, FILE *out)
{
  char line[4096];

  while (fgets(line, sizeof line, in) != NULL) {
    char cmd[32], path[4000];
    unsigned long long n = 0;

    if (sscanf(line, "%31s", cmd) != 1)
      continue;
    if (strcmp(cmd, "anon") == 0 && sscanf(line, "%*s %llu", &n) == 1) {
      char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) { fprintf(out, "error mmap %s\n", strerror(errno)); continue; }
      touch(p, n);
      last_anon = p;
      last_anon_len = n;
      fprintf(out, "ok\n");
    } else if (strcmp(cmd, "madv_free") == 0 && sscanf(line, "%*s %llu", &n) == 1) {
      if (n > last_anon_len || madvise(last_anon, n, MADV_FREE) != 0)
        fprintf(out, "error madvise %s\n", strerror(errno));
      else
        fprintf(out, "ok\n");
    } else if (strcmp(cmd, "shared_anon") == 0 && sscanf(line, "%*s %llu", &n) == 1) {
      char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) { fprintf(out, "error mmap %s\n", strerror(errno)); continue; }
      touch(p, n);
      fprintf(out, "ok\n");
    } else if ((strcmp(cmd, "file_shared") == 0 || strcmp(cmd, "file_private") == 0) &&
               sscanf(line, "%*s %3999s %llu", path, &n) == 2) {
      int is_private = strcmp(cmd, "file_private") == 0;
      char *p = map_file(path, n, is_private ? MAP_PRIVATE : MAP_SHARED);
      if (p == NULL) { fprintf(out, "error map %s\n", strerror(errno)); continue; }
      read_pages(p, n);
      if (is_private) {
        last_private_file = p;
        last_private_file_len = n;
      }
      fprintf(out, "ok\n");
    } else if (strcmp(cmd, "cow") == 0 && sscanf(line, "%*s %llu", &n) == 1) {
      if (n > last_private_file_len) { fprintf(out, "error cow too large\n"); continue; }
      touch(last_private_file, n);
      fprintf(out, "ok\n");
    } else if (strcmp(cmd, "fork") == 0 && sscanf(line, "%*s %llu", &n) == 1) {
      char reply[4096] = "ok";
      for (unsigned long long i = 0; i < n; i++) {
        pid_t child = fork();
        if (child == 0) {
          prctl(PR_SET_PDEATHSIG, SIGKILL);
          for (;;)
            pause();
        }
        snprintf(reply + strlen(reply), sizeof reply - strlen(reply), " %d", (int) child);
      }
      fprintf(out, "%s\n", reply);
    } else if (strcmp(cmd, "nodump") == 0) {
      prctl(PR_SET_DUMPABLE, 0);
      fprintf(out, "ok\n");
    } else if (strcmp(cmd, "pages") == 0 && sscanf(line, "%*s %llu", &n) == 1) {
      char *p = mmap(NULL, 2 * n * (size_t) page_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) { fprintf(out, "error mmap %s\n", strerror(errno)); continue; }
      for (unsigned long long i = 0; i < n; i++) {
        p[2 * i * (size_t) page_size] = 1;
        munmap(p + (2 * i + 1) * (size_t) page_size, (size_t) page_size);
      }
      fprintf(out, "ok\n");
    } else if (strcmp(cmd, "pageout") == 0) {
      if (madvise(last_anon, last_anon_len, MADV_PAGEOUT) != 0)
        fprintf(out, "error madvise %s\n", strerror(errno));
      else
        fprintf(out, "ok\n");
    } else if (strcmp(cmd, "hugetlb") == 0 && sscanf(line, "%*s %llu", &n) == 1) {
      char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
                     -1, 0);
      if (p == MAP_FAILED) { fprintf(out, "error mmap %s\n", strerror(errno)); continue; }
      for (size_t i = 0; i < n; i += (size_t) page_size)
        p[i] = 1;
      fprintf(out, "ok\n");
    } else if (strcmp(cmd, "comm") == 0) {
      char hex[64] = "", name[32] = "";
      size_t len = 0;
      sscanf(line, "%*s %63s", hex);
      for (const char *h = hex; h[0] && h[1] && len < sizeof name - 1; h += 2) {
        unsigned int byte;
        sscanf(h, "%2x", &byte);
        name[len++] = (char) byte;
      }
      name[len] = '\0';
      prctl(PR_SET_NAME, name);
      fprintf(out, "ok\n");
    } else if (strcmp(cmd, "region") == 0) {
      fprintf(out, "ok %lx %lx\n", (unsigned long) last_anon,
             (unsigned long) (last_anon + last_anon_len));
    } else if (strcmp(cmd, "exit") == 0) {
      fprintf(out, "ok\n");
      return 0;
    } else {
      fprintf(out, "error unknown command: %s", line);
    }
  }
  return 0;
}
