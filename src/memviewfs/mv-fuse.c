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
  MvContext ctx;     /* without a reader: each request brings its caller's */
  GString *content;  /* files: rendered at open(); NULL for directories */
  GArray *listing;   /* directories: of MvDirEntry, made by the readdir at
                      * offset 0, served from there to the later ones */
} MvHandle;

/* One entry of a listing; the offset of entry i is i + 1. */
typedef struct {
  char *name;
  struct stat st;
  gboolean has_stat;
} MvDirEntry;

static void
dir_entry_clear(gpointer data)
{
  g_free(((MvDirEntry *) data)->name);
}

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
  if (handle->listing != NULL)
    g_array_unref(handle->listing);
  g_free(handle);
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

/* The caller of this request; its credentials are made in *reader_slot
 * when first needed (freed by the caller of this function). */
static void
caller_context(MvContext *ctx, MvReader **reader_slot)
{
  const struct fuse_context *fc = fuse_get_context();

  *ctx = (MvContext) {
    .caller_pid = fc->pid,
    .caller_uid = fc->uid,
    .caller_gid = fc->gid,
    .reader_slot = reader_slot,
  };
}

/* The context of an open handle, as this request's caller. */
static void
handle_context(const MvHandle *handle, MvContext *ctx, MvReader **reader_slot)
{
  caller_context(ctx, reader_slot);
  ctx->pid = handle->ctx.pid;
}

static int
resolve(const char *path, MvContext *ctx, MvReader **reader, const MvNode **node)
{
  GError *error = NULL;

  caller_context(ctx, reader);
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
  /* With hidepid= which pids exist depends on the reader, and the kernel's
   * cache of names and attributes is shared by all readers: no caching. */
  if (mv_proc_hides_pids())
    cfg->entry_timeout = cfg->attr_timeout = 0.0;
  cfg->negative_timeout = 0.0;
  /* Every READDIR as READDIRPLUS (the kernel's default, readdirplus_auto,
   * asks for attributes only in the first chunk of a listing): a glob over
   * the pid directories then finds their entries cached (entry_timeout)
   * instead of paying one LOOKUP per directory. Under hidepid nothing is
   * cached: no gain. */
  if ((conn->capable & FUSE_CAP_READDIRPLUS) && !mv_proc_hides_pids()) {
    conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  }
  cfg->direct_io = 1;
  cfg->nullpath_ok = 1;
  cfg->use_ino = 0;
  return fuse_get_context()->private_data;
}

static int
mv_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
  g_autoptr(MvReader) reader = NULL;
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  int ret;

  if (path == NULL && fi != NULL) {
    node = handle_of(fi)->node;
    handle_context(handle_of(fi), &ctx, &reader);
  } else if ((ret = resolve(path, &ctx, &reader, &node)) != 0) {
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
  g_autoptr(MvReader) reader = NULL;
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  int ret = resolve(path, &ctx, &reader, &node);

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

static void
add_dir_entry(GArray *listing, const char *name, const struct stat *st)
{
  MvDirEntry entry = { g_strdup(name), { 0 }, st != NULL };

  if (st != NULL)
    entry.st = *st;
  g_array_append_val(listing, entry);
}

static void
fill_entry(const char *name, const MvNode *child, const MvContext *child_ctx, gpointer user_data)
{
  GArray *listing = user_data;
  struct stat st;

  add_dir_entry(listing, name, mv_tree_stat(child, child_ctx, &st, NULL) ? &st : NULL);
}

static int
mv_opendir(const char *path, struct fuse_file_info *fi)
{
  g_autoptr(MvReader) reader = NULL;
  MvHandle *handle = g_new0(MvHandle, 1);
  int ret = resolve(path, &handle->ctx, &reader, &handle->node);

  handle->ctx.reader_slot = NULL; /* readdir brings its own caller */
  if (ret == 0 && handle->node->type != MV_NODE_DIR)
    ret = -ENOTDIR;
  if (ret != 0) {
    handle_free(handle);
    return ret;
  }
  fi->fh = (uint64_t) (uintptr_t) handle;
  return 0;
}

/* The listing is made once, at offset 0, and kept in the handle: later
 * chunks come from it, so a process starting or exiting between two chunks
 * neither shifts nor repeats entries. Each entry goes with its offset, so
 * that libfuse makes READDIRPLUS entries the kernel can cache (at offset 0
 * it would send them without node ids, and every one would be looked up
 * again). */
static int
mv_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
           struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
  MvHandle *handle = handle_of(fi);
  gboolean plus = (flags & FUSE_READDIR_PLUS) != 0;

  if (offset == 0 || handle->listing == NULL) {
    g_autoptr(MvReader) reader = NULL;
    MvContext ctx;

    if (handle->listing != NULL)
      g_array_unref(handle->listing);
    handle->listing = g_array_new(FALSE, FALSE, sizeof(MvDirEntry));
    g_array_set_clear_func(handle->listing, dir_entry_clear);
    /* Listed for the reader reading now, as /proc lists (hidepid=). */
    handle_context(handle, &ctx, &reader);
    add_dir_entry(handle->listing, ".", NULL);
    add_dir_entry(handle->listing, "..", NULL);
    mv_tree_list(handle->node, &ctx, fill_entry, handle->listing);
  }
  for (guint i = (guint) MAX(offset, 0); i < handle->listing->len; i++) {
    const MvDirEntry *entry = &g_array_index(handle->listing, MvDirEntry, i);
    gboolean with_stat = plus && entry->has_stat;

    if (filler(buf, entry->name, with_stat ? &entry->st : NULL, (off_t) i + 1,
               with_stat ? FUSE_FILL_DIR_PLUS : 0) != 0)
      break; /* the reply is full: the kernel asks again from here */
  }
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
  g_autoptr(MvReader) reader = NULL;
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  MvHandle *handle;
  int ret;

  if ((fi->flags & O_ACCMODE) != O_WRONLY)
    return -EACCES;
  ret = resolve(path, &ctx, &reader, &node);
  if (ret != 0)
    return ret;
  if (!mv_tree_may_write(node, &ctx, &error))
    return fail(error);
  handle = g_new0(MvHandle, 1);
  handle->node = node;
  handle->ctx = ctx;
  handle->ctx.reader_slot = NULL;
  fi->fh = (uint64_t) (uintptr_t) handle;
  fi->direct_io = 1;
  return 0;
}

static int
mv_open(const char *path, struct fuse_file_info *fi)
{
  g_autoptr(MvReader) reader = NULL;
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  MvHandle *handle;
  int ret;

  if ((fi->flags & O_ACCMODE) != O_RDONLY)
    return open_for_write(path, fi);
  ret = resolve(path, &ctx, &reader, &node);
  if (ret != 0)
    return ret;
  if ((fi->flags & O_TRUNC) && !mv_tree_check_truncate(node, &ctx, &error))
    return fail(error);
  handle = g_new0(MvHandle, 1);
  handle->node = node;
  handle->ctx = ctx;
  handle->ctx.reader_slot = NULL;
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
  g_autoptr(MvReader) reader = NULL;
  const MvNode *node;
  MvContext ctx;
  GError *error = NULL;
  int ret;

  if (fi != NULL) {
    node = handle_of(fi)->node;
    ctx = handle_of(fi)->ctx;
  } else if ((ret = resolve(path, &ctx, &reader, &node)) != 0) {
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
