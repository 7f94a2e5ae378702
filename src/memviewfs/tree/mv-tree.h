/* SPDX-License-Identifier: MIT */
/* The tree: a table of nodes (name, type, who may read it, how it renders,
 * one line of help), in the manner of the kernel's fs/proc/base.c. Lookup,
 * getattr, readdir, open and the root README are all driven by the same
 * tables, so a file exists in exactly one place in the source. No FUSE
 * here: the front end (mv-fuse.c) is a thin adapter over this API. */
#pragma once

#include <glib.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mv-error.h"
#include "proc/mv-proc.h"

G_BEGIN_DECLS

typedef enum {
  MV_NODE_DIR,
  MV_NODE_FILE,
  MV_NODE_LINK,
} MvNodeType;

/* Who may read a node's content, decided at open() from the caller's
 * credentials, as /proc decides it. */
typedef enum {
  MV_ACCESS_ANY,         /* like /proc/<pid>/status: everyone */
  MV_ACCESS_PTRACE_READ, /* like /proc/<pid>/smaps: PTRACE_MODE_READ on the process */
} MvAccess;

/* Who asks, and about which process. */
typedef struct {
  pid_t caller_pid; /* the calling thread (as FUSE reports it) */
  uid_t caller_uid; /* the caller's fsuid */
  gid_t caller_gid; /* the caller's fsgid */
  pid_t pid;        /* the process of a <pid>/ subtree, 0 elsewhere */
} MvContext;

typedef struct MvNode MvNode;

/* Renders @node's content (or a link's target) into @out. */
typedef gboolean (*MvRenderFunc)(const MvContext *ctx, const MvNode *node, GString *out,
                                 GError **error);

/* Reports one dynamic child of a directory while listing. */
typedef void (*MvListAddFunc)(const char *name, const MvNode *child, const MvContext *child_ctx,
                              gpointer user_data);

/* Dynamic children of a directory (the pids of the root). */
typedef struct {
  /* Resolves @name; FALSE (no error) when it is not a dynamic child. */
  gboolean (*lookup)(const MvNode *dir, const char *name, MvContext *ctx, const MvNode **child,
                     GError **error);
  void (*list)(const MvNode *dir, const MvContext *ctx, MvListAddFunc add, gpointer user_data);
} MvDynamicChildren;

struct MvNode {
  const char *name;
  MvNodeType type;
  MvAccess access;
  MvRenderFunc render;        /* files and links */
  gsize arg;                  /* for the render function, e.g. an offsetof() */
  const MvNode *children;     /* static children of a directory */
  gsize n_children;
  const MvDynamicChildren *dynamic;
  const MvNode *alias;        /* an entry standing for a directory defined in
                               * another file (C cannot copy it into a table) */
  const char *help;           /* one line, shown in the root README */
};

/* The node an entry stands for (itself, or its alias). */
static inline const MvNode *
mv_node_target(const MvNode *node)
{
  return node->alias != NULL ? node->alias : node;
}

#define MV_FILE(name_, access_, render_, arg_, help_) \
  { .name = (name_), .type = MV_NODE_FILE, .access = (access_), .render = (render_), \
    .arg = (arg_), .help = (help_) }
#define MV_LINK(name_, render_, help_) \
  { .name = (name_), .type = MV_NODE_LINK, .access = MV_ACCESS_ANY, .render = (render_), \
    .help = (help_) }
#define MV_DIR(name_, children_, dynamic_, help_) \
  { .name = (name_), .type = MV_NODE_DIR, .access = MV_ACCESS_ANY, .children = (children_), \
    .n_children = G_N_ELEMENTS(children_), .dynamic = (dynamic_), .help = (help_) }

#define MV_SUBDIR(name_, node_) \
  { .name = (name_), .type = MV_NODE_DIR, .access = MV_ACCESS_ANY, .alias = (node_) }

/* The root of the tree. */
const MvNode *mv_tree_root(void);

