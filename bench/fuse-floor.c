/* SPDX-License-Identifier: MIT */
/* The floor of a FUSE file tree shaped like memviewfs's: N directories
 * "1".."N", each with one file "rss" holding 8 bytes, served with the same
 * choices memviewfs makes (direct_io and content fixed at open(), so every
 * read(2) comes to the daemon; names and attributes cached for 1 s;
 * READDIRPLUS for every listing; the multi-threaded loop) and nothing else:
 * no /proc read, no credentials, no path resolution (the low-level API:
 * inode numbers encode directory and file). The benchmark times
 * `cat` of every <floor>/N/rss beside memviewfs: what any daemon with these
 * request semantics pays per file before it does any work.
 *
 * usage: fuse-floor MOUNTPOINT N [-d]   (stays in the foreground; SIGTERM
 * or fusermount3 -u ends it; -d: libfuse's request log on stderr) */
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char content[] = "1234567\n";
static unsigned long n_dirs;

/* inode 1: the root; 2k: directory k (k >= 1); 2k + 1: its file. */
static fuse_ino_t dir_ino(unsigned long k) { return 2 * k; }
static fuse_ino_t file_ino(unsigned long k) { return 2 * k + 1; }

static void
fill_stat(fuse_ino_t ino, struct stat *st)
{
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  if (ino == FUSE_ROOT_ID || ino % 2 == 0) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
  } else {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
  }
}

static int
valid(fuse_ino_t ino)
{
  return ino == FUSE_ROOT_ID || (ino >= 2 && ino / 2 <= n_dirs);
}

static void
floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fuse_entry_param e = { .attr_timeout = 1.0, .entry_timeout = 1.0 };
  char *end;
  unsigned long k;

  if (parent == FUSE_ROOT_ID) {
    k = strtoul(name, &end, 10);
    if (*end != '\0' || k == 0 || k > n_dirs) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    e.ino = dir_ino(k);
  } else if (parent % 2 == 0 && valid(parent) && strcmp(name, "rss") == 0) {
    e.ino = file_ino(parent / 2);
  } else {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fill_stat(e.ino, &e.attr);
  fuse_reply_entry(req, &e);
}

static void
floor_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct stat st;

  if (!valid(ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fill_stat(ino, &st);
  fuse_reply_attr(req, &st, 1.0);
}

/* Each entry with its attributes and its offset (i + 1). */
static void
floor_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                  struct fuse_file_info *fi)
{
  char *buf = malloc(size);
  size_t used = 0;
  unsigned long count = ino == FUSE_ROOT_ID ? n_dirs : 1;

  if (buf == NULL) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  for (unsigned long i = (unsigned long) off; i < count; i++) {
    struct fuse_entry_param e = { .attr_timeout = 1.0, .entry_timeout = 1.0 };
    char name[24];
    size_t len;

    if (ino == FUSE_ROOT_ID) {
      snprintf(name, sizeof name, "%lu", i + 1);
      e.ino = dir_ino(i + 1);
    } else {
      snprintf(name, sizeof name, "rss");
      e.ino = file_ino(ino / 2);
    }
    fill_stat(e.ino, &e.attr);
    len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t) i + 1);
    if (len > size - used)
      break;
    used += len;
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
}

static void
floor_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (ino % 2 == 0 || ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  fi->direct_io = 1;
  fi->noflush = 1;
  fuse_reply_open(req, fi);
}

static void
floor_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  size_t len = sizeof content - 1;

  if ((size_t) off >= len) {
    fuse_reply_buf(req, NULL, 0);
    return;
  }
  fuse_reply_buf(req, content + off, size < len - (size_t) off ? size : len - (size_t) off);
}

static void
floor_init(void *userdata, struct fuse_conn_info *conn)
{
  if (conn->capable & FUSE_CAP_READDIRPLUS) {
    conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  }
}

static const struct fuse_lowlevel_ops floor_ops = {
  .init = floor_init,
  .lookup = floor_lookup,
  .getattr = floor_getattr,
  .readdirplus = floor_readdirplus,
  .open = floor_open,
  .read = floor_read,
};

int
main(int argc, char *argv[])
{
  char *fuse_argv[] = { argv[0], "-o", "fsname=fuse-floor", "-d", NULL };
  int debug = argc == 4 && strcmp(argv[3], "-d") == 0;
  struct fuse_args args = FUSE_ARGS_INIT(3 + debug, fuse_argv);
  struct fuse_loop_config *config;
  struct fuse_session *se;
  int ret = 1;

  if (argc < 3 || argc > 3 + debug || (n_dirs = strtoul(argv[2], NULL, 10)) == 0) {
    fprintf(stderr, "usage: %s MOUNTPOINT N [-d]\n", argv[0]);
    return 2;
  }
  se = fuse_session_new(&args, &floor_ops, sizeof floor_ops, NULL);
  if (se == NULL)
    return 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, argv[1]) == 0) {
      config = fuse_loop_cfg_create();
      ret = fuse_session_loop_mt(se, config) != 0;
      fuse_loop_cfg_destroy(config);
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  fuse_opt_free_args(&args);
  return ret;
}
