/* SPDX-License-Identifier: MIT */
/* FUSE callbacks: resolve the path with the tree, answer -errno. A file is
 * rendered once at open() into a per-handle buffer and read() slices it, so
 * partial reads, lseek and `head -c` all see one consistent text. */
#include "mv-fuse.h"

#include <limits.h>
#include <string.h>

#include "tree/mv-tree.h"

/* An open file or directory. With nullpath_ok, read/readdir/fstat come
 * without a path: the handle is all they have. */
typedef struct {
  const MvNode *node;
  MvContext ctx;
  GString *content; /* files: rendered at open(); NULL for directories */
} MvHandle;

static MvHandle *
handle_of(const struct fuse_file_info *fi)
{
  return (MvHandle *) (uintptr_t) fi->fh;
}

static void
handle_free(MvHandle *handle)
{
  if (handle->content != NULL)
    g_string_free(handle->content, TRUE);
  g_free(handle);
}

static MvContext
caller_context(void)
{
  const struct fuse_context *fc = fuse_get_context();
  MvContext ctx = {
    .caller_pid = fc->pid,
    .caller_uid = fc->uid,
    .caller_gid = fc->gid,
  };
  return ctx;
}

/* Logs the error at debug level and turns it into -errno. */
static int
fail(GError *error)
{
  int errnum = mv_error_errno(error);

  g_debug("%s (errno %d)", error->message, errnum);
  g_error_free(error);
  return -errnum;
}

static int
resolve(const char *path, MvContext *ctx, const MvNode **node)
{
  GError *error = NULL;

  *ctx = caller_context();
  if (!mv_tree_resolve(path, ctx, node, &error))
    return fail(error);
  return 0;
}

static void *
mv_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
  /* Names and attributes may be cached for a second (a process's directory
   * and its owner change rarely); content never is: every open() renders
   * afresh, and direct_io makes every read() come to us, so files can have
   * size 0 like /proc's. No negative caching: a new process is visible at
   * once. */
  cfg->entry_timeout = 1.0;
  cfg->attr_timeout = 1.0;
  cfg->negative_timeout = 0.0;
  cfg->direct_io = 1;
  cfg->nullpath_ok = 1;
  cfg->use_ino = 0;
  return fuse_get_context()->private_data;
}

static int
mv_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  int ret;

  if (path == NULL && fi != NULL) {
    node = handle_of(fi)->node;
    ctx = handle_of(fi)->ctx;
  } else if ((ret = resolve(path, &ctx, &node)) != 0) {
    return ret;
  }
  if (!mv_tree_stat(node, &ctx, st, &error))
    return fail(error);
  return 0;
}

static int
mv_readlink(const char *path, char *buf, size_t size)
{
  g_autoptr(GString) target = g_string_new(NULL);
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  int ret = resolve(path, &ctx, &node);

  if (ret != 0)
    return ret;
  if (node->type != MV_NODE_LINK)
    return -EINVAL;
  if (!mv_tree_render(node, &ctx, target, &error))
    return fail(error);
  if (size == 0)
    return -EINVAL;
  g_strlcpy(buf, target->str, size);
  return 0;
}

typedef struct {
  void *buf;
  fuse_fill_dir_t filler;
  gboolean plus;
} FillData;

static void
fill_entry(const char *name, const MvNode *child, const MvContext *child_ctx, gpointer user_data)
{
  FillData *data = user_data;
  struct stat st;

  if (data->plus && mv_tree_stat(child, child_ctx, &st, NULL))
    data->filler(data->buf, name, &st, 0, FUSE_FILL_DIR_PLUS);
  else
    data->filler(data->buf, name, NULL, 0, 0);
}

static int
mv_opendir(const char *path, struct fuse_file_info *fi)
{
  MvHandle *handle = g_new0(MvHandle, 1);
  int ret = resolve(path, &handle->ctx, &handle->node);

  if (ret == 0 && handle->node->type != MV_NODE_DIR)
    ret = -ENOTDIR;
  if (ret != 0) {
    handle_free(handle);
    return ret;
  }
  fi->fh = (uint64_t) (uintptr_t) handle;
  return 0;
}

/* The whole listing in one call (offset 0 to the filler): directories here
 * are small (a few thousand pids at most). */
static int
mv_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
           struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
  FillData data = { buf, filler, (flags & FUSE_READDIR_PLUS) != 0 };
  const MvHandle *handle = handle_of(fi);

  filler(buf, ".", NULL, 0, 0);
  filler(buf, "..", NULL, 0, 0);
  mv_tree_list(handle->node, &handle->ctx, fill_entry, &data);
  return 0;
}

static int
mv_releasedir(const char *path, struct fuse_file_info *fi)
{
  handle_free(handle_of(fi));
  return 0;
}

/* Opening for writing: only files with a write function, only for their
 * owner (mv_tree_may_write); nothing is rendered, each write(2) is one
 * command. */