/* Walks @path ("/", "/123/pss", "/self"...) from the root. On success
 * *node is the node and ctx->pid the process of a <pid>/ subtree (the
 * caller fields of @ctx are the caller's and are left alone). ENOENT for
 * anything that does not exist, ENOTDIR for a walk through a file. */
gboolean mv_tree_resolve(const char *path, MvContext *ctx, const MvNode **node, GError **error);

/* Attributes of a resolved node: mode like /proc (dirs 0555, files 0444,
 * links 0777), owner the process's owner inside <pid>/ (as /proc shows it),
 * root elsewhere. Size 0 for files: content exists only once opened. */
gboolean mv_tree_stat(const MvNode *node, const MvContext *ctx, struct stat *st, GError **error);

/* Lists a directory: every static child then every dynamic one. */
void mv_tree_list(const MvNode *dir, const MvContext *ctx, MvListAddFunc add, gpointer user_data);

/* Checks @node's access rule for @ctx's caller and renders it into @out:
 * what open() does. EACCES exactly where /proc would refuse. */
gboolean mv_tree_render(const MvNode *node, const MvContext *ctx, GString *out, GError **error);

/* ---- shared pieces used by the node tables ---------------------------- */

/* The <pid>/ directory node (lookup of a numeric name at the root). */
extern const MvNode mv_pid_dir;
/* The root's subdirectories. */
extern const MvNode mv_system_dir;
extern const MvNode mv_metrics_dir;
extern const MvNode mv_cgroup_dir;

/* <pid>/cgroup: the process's memory cgroup path (mv-node-cgroup.c). */
gboolean mv_render_pid_cgroup(const MvContext *ctx, const MvNode *node, GString *out,
                              GError **error);

/* The reader's cgroup gauges for metrics/ (nothing when it has no memory
 * cgroup the daemon can read). */
void mv_metrics_append_cgroup(const MvContext *ctx, GString *out);

/* A Prometheus label value: made valid UTF-8 (U+FFFD for invalid bytes),
 * backslash, double quote and newline escaped. Every label goes through it. */
void mv_metrics_append_label_value(GString *out, const char *value);

/* Appends "<value>\n": the contract of every value file (bytes). */
void mv_render_value(GString *out, guint64 value);

/* Appends @text with space, tab, newline and backslash written as octal
 * escapes (\040 \011 \012 \134), the /proc/mounts convention, so that one
 * table cell is always one whitespace-separated column. With
 * @kernel_escaped, @text is a path as smaps prints it (the kernel already
 * wrote a newline as "\012" and leaves backslashes raw): backslashes are
 * kept, so the cell reads exactly as the kernel's path with blanks escaped. */
void mv_render_escaped(GString *out, const char *text, gsize len, gboolean kernel_escaped);

/* Access: may the caller of @ctx read /proc/<ctx->pid>/smaps?
 * (ptrace_may_access(PTRACE_MODE_READ_FSCREDS), see mv-access.c.) */
gboolean mv_access_may_read_mm(const MvContext *ctx, GError **error);

/* The same decision for many targets (the processes table): the caller's
 * credentials are read once. */
typedef struct MvCaller MvCaller;
MvCaller *mv_caller_new(const MvContext *ctx, GError **error);
void mv_caller_free(MvCaller *caller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MvCaller, mv_caller_free)
/* @target is the parsed /proc/<pid>/status of the target, or NULL to have
 * it read when the decision needs it. */
gboolean mv_caller_may_read_mm(const MvCaller *caller, pid_t pid, const MvStatus *target,
                               GError **error);

/* A pid as /proc spells it: decimal digits, no sign, no leading zero. */
gboolean mv_parse_pid_name(const char *name, pid_t *pid);

/* Calls @func for every process in /proc, in /proc's order (ascending). */
void mv_foreach_pid(void (*func)(pid_t pid, gpointer user_data), gpointer user_data);

/* Resolves the thread group of @tid (FUSE reports the calling thread). */
pid_t mv_tgid_of(pid_t tid);

/* The root README (generated from the tables). */
gboolean mv_render_readme(const MvContext *ctx, const MvNode *node, GString *out, GError **error);

G_END_DECLS
