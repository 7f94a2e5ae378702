/* SPDX-License-Identifier: MIT */
/* The tree: a table of nodes (name, type, who may read it, how it renders,
 * one line of help), in the manner of the kernel's fs/proc/base.c. Lookup,
 * getattr, readdir, open and the root README are all driven by the same
 * tables, so a file exists in exactly one place in the source. No FUSE
 * here: the front end (mv-fuse.c) is a thin adapter over this API. */
#pragma once

#include "mv-access.h"
#include "mv-node.h"
#include "mv-pids.h"

G_BEGIN_DECLS

/* The root of the tree. */
const MvNode *mv_tree_root(void);

/* Walks @path ("/", "/123/pss", "/self"...) from the root. On success
 * *node is the node and ctx->pid the process of a <pid>/ subtree (the
 * caller fields of @ctx are the caller's and are left alone). ENOENT for
 * anything that does not exist, ENOTDIR for a walk through a file. */
gboolean mv_tree_resolve(const char *path, MvContext *ctx, const MvNode **node, GError **error);

/* Attributes of a resolved node: mode like /proc (dirs 0555, files 0444,
 * links 0777, or the node's own mode), owner the process's owner inside
 * <pid>/ (as /proc shows it), the daemon's user for writable files, root
 * elsewhere. Size 0 for files: content exists only once opened. */
gboolean mv_tree_stat(const MvNode *node, const MvContext *ctx, struct stat *st, GError **error);

/* Lists a directory: every static child then every dynamic one. */
void mv_tree_list(const MvNode *dir, const MvContext *ctx, MvListAddFunc add, gpointer user_data);

/* Checks @node's access rule for @ctx's caller and renders it into @out:
 * what open() does. EACCES exactly where /proc would refuse. */
gboolean mv_tree_render(const MvNode *node, const MvContext *ctx, GString *out, GError **error);

/* Refuses open(O_TRUNC) as /proc refuses it to the caller: inside <pid>/
 * by opening the node's /proc source that way as the reader. */
gboolean mv_tree_check_truncate(const MvNode *node, const MvContext *ctx, GError **error);
/* May the caller of @ctx write @node? Only files with a write function, and
 * only their owner, the daemon's effective uid (the mode is 0200/0600):
 * EACCES otherwise, decided at open() like a permission check. */
gboolean mv_tree_may_write(const MvNode *node, const MvContext *ctx, GError **error);

/* Checks mv_tree_may_write() and hands the bytes of one write(2) to the
 * node's write function. */
gboolean mv_tree_write(const MvNode *node, const MvContext *ctx, const char *data, gsize len,
                       GError **error);

/* ---- shared pieces used by the node tables ---------------------------- */

/* The <pid>/ directory node (lookup of a numeric name at the root). */
extern const MvNode mv_pid_dir;
/* The root's subdirectories. */
extern const MvNode mv_system_dir;
extern const MvNode mv_metrics_dir;
extern const MvNode mv_cgroup_dir;
/* <pid>/heap/ (mv-node-heap.c). */
extern const MvNode mv_heap_dir;
/* The ladder of a process that publishes valid spanalloc statistics, and
 * their age (ms): FALSE when it publishes none or an invalid segment (for
 * metrics/, which shows what there is and skips the rest). */
struct sa_stats;
gboolean mv_heap_load_stats(pid_t pid, struct sa_stats *stats, guint64 *age_ms);
extern const MvNode mv_demo_dir;

/* <pid>/cgroup: the process's memory cgroup path (mv-node-cgroup.c). */
gboolean mv_render_pid_cgroup(const MvContext *ctx, const MvNode *node, GString *out,
                              GError **error);

/* The gauges of every memory cgroup the daemon sees, for metrics/
 * (mv-node-cgroup.c): adds the number exported to *@cgroups, and 1 to
 * *@read_errors when the hierarchy cannot be walked. */
void mv_metrics_append_cgroups(GString *out, guint *cgroups, guint *read_errors);

/* The root's cgroups table (mv-node-cgroup.c). */
gboolean mv_render_cgroups(const MvContext *ctx, const MvNode *node, GString *out,
                           GError **error);

/* -o metrics_pids: per-process series in metrics/ too; -o metrics_gid=GID
 * (@has_gid): readers in group @gid get metrics/ computed with the
 * daemon's credentials (every process), as /proc's hidepid gid= exempts a
 * group. Nothing else in the tree changes for them. */
void mv_metrics_configure(gboolean per_pid, gboolean has_gid, gid_t gid);

/* Appends "<value>\n": the contract of every value file (bytes). */
void mv_render_value(GString *out, guint64 value);

/* Appends @text with space, tab, newline and backslash written as octal
 * escapes (\040 \011 \012 \134), the /proc/mounts convention, so that one
 * table cell is always one whitespace-separated column. With
 * @kernel_escaped, @text is a path as smaps prints it (the kernel already
 * wrote a newline as "\012" and leaves backslashes raw): backslashes are
 * kept, so the cell reads exactly as the kernel's path with blanks escaped. */
void mv_render_escaped(GString *out, const char *text, gsize len, gboolean kernel_escaped);

/* The root README (generated from the tables). */
gboolean mv_render_readme(const MvContext *ctx, const MvNode *node, GString *out, GError **error);

G_END_DECLS
