/* SPDX-License-Identifier: MIT */
/* memviewfs [options] [SOURCE] MOUNTPOINT
 *
 * FUSE conventions: daemonizes unless -f, -d debug, -s single-threaded,
 * -o options go to libfuse (allow_other, auto_unmount, ...). SIGINT,
 * SIGTERM and SIGHUP unmount and exit 0. A SOURCE before the mountpoint is
 * accepted and ignored, so mount.fuse3 (fstab, `mount -t fuse.memviewfs
 * memviewfs /mnt/memviewfs`) can start us. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "demo/mv-demo.h"
#include "mv-fuse.h"
#include "tree/mv-tree.h"
#include "mv-version.h"
#include "proc/mv-proc.h"
#include <fuse_lowlevel.h>

/* glibc gives every thread that allocates its own arena (up to 8 per CPU),
 * each keeping up to 64 MiB of freed memory: under many concurrent readers
 * (FUSE worker threads plus the scan's threads) the daemon's RSS grew to
 * ~166 MB and stayed. Two arenas bound it; the threads mostly wait on the
 * kernel (smaps walks), not on malloc. Measured by tests/stress/pid-churn. */
#define MV_MALLOC_ARENAS 2

typedef struct {
  GPtrArray *positional; /* the non-option arguments, in order */
  char *demo_max;        /* -o demo_max=SIZE */
  int nodemo;            /* -o nodemo */
  int metrics_pids;      /* -o metrics_pids */
  char *metrics_gid;     /* -o metrics_gid=GID */
} MvOptions;

static const struct fuse_opt mv_opts[] = {
  { "demo_max=%s", offsetof(MvOptions, demo_max), 0 },
  { "nodemo", offsetof(MvOptions, nodemo), 1 },
  { "metrics_pids", offsetof(MvOptions, metrics_pids), 1 },
  { "metrics_gid=%s", offsetof(MvOptions, metrics_gid), 0 },
  FUSE_OPT_END
};

static int
collect_positional(void *data, const char *arg, int key, struct fuse_args *outargs)
{
  MvOptions *options = data;

  if (key == FUSE_OPT_KEY_NONOPT) {
    g_ptr_array_add(options->positional, g_strdup(arg));
    return 0; /* put back below: only the mountpoint */
  }
  return 1;
}

static void
print_usage(const char *argv0)
{
  printf("usage: %s [options] [SOURCE] MOUNTPOINT\n"
         "\n"
         "Mounts a tree where every process has a directory of memory files (rss,\n"
         "pss, uss, the anonymous/file x private/shared split, mappings, ...), all in\n"
         "bytes and recomputed from /proc at every open(). `cat MOUNTPOINT/README`\n"
         "explains every file. SOURCE (as mount.fuse3 passes it) is ignored.\n"
         "\n"
         "memviewfs's options:\n"
         "    -h   --help            print this help and exit\n"
         "    -V   --version         print the version and exit\n"
         "    -o demo_max=SIZE       bound of the demo heap's live objects (bytes, or\n"
         "                           with a K/M/G suffix; default 256M)\n"
         "    -o nodemo              no demo/ directory (no demo heap)\n"
         "    -o metrics_pids        per-process series in metrics/ (pid label) besides\n"
         "                           the sums by comm, user and cgroup\n"
         "    -o metrics_gid=GID     members of group GID read metrics/ as computed\n"
         "                           with the daemon's credentials (every process)\n"
         "\n"
         "libfuse's options that apply to memviewfs:\n"
         "    -f                     stay in the foreground\n"
         "    -d   -o debug          print every FUSE request (implies -f)\n"
         "    -s                     one thread serves every request\n"
         "    -o max_threads=N       at most N worker threads (default 10)\n"
         "    -o max_idle_threads=N  idle worker threads kept (default -1: all)\n"
         "    -o clone_fd            one /dev/fuse descriptor per worker thread\n"
         "    -o allow_other         let every user in (each sees what /proc lets\n"
         "                           them see; needs user_allow_other for non-root)\n"
         "    -o auto_unmount        unmount when the daemon dies\n"
         "    -o fsname=NAME         the source shown in /proc/mounts\n",
         argv0);
}