static int
open_for_write(const char *path, struct fuse_file_info *fi)
{
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  MvHandle *handle;
  int ret;

  if ((fi->flags & O_ACCMODE) != O_WRONLY)
    return -EACCES;
  ret = resolve(path, &ctx, &node);
  if (ret != 0)
    return ret;
  if (!mv_tree_may_write(node, &ctx, &error))
    return fail(error);
  handle = g_new0(MvHandle, 1);
  handle->node = node;
  handle->ctx = ctx;
  fi->fh = (uint64_t) (uintptr_t) handle;
  fi->direct_io = 1;
  return 0;
}

static int
mv_open(const char *path, struct fuse_file_info *fi)
{
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  MvHandle *handle;
  int ret;

  if ((fi->flags & O_ACCMODE) != O_RDONLY)
    return open_for_write(path, fi);
  ret = resolve(path, &ctx, &node);
  if (ret != 0)
    return ret;
  handle = g_new0(MvHandle, 1);
  handle->node = node;
  handle->ctx = ctx;
  handle->content = g_string_sized_new(256);
  if (!mv_tree_render(node, &ctx, handle->content, &error)) {
    handle_free(handle);
    return fail(error);
  }
  fi->fh = (uint64_t) (uintptr_t) handle;
  fi->direct_io = 1;
  fi->noflush = 1; /* nothing to flush: spare close() a round trip */
  return 0;
}

static int
mv_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
  const MvHandle *handle = handle_of(fi);
  size_t len;

  if (handle->content == NULL)
    return -EBADF; /* opened for writing */
  len = handle->content->len;
  if (offset < 0)
    return -EINVAL;
  if ((size_t) offset >= len)
    return 0;
  size = MIN(size, len - (size_t) offset);
  memcpy(buf, handle->content->str + offset, size);
  return (int) size;
}

static int
mv_release(const char *path, struct fuse_file_info *fi)
{
  handle_free(handle_of(fi));
  return 0;
}

static int
mv_statfs(const char *path, struct statvfs *st)
{
  memset(st, 0, sizeof *st);
  st->f_bsize = 4096;
  st->f_namemax = 255;
  return 0;
}

/* The tree is read-only but for files with a write function: every other
 * change is EROFS. */
static int mv_mknod(const char *p, mode_t m, dev_t d) { return -EROFS; }
static int mv_mkdir(const char *p, mode_t m) { return -EROFS; }
static int mv_unlink(const char *p) { return -EROFS; }
static int mv_rmdir(const char *p) { return -EROFS; }
static int mv_symlink(const char *a, const char *b) { return -EROFS; }
static int mv_rename(const char *a, const char *b, unsigned int f) { return -EROFS; }
static int mv_link(const char *a, const char *b) { return -EROFS; }
static int mv_chmod(const char *p, mode_t m, struct fuse_file_info *fi) { return -EROFS; }
static int mv_chown(const char *p, uid_t u, gid_t g, struct fuse_file_info *fi) { return -EROFS; }
/* `echo cmd > file` truncates before writing: a no-op for a writable file
 * (its content is commands, not data), refused as open() would refuse it. */
static int
mv_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  int ret;

  if (fi != NULL) {
    node = handle_of(fi)->node;
    ctx = handle_of(fi)->ctx;
  } else if ((ret = resolve(path, &ctx, &node)) != 0) {
    return ret;
  }
  if (node->write == NULL)
    return -EROFS;
  if (!mv_tree_may_write(node, &ctx, &error))
    return fail(error);
  return 0;
}
static int mv_create(const char *p, mode_t m, struct fuse_file_info *fi) { return -EROFS; }
static int mv_utimens(const char *p, const struct timespec tv[2], struct fuse_file_info *fi)
{
  return -EROFS;
}
/* One write(2) is one command for the node's write function, whatever the
 * offset (like /proc's clear_refs). */
static int
mv_write(const char *path, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
  const MvHandle *handle = handle_of(fi);
  GError *error = NULL;

  if (handle->content != NULL)
    return -EBADF; /* opened for reading */
  if (size > INT_MAX)
    return -EINVAL;
  if (!mv_tree_write(handle->node, &handle->ctx, buf, size, &error))
    return fail(error);
  return (int) size;
}

const struct fuse_operations mv_fuse_operations = {
  .init = mv_init,
  .getattr = mv_getattr,
  .readlink = mv_readlink,
  .opendir = mv_opendir,
  .readdir = mv_readdir,
  .releasedir = mv_releasedir,
  .open = mv_open,
  .read = mv_read,
  .release = mv_release,
  .statfs = mv_statfs,
  .mknod = mv_mknod,
  .mkdir = mv_mkdir,
  .unlink = mv_unlink,
  .rmdir = mv_rmdir,
  .symlink = mv_symlink,
  .rename = mv_rename,
  .link = mv_link,
  .chmod = mv_chmod,
  .chown = mv_chown,
  .truncate = mv_truncate,
  .create = mv_create,
  .utimens = mv_utimens,
  .write = mv_write,
};
