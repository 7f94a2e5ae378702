/* SPDX-License-Identifier: MIT */
/* Walking, stating, listing and rendering the node tables. */
#include "mv-tree.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

static const MvNode *
find_static_child(const MvNode *dir, const char *name, const MvContext *ctx)
{
  for (gsize i = 0; i < dir->n_children; i++)
    if (strcmp(dir->children[i].name, name) == 0 &&
        mv_node_present_for(&dir->children[i], ctx))
      return mv_node_target(&dir->children[i]);
  return NULL;
}

gboolean
mv_tree_resolve(const char *path, MvContext *ctx, const MvNode **node, GError **error)
{
  const MvNode *cur = mv_tree_root();
  const char *p = path;

  ctx->pid = 0;
  while (*p != '\0') {
    char name[NAME_MAX + 1];
    const char *end;
    gsize len;

    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    end = strchrnul(p, '/');
    len = (gsize) (end - p);
    if (len > NAME_MAX)
      return mv_set_errno(error, ENAMETOOLONG, "%s: name too long", path);
    memcpy(name, p, len);
    name[len] = '\0';
    p = end;

    if (cur->type != MV_NODE_DIR)
      return mv_set_errno(error, ENOTDIR, "%s: not a directory", path);

    const MvNode *child = find_static_child(cur, name, ctx);
    if (child == NULL && cur->dynamic != NULL) {
      if (!cur->dynamic->lookup(cur, name, ctx, &child, error))
        return FALSE;
    }
    if (child == NULL)
      return mv_set_errno(error, ENOENT, "%s: no such entry", path);
    cur = child;
  }
  *node = cur;
  return TRUE;
}

gboolean
mv_tree_stat(const MvNode *node, const MvContext *ctx, struct stat *st, GError **error)
{
  memset(st, 0, sizeof *st);
  if (ctx->pid > 0) {
    /* /proc gives a process's directories its owner, and its files the
     * same owner unless the process is not dumpable (then root:
     * task_dump_owner()); so do we, and a vanished process is ENOENT here
     * already. */
    char proc_path[48];
    struct stat proc_st;
    MvReaderScope scope;
    int errnum = 0;

    mv_proc_pid_path(proc_path, sizeof proc_path, ctx->pid,
                     node->type == MV_NODE_DIR ? NULL : "status");
    /* As the reader: hidepid= hides (ENOENT) or refuses (EPERM) as /proc. */
    if (!mv_tree_enter_as_reader(ctx, ctx->pid, MV_ACCESS_ANY, &scope, error))
      return FALSE;
    if (fstatat(mv_proc_root_fd(), proc_path, &proc_st, 0) != 0)
      errnum = errno;
    mv_reader_leave(&scope);
    if (errnum != 0)
      return mv_set_errno(error, errnum, "%s: %s", proc_path, g_strerror(errnum));
    st->st_uid = proc_st.st_uid;
    st->st_gid = proc_st.st_gid;
    st->st_mtim = proc_st.st_mtim;
    st->st_ctim = proc_st.st_ctim;
    st->st_atim = proc_st.st_atim;
  } else {
    /* Everything outside <pid>/ is recomputed at every open: it is as new
     * as now (node-exporter exports this as the textfile's mtime). */
    clock_gettime(CLOCK_REALTIME, &st->st_mtim);
    st->st_ctim = st->st_atim = st->st_mtim;
  }
  switch (node->type) {
  case MV_NODE_DIR:
    st->st_mode = S_IFDIR | (node->mode ? node->mode : 0555);
    st->st_nlink = 2;
    break;
  case MV_NODE_FILE:
    st->st_mode = S_IFREG | (node->mode ? node->mode : 0444);
    st->st_nlink = 1;
    break;
  case MV_NODE_LINK:
    st->st_mode = S_IFLNK | 0777;
    st->st_nlink = 1;
    break;
  }
  if (node->write != NULL && ctx->pid <= 0) {
    /* who may write it: the daemon's user */
    st->st_uid = geteuid();
    st->st_gid = getegid();
  }
  st->st_blksize = 4096;
  return TRUE;
}

void
mv_tree_list(const MvNode *dir, const MvContext *ctx, MvListAddFunc add, gpointer user_data)
{
  g_return_if_fail(dir->type == MV_NODE_DIR);
  for (gsize i = 0; i < dir->n_children; i++)
    if (mv_node_present_for(&dir->children[i], ctx))
      add(dir->children[i].name, mv_node_target(&dir->children[i]), ctx, user_data);
  if (dir->dynamic != NULL)
    dir->dynamic->list(dir, ctx, add, user_data);
}