typedef struct {
  const char *mountpoint; /* canonical path */
  gboolean is_memviewfs;  /* the topmost mount there is memviewfs's */
} MountpointCheck;

static gboolean
check_mountinfo_entry(const MvMountinfoEntry *entry, gpointer user_data)
{
  MountpointCheck *check = user_data;
  char path[PATH_MAX];

  if (mv_mountinfo_unescape(entry->mount_point, entry->mount_point_len, path, sizeof path) &&
      strcmp(path, check->mountpoint) == 0)
    /* later lines are mounted on top of earlier ones: the last one wins */
    check->is_memviewfs = entry->fstype_len == strlen("fuse.memviewfs") &&
                          memcmp(entry->fstype, "fuse.memviewfs", entry->fstype_len) == 0;
  return TRUE;
}

/* A mountpoint must be a directory (libfuse would mount the tree over a
 * regular file) and must not hold a memviewfs mount already: a second
 * daemon would stack its mount on the first one's, and the first one's
 * exit would then unmount the second's and leave its own stale. */
static gboolean
check_mountpoint(const char *mountpoint, GError **error)
{
  g_autoptr(GString) mountinfo = g_string_new(NULL);
  char real[PATH_MAX];
  MountpointCheck check = { real, FALSE };
  struct stat st;

  if (stat(mountpoint, &st) != 0)
    return mv_set_errno(error, errno, "mountpoint %s: %s", mountpoint, g_strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return mv_set_errno(error, ENOTDIR, "mountpoint %s is not a directory", mountpoint);
  if (realpath(mountpoint, real) == NULL)
    return mv_set_errno(error, errno, "mountpoint %s: %s", mountpoint, g_strerror(errno));
  if (!mv_read_file_at(mv_proc_root_fd(), "self/mountinfo", mountinfo, error) ||
      !mv_mountinfo_parse(mountinfo->str, mountinfo->len, check_mountinfo_entry, &check, error))
    return FALSE;
  if (check.is_memviewfs)
    return mv_set_errno(error, EBUSY,
                        "%s already holds a memviewfs mount (unmount it first: "
                        "fusermount3 -u %s)", mountpoint, mountpoint);
  return TRUE;
}

static void
print_banner(const char *mountpoint)
{
  fprintf(stderr,
          "memviewfs %s: mounted on %s (Ctrl-C unmounts)\n"
          "  try:  ls %s/$$/\n"
          "        cat %s/self/summary\n"
          "        grep . %s/*/pss | sort -t: -k2 -n | tail\n"
          "        cat %s/processes\n"
          "        cat %s/README\n",
          MV_VERSION, mountpoint, mountpoint, mountpoint, mountpoint, mountpoint, mountpoint);
}

/* This is fuse_main() with what fuse_main() cannot do: our own -o options
 * parsed and checked before libfuse sees the arguments; --help listing only
 * the options that apply; the mountpoint checked between parsing and
 * mounting (fuse_main has no hook there); the banner once mounted; and exit
 * status 0 when a signal ends the loop (libfuse 3.14's loop returns the
 * signal number and fuse_main turns that into status 7, which would make
 * `systemctl stop` or Ctrl-C look like a failure). The loop setup below is
 * fuse_main's own (clone_fd, max_threads, max_idle_threads). */
int
main(int argc, char *argv[])
{
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  struct fuse_cmdline_opts opts = { 0 };
  struct fuse_loop_config *loop_config = NULL;
  MvOptions options = { g_ptr_array_new_with_free_func(g_free) };
  g_autoptr(GError) error = NULL;
  struct fuse *fuse;
  int ret = 1;

  mallopt(M_ARENA_MAX, MV_MALLOC_ARENAS);

  if (fuse_opt_parse(&args, &options, mv_opts, collect_positional) != 0)
    goto out_args;
  {
    guint64 demo_max = MV_DEMO_MAX_DEFAULT;

    if (options.demo_max != NULL && !mv_demo_parse_size(options.demo_max, &demo_max, &error)) {
      fprintf(stderr, "%s: %s\n", argv[0], error->message);
      goto out_args;
    }
    mv_demo_configure(!options.nodemo, demo_max);
  }
  {
    guint64 gid = 0;

    if (options.metrics_gid != NULL &&
        (!g_ascii_string_to_unsigned(options.metrics_gid, 10, 0, G_MAXUINT32 - 1, &gid, NULL))) {
      fprintf(stderr, "%s: metrics_gid=%s: not a numeric group id\n", argv[0],
              options.metrics_gid);
      goto out_args;
    }
    mv_metrics_configure(options.metrics_pids, options.metrics_gid != NULL, (gid_t) gid);
  }
  if (options.positional->len > 2) {
    fprintf(stderr, "%s: too many arguments (see --help)\n", argv[0]);
    goto out_args;
  }
  if (options.positional->len > 0)
    fuse_opt_add_arg(&args, g_ptr_array_index(options.positional, options.positional->len - 1));

  if (fuse_parse_cmdline(&args, &opts) != 0)
    goto out_args;
  if (opts.show_version) {
    printf("memviewfs %s\nFUSE library %s\n", MV_VERSION, fuse_pkgversion());
    ret = 0;
    goto out_opts;
  }
  if (opts.show_help) {
    /* Not fuse_cmdline_help() + fuse_lib_help(): they repeat -h and -V and
     * list options memviewfs has no use for (caching, inode numbers,
     * permissions, which the tree decides itself). */
    print_usage(argv[0]);
    ret = 0;
    goto out_opts;
  }
  if (opts.mountpoint == NULL) {
    fprintf(stderr, "%s: no mountpoint given (see --help)\n", argv[0]);
    goto out_opts;
  }
  if (!check_mountpoint(opts.mountpoint, &error)) {
    fprintf(stderr, "%s: %s\n", argv[0], error->message);
    goto out_opts;
  }

  fuse = fuse_new(&args, &mv_fuse_operations, sizeof mv_fuse_operations, NULL);
  if (fuse == NULL)
    goto out_opts;
  if (fuse_mount(fuse, opts.mountpoint) != 0)
    goto out_destroy;
  if (fuse_daemonize(opts.foreground) != 0)
    goto out_unmount;
  if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
    goto out_unmount;
  if (opts.foreground)
    print_banner(opts.mountpoint);

  if (opts.singlethread) {
    ret = fuse_loop(fuse);
  } else {
    loop_config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(loop_config, opts.clone_fd);
    if (opts.max_threads > 0 && opts.max_threads <= 1000)
      fuse_loop_cfg_set_max_threads(loop_config, opts.max_threads);
    if (opts.max_idle_threads <= 1000) /* UINT_MAX: not given */
      fuse_loop_cfg_set_idle_threads(loop_config, opts.max_idle_threads);
    ret = fuse_loop_mt(fuse, loop_config);
    fuse_loop_cfg_destroy(loop_config);
  }
  /* A signal ends the loop normally: that is a clean exit. */
  ret = ret < 0 ? 1 : 0;
  fuse_remove_signal_handlers(fuse_get_session(fuse));
out_unmount:
  fuse_unmount(fuse);
out_destroy:
  fuse_destroy(fuse);
out_opts:
  free(opts.mountpoint);
out_args:
  fuse_opt_free_args(&args);
  g_ptr_array_unref(options.positional);
  free(options.demo_max);
  free(options.metrics_gid);
  return ret;
}