gboolean
mv_tree_render(const MvNode *node, const MvContext *ctx, GString *out, GError **error)
{
  if (node->type == MV_NODE_DIR)
    return mv_set_errno(error, EISDIR, "%s is a directory", node->name);
  if (node->render == NULL)
    return mv_set_errno(error, EACCES, "%s is write-only", node->name);
  MvReaderScope scope = { FALSE, FALSE };
  gboolean ok;

  g_string_truncate(out, 0);
  /* Inside <pid>/ every /proc source is opened as the reader: the kernel
   * decides what the reader may see. Outside, the tables that read every
   * process (processes, metrics/) do the same per process. */
  if (ctx->pid > 0 && !mv_tree_enter_as_reader(ctx, ctx->pid, node->access, &scope, error))
    return FALSE;
  ok = node->render(ctx, node, out, error);
  mv_reader_leave(&scope);
  if (!ok) {
    /* Never hand out half a file. */
    g_string_truncate(out, 0);
    return FALSE;
  }
  return TRUE;
}

gboolean
mv_tree_check_truncate(const MvNode *node, const MvContext *ctx, GError **error)
{
  MvReaderScope scope;
  char path[64 + 256];
  int fd, errnum = 0;

  const MvReader *reader;

  if (!mv_context_reader(ctx, &reader, error))
    return FALSE;
  if (reader == NULL)
    return TRUE;
  if (ctx->pid <= 0 || node->proc_source == NULL) {
    /* as /proc/meminfo answers: a 0444 file of root's */
    struct stat root_file = { .st_mode = S_IFREG | 0444 };

    if (!mv_reader_may_write(reader, &root_file))
      return mv_set_errno(error, EACCES, "%s: O_TRUNC needs write permission", node->name);
    return TRUE;
  }
  mv_proc_pid_path(path, sizeof path, ctx->pid, node->proc_source);
  if (!mv_tree_enter_as_reader(ctx, ctx->pid, node->access, &scope, error))
    return FALSE;
  if (!scope.kernel_decides) {
    /* decided by the rule (the reader's own process, a reader in another
     * user namespace): the write permission the source's mode gives */
    struct stat st;

    if (fstatat(mv_proc_root_fd(), path, &st, 0) != 0)
      return mv_set_errno(error, ENOENT, "process %d has gone", (int) ctx->pid);
    if (!mv_reader_may_write(reader, &st))
      return mv_set_errno(error, EACCES, "%s: O_TRUNC needs write permission", node->name);
    return TRUE;
  }
  /* /proc's answer to the same open: EACCES without write permission,
   * and more (ESRCH for a kernel thread's smaps_rollup, EACCES for some
   * processes even for root). Truncating a /proc file changes nothing. */
  fd = openat(mv_proc_root_fd(), path, O_RDONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    errnum = errno;
  else
    close(fd);
  mv_reader_leave(&scope);
  if (errnum != 0)
    return mv_set_errno(error, errnum, "%s: O_TRUNC: %s", path, g_strerror(errnum));
  return TRUE;
}

gboolean
mv_tree_may_write(const MvNode *node, const MvContext *ctx, GError **error)
{
  if (node->type != MV_NODE_FILE || node->write == NULL)
    return mv_set_errno(error, EACCES, "%s is read-only", node->name);
  if (ctx->caller_uid != geteuid())
    return mv_set_errno(error, EACCES, "%s: only the daemon's user (uid %u) may write it",
                        node->name, (unsigned) geteuid());
  return TRUE;
}

gboolean
mv_tree_write(const MvNode *node, const MvContext *ctx, const char *data, gsize len,
              GError **error)
{
  if (!mv_tree_may_write(node, ctx, error))
    return FALSE;
  return node->write(ctx, node, data, len, error);
}

void
mv_render_value(GString *out, guint64 value)
{
  g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", value);
}

void
mv_render_escaped(GString *out, const char *text, gsize len, gboolean kernel_escaped)
{
  for (gsize i = 0; i < len; i++) {
    unsigned char c = (unsigned char) text[i];
    if (c == ' ' || c == '\t' || c == '\n' || (c == '\\' && !kernel_escaped))
      g_string_append_printf(out, "\\%03o", c);
    else
      g_string_append_c(out, (char) c);
  }
}
